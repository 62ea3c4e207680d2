"""rnnlab-report: many runs (a sweep dir, run dirs, or several) turned into one table and a few plots.

    rnnlab-report outputs/multirun/2026-11-23_10-00-00
    rnnlab-report outputs/studies/recall_hidden_size outputs/studies/recall_position

The columns are the swept settings (the overrides that differ between runs, read from each run's
.hydra/overrides.yaml) and the test metrics; runs that differ only by `seed` are one row, mean ± std. Failed runs
are listed under the table. Written to the first DIR: summary.md, summary.csv, and where they apply
metric_vs_hidden_size.png (one line per model), accuracy_by_length.png (one line per run) and
training_curves.png (train/loss from the TensorBoard events).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rnnlab import reports


@dataclass
class Run:
    path: Path
    settings: dict[str, str] = field(default_factory=dict)  # override key -> value, as typed
    report: dict | None = None

    @property
    def status(self) -> str:
        return "no report.json (the job did not finish)" if self.report is None else self.report["status"]


def collect(dirs: list[Path]) -> list[Run]:
    """Every run below the given dirs: a dir with report.json or .hydra/ is a run; others are searched."""
    runs, seen = [], set()
    for top in dirs:
        candidates = [top] if _is_run(top) else sorted({p.parent.parent for p in top.rglob(".hydra/overrides.yaml")}
                                                       | {p.parent for p in top.rglob("report.json")}, key=_order)
        for path in candidates:
            if path.resolve() in seen or not _is_run(path):
                continue
            seen.add(path.resolve())
            run = Run(path)
            overrides = path / ".hydra" / "overrides.yaml"
            if overrides.exists():
                for line in yaml.safe_load(overrides.read_text()) or []:
                    key, _, value = str(line).partition("=")
                    if not key.startswith("hydra"):
                        run.settings[key.lstrip("+~")] = value
            if (path / "report.json").exists():
                try:
                    run.report = json.loads((path / "report.json").read_text())
                except json.JSONDecodeError:
                    run.report = {"status": "report.json unreadable"}
            runs.append(run)
    return runs


def _is_run(path: Path) -> bool:
    return (path / "report.json").exists() or (path / ".hydra" / "overrides.yaml").exists()


def _order(path: Path) -> tuple:
    return tuple(int(p) if p.isdigit() else math.inf for p in path.parts[-1:]) + (str(path),)


def swept_keys(runs: list[Run]) -> list[str]:
    keys = sorted({k for r in runs for k in r.settings})
    return [k for k in keys if len({r.settings.get(k) for r in runs}) > 1 or (len(runs) == 1 and k != "seed")]


def _numeric_metrics(runs: list[Run]) -> list[str]:
    names: list[str] = []
    for r in runs:
        for k, v in (r.report or {}).get("test", {}).items():
            if isinstance(v, (int, float)) and k not in ("n", "wrong") and k not in names:  # bools: the share True
                names.append(k)
    return names


def summarise(runs: list[Run]) -> tuple[list[str], list[list[str]], list[Run]]:
    """(header, rows, failed runs): one row per setting, mean ± std over seeds."""
    ok = [r for r in runs if r.report is not None and r.report["status"] == "ok"]
    failed = [r for r in runs if r not in ok]
    columns = [k for k in swept_keys(runs) if k != "seed"]
    metrics = _numeric_metrics(ok)
    groups: dict[tuple, list[Run]] = {}
    for r in ok:
        groups.setdefault(tuple(r.settings.get(k, "") for k in columns), []).append(r)
    seeds = any(len(g) > 1 for g in groups.values())
    header = [*columns, *(f"test/{m}" for m in metrics), "train steps", "train s"] + (["seeds"] if seeds else [])
    rows = []
    for key, group in groups.items():
        row = list(key)
        for m in metrics:
            values = [r.report["test"][m] for r in group if m in r.report["test"]]
            row.append(_mean_std(values))
        row.append(_mean_std([r.report["train"]["steps"] for r in group if "train" in r.report], digits=0))
        row.append(_mean_std([r.report["train"]["wall_s"] for r in group if "train" in r.report], digits=1))
        if seeds:
            row.append(str(len(group)))
        rows.append(row)
    return header, rows, failed


def _mean_std(values: list[float], digits: int = 4) -> str:
    if not values:
        return ""
    mean = statistics.fmean(values)
    text = f"{mean:.{digits}f}" if digits else f"{mean:,.0f}"
    if len(values) > 1:
        std = statistics.stdev(values)
        text += f" ± {std:.{digits}f}" if digits else f" ± {std:,.0f}"
    return text


def markdown(header: list[str], rows: list[list[str]], failed: list[Run]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    if failed:
        lines += ["", f"Failed runs ({len(failed)}):", ""]
        lines += [f"- {r.path}: {r.status}" + (f" ({' '.join(f'{k}={v}' for k, v in r.settings.items())})" if r.settings else "")
                  for r in failed]
    return "\n".join(lines) + "\n"


def _label(run: Run, columns: list[str], skip: tuple[str, ...] = ()) -> str:
    return " ".join(f"{k}={run.settings[k]}" for k in columns if k not in skip and k in run.settings)


def _save(fig, ax, xlabel: str, ylabel: str, path: Path, accuracy: bool = True) -> Path:
    """Label, grid and legend the axes, and write the figure: the finish every plot here shares."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if accuracy:
        ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=6)
    fig.tight_layout()
    reports.save_figure(fig, path)
    return path


def plots(runs: list[Run], out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    written: list[Path] = []
    ok = [r for r in runs if r.report is not None and r.report["status"] == "ok"]
    if not ok:
        return written
    columns = swept_keys(runs)
    if "model.hidden_size" in columns:
        metric = ok[0].report["metric"]
        lines: dict[str, dict[int, list[float]]] = {}
        for r in (r for r in ok if "model.hidden_size" in r.settings):  # runs of another sweep may not set it
            label = _label(r, columns, skip=("model.hidden_size", "seed")) or r.report["model"]
            lines.setdefault(label, {}).setdefault(int(r.settings["model.hidden_size"]), []).append(r.report["test"][metric])
        fig, ax = plt.subplots(figsize=(6, 4))
        for label, points in sorted(lines.items()):
            sizes = sorted(points)
            ax.plot(sizes, [statistics.fmean(points[s]) for s in sizes], marker="o", label=label)
        written.append(_save(fig, ax, "hidden size", f"test {metric}", out / "metric_vs_hidden_size.png"))
    by_length = [(r, next((v for k, v in r.report.items() if k.endswith("_by_length")), None)) for r in ok]
    by_length = [(r, table) for r, table in by_length if table and len(table) > 1]
    if by_length:
        fig, ax = plt.subplots(figsize=(6.5, 4))
        for r, table in by_length:
            ax.plot([int(k) for k in table], list(table.values()), marker=".", label=_label(r, columns) or r.path.name)
        lengths = [int(k) for _, t in by_length for k in t]
        ax.set_xscale("log" if max(lengths) / min(lengths) >= 20 else "linear")
        written.append(_save(fig, ax, "sequence length", "test accuracy by length", out / "accuracy_by_length.png"))
    curves = _training_curves(ok, columns)
    if curves:
        fig, ax = plt.subplots(figsize=(6.5, 4))
        for label, (steps, values) in curves.items():
            ax.plot(steps, values, label=label, linewidth=1)
        ax.set_yscale("log")
        written.append(_save(fig, ax, "step", "train/loss", out / "training_curves.png", accuracy=False))
    return written


def _training_curves(runs: list[Run], columns: list[str]) -> dict[str, tuple[list[int], list[float]]]:
    if not any(r.path.glob("events.out.tfevents.*") for r in runs):
        return {}
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    curves = {}
    for r in runs:
        if not list(r.path.glob("events.out.tfevents.*")):
            continue
        events = EventAccumulator(str(r.path), size_guidance={"scalars": 0}).Reload()
        if "train/loss" in events.Tags()["scalars"]:
            points = events.Scalars("train/loss")
            curves[_label(r, columns) or r.path.name] = ([p.step for p in points], [max(p.value, 1e-8) for p in points])
    return curves


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="rnnlab-report", description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path, help="sweep dirs, run dirs, or folders holding them")
    args = parser.parse_args(argv)
    if missing := [str(d) for d in args.dirs if not d.is_dir()]:
        parser.exit(2, f"rnnlab-report: error: not a directory: {', '.join(missing)}\n")
    runs = collect(args.dirs)
    if not runs:
        parser.exit(2, f"rnnlab-report: error: no runs (report.json or .hydra/) under {', '.join(map(str, args.dirs))}\n")
    header, rows, failed = summarise(runs)
    table = markdown(header, rows, failed)
    out = args.dirs[0]
    reports.write_atomic(out / "summary.md", table)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    reports.write_atomic(out / "summary.csv", buffer.getvalue())
    written = plots(runs, out)
    print(table, end="")
    print(f"\n{len(runs)} runs ({len(failed)} failed) -> {out / 'summary.md'}, summary.csv"
          + "".join(f", {p.name}" for p in written))
