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

import argparse
import csv
import io
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from rnnlab import reports
from rnnlab.command_line import quiet_when_piped
from rnnlab.setup import hparams
from rnnlab.sweep_jobs import read_overrides, read_report

LEFT_OUT = {"seed", "model.params"}  # seeds are pooled; the parameter count has a column of its own
EVAL_DIR = "eval"  # rnnlab-eval writes below a run's dir


@dataclass
class Run:
    path: Path
    name: str  # the path relative to the first dir given: the TensorBoard run name under that log dir
    settings: dict[str, object] = field(default_factory=dict)
    report: dict | None = None
    complete: bool = False  # settings from the report's setup (all of them), not only the overrides typed

    @property
    def status(self) -> str:
        return "no report.json (the job did not finish)" if self.report is None else self.report["status"]

    @property
    def ok(self) -> bool:
        return self.report is not None and self.report["status"] == "ok"


def _overrides(path: Path) -> dict[str, object]:
    settings = {}
    for line in read_overrides(path) or []:  # a broken file: the run is still listed, by its report
        key, _, value = line.partition("=")
        if not key.startswith("hydra") and key != "sweep.resume":
            settings[key.lstrip("+~")] = value
    return settings


def _read_run(path: Path, name: str) -> Run:
    run = Run(path, name, report=read_report(path))
    setup = (run.report or {}).get("setup")
    run.settings = hparams(setup) if setup else _overrides(path)
    run.complete = bool(setup)
    return run


def collect(dirs: list[Path]) -> list[Run]:
    """Every run below the given dirs: a dir with report.json or .hydra/ is a run; others are searched."""
    runs, seen = [], set()
    base = dirs[0]
    for top in dirs:
        candidates = [top] if _is_run(top) else sorted({p.parent.parent for p in top.rglob(".hydra/overrides.yaml")}
                                                       | {p.parent for p in top.rglob("report.json")}, key=_order)
        for path in candidates:
            if path.resolve() in seen or not _is_run(path) or EVAL_DIR in path.relative_to(top).parts:
                continue
            seen.add(path.resolve())
            runs.append(_read_run(path, _relative(path, base)))
    return runs


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base)) if path != base else path.name
    except ValueError:
        return str(path)


def _is_run(path: Path) -> bool:
    return (path / "report.json").exists() or (path / ".hydra" / "overrides.yaml").exists()


def _order(path: Path) -> tuple:
    """Sweep jobs in job order: 2_model=gru before 10_model=rnn."""
    number = path.name.split("_", 1)[0]
    return (int(number) if number.isdigit() else math.inf, str(path))


def varied_keys(runs: list[Run]) -> list[str]:
    """Settings with more than one value. A key a complete setup lacks does not apply to that run (the forget bias
    of a GRU), so it does not count; one missing from a run known only by its overrides was left at its default."""
    keys = list(dict.fromkeys(k for r in runs for k in r.settings))
    return [k for k in keys if len({str(r.settings.get(k, "")) for r in runs if k in r.settings or not r.complete}) > 1]


def constant_settings(runs: list[Run]) -> dict[str, object]:
    varied = set(varied_keys(runs)) | LEFT_OUT
    return {k: v for r in runs for k, v in r.settings.items() if k not in varied}


def _numeric_metrics(runs: list[Run]) -> list[str]:
    names: list[str] = []
    for r in runs:
        for k, v in r.report.get("test", {}).items():
            if isinstance(v, (int, float)) and k not in ("n", "wrong") and k not in names:  # bools: the share True
                names.append(k)
    return names


def _longest(run: Run) -> tuple[str, float] | None:
    """(length, headline metric) at the longest tested length."""
    table = run.report.get(reports.by_length_key(run.report["metric"]))
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
    best = f"best val/{ok[0].report['metric']}" if ok else "best val"
    header += ([f"test/{at_longest}"] if at_longest else []) + [best, "train steps", "train s"]
    header += ["seeds"] if seeds else []
    rows = []
    for group in groups.values():
        first = group[0]
        row: list[object] = [" ".join(r.name for r in group), *(first.settings.get(k, "") for k in columns)]
        row.append(first.report.get("params", ""))
        row += [[r.report["test"][m] for r in group if m in r.report["test"]] for m in metrics]
        if at_longest:
            row.append([longest[r.name][1] for r in group if longest[r.name]])
        row.append([r.report["best_val"] for r in group if r.report.get("best_val") is not None])
        row.append([r.report["train"]["steps"] for r in group if "train" in r.report])
        row.append([r.report["train"]["wall_s"] for r in group if "train" in r.report])
        if seeds:
            row.append(len(group))
        rows.append(row)
    return Summary(constant_settings(ok), header, rows, failed)


def _mean_std(values: list[float], digits: int = 4) -> str:
    if not values:
        return ""
    mean = statistics.fmean(values)
    small = digits and 0 < abs(mean) < 10**-(digits - 1)  # an MSE of 8e-06 is not 0.0000
    text = f"{mean:.2e}" if small else f"{mean:.{digits}f}" if digits else f"{mean:,.0f}"
    if len(values) > 1:
        std = statistics.stdev(values)
        text += f" ± {std:.2e}" if small else f" ± {std:.{digits}f}" if digits else f" ± {std:,.0f}"
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
    lines += ["| " + " | ".join(_cell(c, v).replace("|", "\\|") for c, v in zip(summary.header, row)) + " |"
              for row in summary.rows]
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
        header += [column, f"{column} std"] if is_pooled and seeds else [column]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in summary.rows:
        cells = []
        for value, is_pooled in zip(row, pooled):
            if not is_pooled:
                cells.append(value)
                continue
            values = value if isinstance(value, list) else []
            cells.append(statistics.mean(values) if values else "")  # a mean of equal ints stays an int
            if seeds:
                cells.append(statistics.stdev(values) if len(values) > 1 else "")
        writer.writerow(cells)
    return out.getvalue()


@quiet_when_piped
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="rnnlab-report", description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path, help="sweep dirs, run dirs, or folders holding them")
    args = parser.parse_args(argv)
    from rnnlab.report_plots import plots

    if missing := [str(d) for d in args.dirs if not d.is_dir()]:
        parser.exit(2, f"rnnlab-report: error: not a directory: {', '.join(missing)}\n")
    runs = collect(args.dirs)
    if not runs:
        parser.exit(2, f"rnnlab-report: error: no runs (report.json or .hydra/) under {', '.join(map(str, args.dirs))}\n")
    summary = summarise(runs)
    out = args.dirs[0]
    table = markdown(summary, f"{len(runs)} runs in {', '.join(map(str, args.dirs))}")
    reports.write_atomic(out / "summary.md", table)
    reports.write_atomic(out / "summary.csv", csv_text(summary))
    written = plots(runs, out)
    print(table, end="")
    print(f"\n{len(runs)} runs ({len(summary.failed)} failed) -> {out / 'summary.md'}, summary.csv"
          + "".join(f", {p.name}" for p in written))
