"""rnnlab-report: many runs (a sweep dir, run dirs, or several) turned into one table and a few plots.

    rnnlab-report outputs/multirun/2026-11-23_10-00-00
    rnnlab-report outputs/studies/recall_hidden_size outputs/studies/recall_position

The table is rnnlab.reporting.sweep_table's, the plots rnnlab.reporting.sweep_plots'.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rnnlab.cli.exits import quiet_when_piped
from rnnlab.files import write_atomic
from rnnlab.reporting import comparison
from rnnlab.reporting.sweep_runs import collect, runs_text
from rnnlab.reporting.sweep_table import csv_text, latex, markdown, summarise


@quiet_when_piped
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="rnnlab-report", description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path, help="sweep dirs, run dirs, or folders holding them")
    args = parser.parse_args(argv)
    from rnnlab.reporting.sweep_plots import plots

    if missing := [str(d) for d in args.dirs if not d.is_dir()]:
        parser.exit(2, f"rnnlab-report: error: not a directory: {', '.join(missing)}\n")
    runs = collect(args.dirs)
    if not runs:
        parser.exit(
            2, f"rnnlab-report: error: no runs (report.json or .hydra/) under {', '.join(map(str, args.dirs))}\n"
        )
    summary = summarise(runs)
    out = args.dirs[0]
    table = markdown(summary, f"{runs_text(len(runs))} in {', '.join(map(str, args.dirs))}")
    files = ["summary.csv", "summary.tex"]
    if study := comparison.study_of(runs):  # a tuned comparison: its table first, the whole grid below
        tables = comparison.compare(runs, study)
        first, _, rest = table.partition("\n\n")
        table = f"{first}\n\n{comparison.markdown(tables)}\n## Every run (the whole grid)\n\n{rest}"
        write_atomic(out / "comparison.csv", comparison.csv_text(tables))
        write_atomic(out / "comparison.tex", comparison.latex(tables))
        files += ["comparison.csv", "comparison.tex"]
    write_atomic(out / "summary.md", table)
    write_atomic(out / "summary.csv", csv_text(summary))
    write_atomic(out / "summary.tex", latex(summary, f"{runs_text(len(runs))} in {out.name}"))
    written = plots(runs, out)
    print(table, end="")
    print(
        f"\n{runs_text(len(runs))} ({len(summary.failed)} failed) -> {out / 'summary.md'}, {', '.join(files)}"
        + "".join(f", {p.name}" for p in written)
    )
