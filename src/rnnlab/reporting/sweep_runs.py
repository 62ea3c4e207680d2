"""The runs below some dirs as rnnlab-report reads them: each run's settings (from its report.json, or its
.hydra/overrides.yaml), its report, and which settings vary between runs.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rnnlab.files import read_overrides, read_report
from rnnlab.reporting.describe import hparams

LEFT_OUT = {"seed", "model.params"}  # seeds are pooled; the parameter count has a column of its own


EVAL_DIR = "eval"  # rnnlab-eval writes below a run's dir


@dataclass
class Run:
    path: Path
    name: str  # the path relative to the first dir given: the TensorBoard run name under that log dir
    settings: dict[str, object] = field(default_factory=dict)
    report: dict = field(default_factory=dict)  # empty: the job wrote no report.json
    complete: bool = False  # settings from the report's setup (all of them), not only the overrides typed

    @property
    def status(self) -> str:
        return self.report.get("status", "no report.json (the job did not finish)")

    @property
    def ok(self) -> bool:
        return self.report.get("status") == "ok"


def _overrides(path: Path) -> dict[str, object]:
    settings: dict[str, object] = {}
    for line in read_overrides(path) or []:  # a broken file: the run is still listed, by its report
        key, _, value = line.partition("=")
        if not key.startswith("hydra") and key != "sweep.resume":
            settings[key.lstrip("+~")] = value
    return settings


def _read_run(path: Path, name: str) -> Run:
    run = Run(path, name, report=read_report(path) or {})
    setup = run.report.get("setup")
    run.settings = dict(hparams(setup)) if setup else _overrides(path)
    run.complete = bool(setup)
    return run


def collect(dirs: list[Path]) -> list[Run]:
    """Every run below the given dirs: a dir with report.json or .hydra/ is a run; others are searched."""
    runs, seen = [], set()
    base = dirs[0]
    for top in dirs:
        candidates = (
            [top]
            if _is_run(top)
            else sorted(
                {p.parent.parent for p in top.rglob(".hydra/overrides.yaml")}
                | {p.parent for p in top.rglob("report.json")},
                key=_order,
            )
        )
        for path in candidates:
            if path.resolve() in seen or not _is_run(path) or EVAL_DIR in path.relative_to(top).parts:
                continue
            seen.add(path.resolve())
            try:
                runs.append(_read_run(path, _relative(path, base)))
            except FileNotFoundError:  # removed while the report was being made
                print(f"rnnlab-report: {path} went away while it was read: left out", file=sys.stderr)
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
    """Settings every run has with one value (a run known by its overrides alone is taken to have the defaults): a
    key that only some runs have (the LSTM's forget bias beside a GRU) is not the same in every run."""
    varied = set(varied_keys(runs)) | LEFT_OUT
    keys = dict.fromkeys(k for r in runs for k in r.settings if k not in varied)
    return {
        k: next(r.settings[k] for r in runs if k in r.settings)
        for k in keys
        if all(k in r.settings or not r.complete for r in runs)
    }


def runs_text(n: int) -> str:
    """'1 run', '9 runs': for titles and summaries."""
    return f"{n} run" if n == 1 else f"{n} runs"
