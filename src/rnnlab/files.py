"""The files of a run dir, at the bottom of every layer (no torch, no matplotlib): their names, an atomic write
(a temporary file, then a rename: a crash never leaves half a file), and the readers of a job's report.json and
.hydra/overrides.yaml that the rnnlab command, a sweep's resume and rnnlab-report share.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from rnnlab.errors import ConfigError

LAST, BEST = "last.pt", "best.pt"  # the latest state of training (resume) and the best validation weights
HYDRA_DIR, REPORT, LOCK = ".hydra", "report.json", ".rnnlab.lock"
# What rnnlab-report writes into the first dir it is given (a sweep dir): rnnlab's own files, which a resumed sweep
# must take as such, as it takes the PNG figures written beside them.
REPORT_FILES = ("summary.md", "summary.csv", "summary.tex", "comparison.csv", "comparison.tex")


_UMASK = os.umask(0)  # read it (there is no other way), then put it back
os.umask(_UMASK)


def write_atomic(path: Path, data: str | bytes) -> None:
    path = Path(path)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes the file private; reports are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, report: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(report, indent=2) + "\n")


UNREADABLE = "report.json unreadable"
NOT_A_REPORT = "report.json is not an rnnlab report"


def read_report(job: Path) -> dict | None:
    """The job's report.json; None when there is none, a report with only a status when it cannot be used."""
    try:
        report = json.loads((job / "report.json").read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"status": UNREADABLE}
    if not isinstance(report, dict) or not isinstance(report.get("status"), str):
        return {"status": NOT_A_REPORT}
    return report


def read_overrides(job: Path) -> list[str] | None:
    """The job's command-line overrides (.hydra/overrides.yaml); None when missing or broken."""
    try:
        overrides = yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text()) or []
    except (OSError, yaml.YAMLError):
        return None
    return [str(o) for o in overrides] if isinstance(overrides, list) else None


def without_resume(overrides: list[str]) -> list[str]:
    """A job's settings: its overrides, sorted, less the ones that only say how to run it."""
    return sorted(o for o in overrides if not o.startswith(("sweep.resume=", "resume=")))


def require_last_checkpoint(run_dir: Path) -> None:
    """resume=true needs the run's last.pt (checked without torch, so that a wrong dir is answered at once); the
    message names the newest run under outputs/ that could be continued."""
    if not (run_dir / LAST).exists():
        newest = newest_resumable(Path("outputs"))
        there = (
            f"the newest run that can be continued is {newest}: rnnlab resume=true hydra.run.dir={newest}"
            if newest
            else "no run under outputs/ can be continued (none has a last.pt and an unfinished report)"
        )
        raise ConfigError(f"resume=true: no {LAST} in {run_dir}; {there}")


def newest_resumable(outputs: Path) -> Path | None:
    """The most recently written run dir under outputs/ whose training did not finish (interrupted, or no report)."""
    candidates = []
    for last in outputs.glob(f"*/*/{LAST}") if outputs.is_dir() else []:
        report = read_report(last.parent)
        if report is None or report.get("status") == "interrupted":
            candidates.append((last.stat().st_mtime, last.parent))
    return max(candidates)[1] if candidates else None
