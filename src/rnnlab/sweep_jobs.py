"""The jobs of a sweep as files: one reader for a job's report.json and .hydra/overrides.yaml (the rnnlab command
and rnnlab-report both use it), finding a finished job by its settings, and listing the failed ones at the end.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

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


def _job_overrides(job: Path) -> list[str] | None:
    overrides = read_overrides(job)
    return None if overrides is None else without_resume(overrides)


def _job_status(job: Path) -> str:
    report = read_report(job)
    return "no report.json" if report is None else report["status"]


def finished_job(sweep_dir: Path, overrides: list[str]) -> Path | None:
    """A job dir in the sweep with the same overrides and an ok report."""
    wanted = without_resume(overrides)
    for report in sorted(sweep_dir.glob("*/report.json")):
        if _job_overrides(report.parent) == wanted and _job_status(report.parent) == "ok":
            return report.parent
    return None


class FailedJobs(Callback):
    """At the end of a sweep: list the jobs whose report is not ok; the rnnlab command then exits 1."""

    failed: list[str] = []  # read by the rnnlab command after Hydra returns

    def on_multirun_start(self, config: DictConfig, **kwargs) -> None:
        FailedJobs.failed.clear()  # this sweep's failures only, also for a second sweep in one process

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        jobs = sorted((p for p in sweep_dir.iterdir() if (p / ".hydra").is_dir()), key=lambda p: (len(p.name), p.name))
        status = {job: _job_status(job) for job in jobs}
        # A job that failed but was run again with the same overrides (a resumed Optuna trial) counts as done.
        overrides = {job: _job_overrides(job) for job in jobs}
        done = [overrides[job] for job in jobs if status[job] == "ok" and overrides[job] is not None]
        for job in jobs:
            if status[job] != "ok" and (overrides[job] is None or overrides[job] not in done):
                FailedJobs.failed.append(f"{job}: {status[job]}")
        if FailedJobs.failed:
            print(f"rnnlab: {len(FailedJobs.failed)} of {len(jobs)} jobs failed:", file=sys.stderr)
            for line in FailedJobs.failed:
                print(f"  {line}", file=sys.stderr)
