"""A tuned comparison: each compared value (a model) at the setting that was best on validation, tested over seeds.

    rnnlab -m experiment=compare_mqar            # study.compare=model, study.tune=[optimizer.lr]: grid x seeds
    rnnlab-report outputs/multirun/<date_time>   # this table first, the whole grid below it

A sweep whose runs declare `study.compare` (what is compared: `model`) and `study.tune` (what is tuned for each
compared value: `[optimizer.lr]`) runs the tuned grid at the first seed and the chosen setting at the others
(sweeps/tuned.py), or the whole grid at every seed (`study.select=all_seeds`). For each compared value the setting
with the best **validation** value of the task's metric is chosen (never the test), on the seeds every setting ran
at (the first; every seed for a whole grid): the choice the sweeper made. The table gives that setting's test
metrics as mean ± 95% interval over all its seeds. Every other key that varies (the task, say) makes
a table of its own. A row whose every tuned setting stayed at chance on validation says so: the grid, not one
unlucky rate, found nothing.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field

from rnnlab.reporting.describe import budget_text
from rnnlab.reporting.intervals import interval
from rnnlab.reporting.sweep_runs import Run, varied_keys
from rnnlab.reporting.sweep_table import tex as _tex

AT_CHANCE = 0.02  # a validation value within this of chance (on a 0-1 metric) learned nothing
GROUP_COLUMNS = {"model": "model.cell", "task": "task"}  # a swept config group and the column that names its option


def column(key: str) -> str:
    """The settings column a swept key shows as: `model` (a group) is `model.cell`, `optimizer.lr` itself."""
    return GROUP_COLUMNS.get(key, key)


HEADLINE = "headline"


def selected_on(report: dict, study: dict | None) -> str:
    """The validation key a study chooses on: the run's headline metric, or `loss` (study.metric)."""
    return "loss" if (study or {}).get("metric", HEADLINE) == "loss" else report["metric"]


def rank(val: dict, select_on: str) -> tuple[float, float]:
    """How a study ranks validation values (higher first): the value it chooses on (a loss negated), then, where that
    ties (an accuracy saturated at 100% by two rates), the lower validation loss. Not a number ranks last."""
    score = -val.get(select_on, math.nan) if select_on == "loss" else val.get(select_on, math.nan)
    tie = 0.0 if select_on == "loss" else -val.get("loss", math.inf)
    return (_finite(score), _finite(tie))


def selection_score(report: dict, study: dict | None) -> float:
    """A finished run's validation value as a study chooses on it, higher better (a loss is negated)."""
    return rank(report.get("val", {}), selected_on(report, study))[0]


def selection_key(report: dict | None, study: dict | None) -> tuple[float, float]:
    """How a study ranks a run (`rank` of its validation values); a run that did not finish ranks last."""
    if not report or report.get("status") != "ok":
        return (-math.inf, -math.inf)
    return rank(report.get("val", {}), selected_on(report, study))


def study_of(runs: list[Run]) -> dict | None:
    """The study the runs declare (report.json "study"), when every finished run declares the same one. What it
    chooses on (study.metric) does not change a run, so it is not compared: a run from before the key existed
    declares none, and the runs that declare one must agree."""
    studies = [r.report.get("study") for r in runs if r.ok]
    if not studies or not studies[0]:
        return None
    runs_alike = [{k: v for k, v in (s or {}).items() if k != "metric"} for s in studies]
    metrics = {s["metric"] for s in studies if s and "metric" in s}
    if any(s != runs_alike[0] for s in runs_alike) or len(metrics) > 1:
        return None
    return {**runs_alike[0], "metric": metrics.pop() if metrics else HEADLINE}


@dataclass
class Setting:
    """One tuned setting of one compared value, over its seeds."""

    values: dict[str, object]
    runs: list[Run]

    def val(self, metric: str, seeds: set | None = None) -> float:
        """The mean validation value over the runs (of the given seeds only, where given)."""
        return interval(
            [
                r.report.get("val", {}).get(metric, math.nan)
                for r in self.runs
                if seeds is None or r.settings.get("seed") in seeds
            ]
        )[0]


@dataclass
class Row:
    compared: str
    chosen: Setting
    grid: list[Setting]
    metric: str
    chance: float | None  # or the task's memoryless floor, where it is above chance (MQAR)
    published: str = ""
    floor: bool = False  # `chance` is the task's floor, not chance

    @property
    def grid_at_chance(self) -> bool:
        if self.chance is None:
            return False
        vals = [s.val(self.metric) for s in self.grid]
        return all(not math.isfinite(v) or v <= self.chance + AT_CHANCE for v in vals)


@dataclass
class Table:
    context: dict[str, object]  # what the table's runs share that other tables differ in (the task)
    compare: str
    tune: list[str]
    metric: str
    rows: list[Row] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    select_on: str = ""  # the validation key the rows were chosen on: the metric, or the loss (lower is better)

    @property
    def val_key(self) -> str:
        return self.select_on or self.metric


def compare(runs: list[Run], study: dict) -> list[Table]:
    """One table per context; in each, one row per compared value at its validation-chosen setting."""
    ok = [r for r in runs if r.ok]
    by, tuned = column(study["compare"]), [column(k) for k in study.get("tune", [])]
    context_keys = _context_keys(ok, by, tuned)
    contexts: dict[tuple, list[Run]] = {}
    for r in ok:
        held = r.report.get("budget")  # what the table's rows held equal, in report.md's words
        key = (*(str(r.settings.get(k, "")) for k in context_keys), budget_text(held) if held else "")
        contexts.setdefault(key, []).append(r)
    tables = []
    for key, members in contexts.items():
        first = members[0].report
        metric = first["metric"]
        context = {"task": first["task"], **dict(zip(context_keys, key)), "budget": key[-1]}
        select_on = selected_on(first, study)
        table = Table(
            context,
            study["compare"],
            list(study.get("tune", [])),
            metric,
            references=list(first.get("reference", [])),
            select_on=select_on,
        )
        compared: dict[str, dict[tuple, Setting]] = {}
        for r in members:
            values = {k: r.settings.get(k, "") for k in tuned}
            grid = compared.setdefault(str(r.settings.get(by, "")), {})
            grid.setdefault(tuple(map(str, values.values())), Setting(values, [])).runs.append(r)
        for name, grid in compared.items():
            settings = list(grid.values())
            # chosen on the seeds every setting ran at: all of them for a whole grid, the first in two stages
            common = set.intersection(*({r.settings.get("seed") for r in s.runs} for s in settings))
            scored = [s for s in settings if math.isfinite(s.val(select_on, common))]
            # ranked as the sweeper ranks one run (rank), on the means over those seeds
            chosen = max(scored, key=lambda s: rank(_means(s, select_on, common), select_on)) if scored else settings[0]
            published = (first.get("published") or {}).get(name, "")
            level = first.get("floor", first.get("chance"))
            table.rows.append(Row(name, chosen, settings, metric, level, published, "floor" in first))
        tables.append(table)
    return tables


def _finite(value: float) -> float:
    return value if math.isfinite(value) else -math.inf


def _means(setting: Setting, select_on: str, seeds: set) -> dict[str, float]:
    return {key: setting.val(key, seeds) for key in {select_on, "loss"}}


def _context_keys(runs: list[Run], by: str, tuned: list[str]) -> list[str]:
    """The keys that split the runs into tables: those that vary among the runs of one compared value (the task),
    less the tuned keys, the seed and the model's own keys (each model has its own width)."""
    groups: dict[str, list[Run]] = {}
    for r in runs:
        groups.setdefault(str(r.settings.get(by, "")), []).append(r)
    within = {k for group in groups.values() for k in varied_keys(group)}
    return [
        k for k in varied_keys(runs) if k in within and k not in (by, *tuned, "seed") and not k.startswith("model.")
    ]


def _pooled(values: list[float]) -> str:
    mean, half, n = interval(values)
    if not math.isfinite(mean):
        return "nan"
    small = 0 < abs(mean) < 1e-2
    text = f"{mean:.2e}" if small else f"{mean:.4f}"
    return text + ((f" ± {half:.2e}" if small else f" ± {half:.4f}") if half is not None else "")


def _test_columns(table: Table) -> list[str]:
    """The headline test metric, and the test metric at each tested length where the task tests by length."""
    lengths: list[str] = []
    for row in table.rows:
        for r in row.chosen.runs:
            for length in r.report.get("test_by_length") or {}:
                if length not in lengths:
                    lengths.append(length)
    others = list(
        dict.fromkeys(
            k
            for row in table.rows
            for r in row.chosen.runs
            for k, v in r.report.get("test", {}).items()
            if k not in (table.metric, "n", "wrong") and isinstance(v, (int, float))
        )
    )
    return [
        f"test/{table.metric}",
        *(f"test/{m}" for m in others),  # an MSE beside the accuracy of adding
        *(f"test/{table.metric}@{n}" for n in sorted(lengths, key=int)),
    ]


def _test_values(run: Run, column_name: str, metric: str) -> float:
    if "@" in column_name:
        length = column_name.rsplit("@", 1)[1]
        return (run.report.get("test_by_length") or {}).get(length, {}).get(metric, math.nan)
    return run.report.get("test", {}).get(column_name.split("/", 1)[1], math.nan)


def rows_of(table: Table) -> tuple[list[str], list[list[str]]]:
    """The table as text cells: header and rows."""
    tests = _test_columns(table)
    header = [
        table.compare,
        *(f"chosen {k}" for k in table.tune),
        "params",
        "seeds",
        f"val/{table.val_key}",
        *tests,
        "grid",
        "published",
    ]
    rows = []
    for row in table.rows:
        runs = row.chosen.runs
        params = sorted({r.report["params"] for r in runs if r.report.get("params") is not None})
        cells = [
            row.compared,
            *(str(v) for v in row.chosen.values.values()),
            ", ".join(f"{p:,}" for p in params),
            str(len(runs)),
            _pooled([r.report.get("val", {}).get(table.val_key, math.nan) for r in runs]),
        ]
        cells += [_pooled([_test_values(r, c, table.metric) for r in runs]) for c in tests]
        size = f"{len(row.grid)} settings"
        cells.append(f"{size}, all at {'the floor' if row.floor else 'chance'}" if row.grid_at_chance else size)
        cells.append(row.published)
        rows.append(cells)
    return header, rows


def _title(table: Table) -> str:
    where = ", ".join(f"{k}={v}" for k, v in table.context.items())
    tuned = ", ".join(table.tune) or "nothing"
    on = "loss (lowest)" if table.val_key == "loss" else table.val_key
    return f"{where + ': ' if where else ''}each {table.compare} at its best {tuned} on validation {on}"


def markdown(tables: list[Table]) -> str:
    lines = [
        "## Comparison",
        "",
        "Each row: the setting with the best mean validation value over its seeds (never the test; the lowest where "
        "the study chose on the loss), then its "
        "test metrics as mean ± the 95% confidence interval over those seeds (Student's t). `grid`: how many "
        "settings were tried; 'all at chance' when none of them rose above chance on validation ('all at the floor' "
        "where the task knows a higher level that needs none of its memory).",
        "",
    ]
    for table in tables:
        header, rows = rows_of(table)
        lines += [f"### {_title(table)}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        if table.references:
            lines += ["", *[f"- {line}" for line in table.references]]
        lines.append("")
    return "\n".join(lines)


def csv_text(tables: list[Table]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(csv_rows(tables))
    return out.getvalue()


def csv_rows(tables: list[Table]) -> list[list[object]]:
    """Plain numbers for a plotting script: one line per (context, compared value), means and interval half-widths."""
    out: list[list[object]] = [["context", "compared", "chosen", "seeds", "column", "mean", "ci95"]]
    for table in tables:
        context = ", ".join(f"{k}={v}" for k, v in table.context.items())
        for row in table.rows:
            chosen = ",".join(f"{k}={v}" for k, v in row.chosen.values.items())
            runs = row.chosen.runs
            for name in [f"val/{table.val_key}", *_test_columns(table)]:
                values = (
                    [r.report.get("val", {}).get(table.val_key, math.nan) for r in runs]
                    if name.startswith("val/")
                    else [_test_values(r, name, table.metric) for r in runs]
                )
                mean, half, _ = interval(values)
                out.append([context, row.compared, chosen, len(runs), name, mean, "" if half is None else half])
    return out


def latex(tables: list[Table]) -> str:
    """The comparison for a paper (booktabs), one table per context."""
    out = []
    for table in tables:
        header, rows = rows_of(table)
        out += [
            "\\begin{table}[t]",
            "\\centering",
            f"\\caption{{{_tex(_title(table))}}}",
            "\\begin{tabular}{" + "l" * (1 + len(table.tune)) + "r" * (len(header) - 3 - len(table.tune)) + "ll}",
            "\\toprule",
            " & ".join(_tex(h) for h in header) + " \\\\",
            "\\midrule",
        ]
        out += [" & ".join(_tex(c).replace(" ± ", " $\\pm$ ") for c in row) + " \\\\" for row in rows]
        out += ["\\bottomrule", "\\end{tabular}", "\\end{table}", ""]
    return "\n".join(out)
