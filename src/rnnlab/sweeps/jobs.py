"""The jobs of a sweep as files: one reader for a job's report.json and .hydra/overrides.yaml (the rnnlab command
and rnnlab-report both use it), finding a finished job by its settings, and listing the failed ones at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from rnnlab.files import read_overrides, read_report, without_resume


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
