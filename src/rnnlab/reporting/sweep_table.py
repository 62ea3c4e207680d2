"""rnnlab-report: many runs (a sweep dir, run dirs, or several) turned into one table and a few plots.

    rnnlab-report outputs/multirun/2026-11-23_10-00-00
    rnnlab-report outputs/studies/recall_hidden_size outputs/studies/recall_position

Each run's settings come from its report.json (the setup it records; .hydra/overrides.yaml for runs without one).
Settings that are the same in every run are listed once above the table; the ones that differ are its columns,
with the test metrics, the parameter count, the best validation value and the accuracy at the longest tested
length. The run column is the run dir relative to the first DIR: with `tensorboard --logdir DIR` it is the run's
name there. Runs that differ only by `seed` are one row, mean ± std. Failed runs are listed under the table;
rnnlab-eval's eval/ dirs are left out. Written to the first DIR: summary.md, summary.csv (plain numbers), and where
they apply metric_vs_hidden_size.png, accuracy_by_length.png and training_curves.png.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from dataclasses import dataclass

from rnnlab.reporting.intervals import interval
from rnnlab.reporting.run_report import by_length_key
from rnnlab.reporting.sweep_runs import LEFT_OUT, Run, constant_settings, varied_keys


def _numeric_metrics(runs: list[Run]) -> list[str]:
    names: list[str] = []
    for r in runs:
        for k, v in r.report.get("test", {}).items():
            if isinstance(v, (int, float)) and k not in ("n", "wrong") and k not in names:  # bools: the share True
                names.append(k)
    return names


def _longest(run: Run) -> tuple[str, float] | None:
    """(length, headline metric) at the longest tested length."""
    table = run.report.get(by_length_key(run.report["metric"]))
    if not table:
        return None
    length = max(table, key=int)
    return length, table[length]


@dataclass
class Summary:
    constants: dict[str, object]
    header: list[str]
    rows: list[list[object]]  # plain values; a pooled cell is a list of the seeds' values
    failed: list[Run]


def summarise(runs: list[Run]) -> Summary:
    """One row per setting (runs that differ only by seed pooled), columns for what differs and what was found."""
    ok = [r for r in runs if r.ok]
    failed = [r for r in runs if not r.ok]
    columns = [k for k in varied_keys(ok) if k not in LEFT_OUT]
    metrics = _numeric_metrics(ok)
    longest = {r.name: _longest(r) for r in ok}
    lengths = {v[0] for v in longest.values() if v}
    at_longest = f"{ok[0].report['metric']}@{max(lengths, key=int)}" if ok and len(lengths) == 1 else None
    groups: dict[tuple, list[Run]] = {}
    for r in ok:
        groups.setdefault(tuple(str(r.settings.get(k, "")) for k in columns), []).append(r)
    seeds = any(len(g) > 1 for g in groups.values())
    header = ["run", *columns, "params", *(f"test/{m}" for m in metrics)]
    metrics_of_runs = {r.report["metric"] for r in ok}
    best = f"best val/{metrics_of_runs.pop()}" if len(metrics_of_runs) == 1 else "best val (each task's metric)"
    header += ([f"test/{at_longest}"] if at_longest else []) + [best, "train steps", "train s"]
    header += ["seeds"] if seeds else []
    rows = []
    for group in groups.values():
        first = group[0]
        row: list[object] = [_group_name(group), *(first.settings.get(k, "") for k in columns)]
        row.append(first.report.get("params", ""))
        row += [[r.report["test"][m] for r in group if m in r.report["test"]] for m in metrics]
        if at_longest:
            row.append([at[1] for r in group if (at := longest[r.name])])
        row.append([r.report["best_val"] for r in group if r.report.get("best_val") is not None])
        row.append([r.report["train"]["steps"] for r in group if "train" in r.report])
        row.append([r.report["train"]["wall_s"] for r in group if "train" in r.report])
        if seeds:
            row.append(len(group))
        rows.append(row)
    return Summary(constant_settings(ok), header, rows, failed)


def _group_name(group: list[Run]) -> str:
    """A row's run name: the run's dir, or for runs pooled over seeds what their dirs share and their job numbers,
    `model.hidden_size=5,model=lstm (jobs 6-7)` rather than both dir names."""
    if len(group) == 1:
        return group[0].name
    numbers, shared = [], set()
    for run in group:
        number, _, overrides = run.name.partition("_")
        numbers.append(number)
        shared.add(",".join(o for o in overrides.split(",") if not o.startswith("seed=")))
    if len(shared) != 1 or not all(n.isdigit() for n in numbers):
        return " ".join(r.name for r in group)
    ints = sorted(map(int, numbers))
    jobs = f"{ints[0]}-{ints[-1]}" if ints == list(range(ints[0], ints[-1] + 1)) else ", ".join(map(str, ints))
    return f"{shared.pop() or 'seeds'} (jobs {jobs})"


def split_finite(values: list[float]) -> tuple[list[float], list[float]]:
    """The finite values, which are pooled, and the others (NaN from a run whose metric was undefined, inf), shown."""
    return [v for v in values if math.isfinite(v)], [v for v in values if not math.isfinite(v)]


def _mean_std(values: list[float], digits: int = 4) -> str:
    if not values:
        return ""
    values, odd = split_finite(values)
    if odd:
        unpooled = ", ".join(sorted({str(v) for v in odd}))
        if not values:
            return unpooled
        return f"{_mean_std(values, digits)} (n={len(values)}; {len(odd)} more: {unpooled})"
    mean, half, _ = interval(values)
    small = digits >= 3 and 0 < abs(mean) < 10 ** -(digits - 1)  # an MSE of 8e-06 is not 0.0000; seconds stay seconds
    text = f"{mean:.2e}" if small else f"{mean:.{digits}f}" if digits else f"{mean:,.0f}"
    if half is not None:  # the 95% interval over the seeds (Student's t)
        text += f" ± {half:.2e}" if small else f" ± {half:.{digits}f}" if digits else f" ± {half:,.0f}"
    return text


def _cell(column: str, value: object) -> str:
    if isinstance(value, list):
        return _mean_std(value, 0 if column == "train steps" else 1 if column == "train s" else 4)
    if column == "params" and isinstance(value, int):
        return f"{value:,}"
    return str(value)


def markdown(summary: Summary, title: str) -> str:
    lines = [f"# {title}", ""]
    if summary.constants:
        lines += ["Same in every run: " + ", ".join(f"{k}={v}" for k, v in summary.constants.items()), ""]
    lines += ["| " + " | ".join(summary.header) + " |", "|" + "---|" * len(summary.header)]
    lines += [
        "| " + " | ".join(_cell(c, v).replace("|", "\\|") for c, v in zip(summary.header, row)) + " |"
        for row in summary.rows
    ]
    if "seeds" in summary.header:
        lines += [
            "",
            "Runs that differ only by seed are one row: the mean ± the 95% confidence interval (Student's t "
            "over the seeds); `seeds` is n.",
        ]
    if summary.failed:
        lines += ["", f"Failed runs ({len(summary.failed)}):", ""]
        lines += [f"- {r.name}: {r.status}" for r in summary.failed]
    return "\n".join(lines) + "\n"


def csv_text(summary: Summary) -> str:
    """Plain numbers: a pooled column becomes its mean and, with several seeds, a `<column> std` beside it."""
    pooled = [any(isinstance(row[i], list) for row in summary.rows) for i in range(len(summary.header))]
    seeds = any(isinstance(v, list) and len(v) > 1 for row in summary.rows for v in row)
    header = []
    for column, is_pooled in zip(summary.header, pooled):
        header += [column, f"{column} std", f"{column} ci95", f"{column} n"] if is_pooled and seeds else [column]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in summary.rows:
        cells = []
        for value, is_pooled in zip(row, pooled):
            if not is_pooled:
                cells.append(value)
                continue
            values, odd = split_finite(value if isinstance(value, list) else [])
            mean = statistics.mean(values) if values else (odd[0] if odd else "")  # a mean of equal ints stays an int
            cells.append(mean)
            if seeds:
                _, half, n = interval(values)
                cells += [statistics.stdev(values) if n > 1 else "", half if half is not None else "", n]
        writer.writerow(cells)
    return out.getvalue()


LOWER_IS_BETTER = ("loss", "mse", "wrong")


def latex(summary: Summary, caption: str) -> str:
    """The table for a paper (booktabs): mean ± 95% interval, the best value of each test metric in bold."""
    metrics = [i for i, c in enumerate(summary.header) if c.startswith("test/")]
    best = {}
    for i in metrics:
        means = [interval(cell)[0] if isinstance(cell := row[i], list) and cell else math.nan for row in summary.rows]
        finite = [m for m in means if math.isfinite(m)]
        if finite:
            lower = any(word in summary.header[i] for word in LOWER_IS_BETTER)
            best[i] = min(finite) if lower else max(finite)
    shown = [i for i, c in enumerate(summary.header) if c not in ("run", "train s")]
    lines = [
        "\\begin{table}[t]",
        "\\centering",
        f"\\caption{{{tex(caption)}}}",
        "\\begin{tabular}{" + "".join("r" if _numeric(summary, i) else "l" for i in shown) + "}",
        "\\toprule",
        " & ".join(tex(summary.header[i]) for i in shown) + " \\\\",
        "\\midrule",
    ]
    for row in summary.rows:
        cells = []
        for i in shown:
            text = tex(_cell(summary.header[i], row[i])).replace(" ± ", " $\\pm$ ")
            if i in best and isinstance(cell := row[i], list) and cell and interval(cell)[0] == best[i]:
                text = f"\\textbf{{{text}}}"
            cells.append(text)
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}"]
    return "\n".join(lines) + "\n"


def _numeric(summary: Summary, column: int) -> bool:
    return all(isinstance(row[column], (int, float, list)) for row in summary.rows)


def tex(text: object) -> str:
    out = str(text)
    for char, escaped in (
        ("\\", "\\textbackslash{}"),
        ("&", "\\&"),
        ("%", "\\%"),
        ("$", "\\$"),
        ("#", "\\#"),
        ("_", "\\_"),
        ("{", "\\{"),
        ("}", "\\}"),
    ):
        out = out.replace(char, escaped)
    return out
