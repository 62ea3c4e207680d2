"""Command-line entry points.

    rnnlab task=index_recall model=gru model.hidden_size=10       # train, then test; reports in the run dir
    rnnlab -m task=index_recall model=rnn,lstm,gru                # a sweep, one run dir per job
    rnnlab --help                                                 # groups, options and the composed config

Before Hydra starts, the command line is checked (src/rnnlab/cli/check.py): a mistake is one line on stderr and
exit code 2. A sweep's jobs as files (reports, overrides, the failed ones) are src/rnnlab/sweeps/jobs.py.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from rnnlab.cli.argv import continue_from_run_dir, name_jobs_by_what_varies, pin_output_dir
from rnnlab.cli.check import check_command_line
from rnnlab.cli.exits import fail, full_errors, one_line_errors, quiet_when_piped
from rnnlab.cli.plugins import register_plugins
from rnnlab.config.hydra_internals import mode_known
from rnnlab.errors import USER_CODE_ERRORS, ConfigError, explain
from rnnlab.files import LAST, read_report
from rnnlab.reporting.comparison import selection_score
from rnnlab.sweeps import resume as sweep_resume
from rnnlab.sweeps.jobs import FailedJobs, finished_job
from rnnlab.sweeps.run_dirs import claim, clear_earlier_attempt, output_dir, refuse_occupied

log = logging.getLogger("rnnlab")
FAILED_SCORE = 0.0  # what a failed job of a sweep returns to the sweeper


@hydra.main(version_base="1.3", config_path="pkg://rnnlab.conf", config_name="config")
def _train(cfg: DictConfig) -> float:
    """One run or one sweep job: its score for a sweeper (Optuna maximises it). A single run that fails exits."""
    hydra_cfg = HydraConfig.get()
    out = Path(hydra_cfg.runtime.output_dir)
    in_sweep = hydra_cfg.mode == RunMode.MULTIRUN
    if in_sweep and cfg.sweep.resume:
        if (done := finished_job(out.parent, list(hydra_cfg.overrides.task))) is not None:
            log.info("sweep.resume: done already in %s, skipped", done)
            finished = read_report(done) or {}  # finished_job found its report
            return _score(finished, cfg)
        previous = read_report(out)
        if (out / LAST).exists() and (previous is None or previous["status"] == "interrupted"):
            log.info("sweep.resume: continuing %s from its %s", out, LAST)
            cfg.resume = True
    return _outcome(_run_or_failure(cfg, out, in_sweep), out, in_sweep, cfg)


def _in_study(cfg: DictConfig) -> bool:
    return bool(cfg.get("study", {}).get("compare"))


def _score(report: dict, cfg: DictConfig) -> float:
    """What a sweeper maximises: the validation headline metric, or in a study its selection value (a negated loss
    where study.metric=loss)."""
    if _in_study(cfg):
        return selection_score(report, OmegaConf.to_container(cfg.study))  # type: ignore[arg-type]
    return report["val"].get(report["metric"], math.nan)


def _run_or_failure(cfg: DictConfig, out: Path, in_sweep: bool) -> dict:
    """The run's report; or, where a sweep job failed, a report that says why (a single run exits instead)."""
    from rnnlab.files import write_json
    from rnnlab.runner.run import (
        run,  # torch loads here, after the command line was found sound
    )

    try:
        return run(cfg, out)
    except ConfigError as err:  # what needs torch to check: the device, task/model/loss combinations
        if full_errors():
            raise
        if not in_sweep:
            fail(str(err))
        failure = f"error: {err}"
    except OSError as err:  # the disk, not the program: a full disk, a dir made read-only, a quota
        if full_errors():
            raise
        failure = f"failed: cannot write {err.filename or 'a file'} ({err.strerror or err})"
        if not in_sweep:
            print(
                f"rnnlab: {failure}; what was written before is intact (checkpoints and reports are replaced "
                "whole or not at all)",
                file=sys.stderr,
            )
            sys.exit(1)
    except USER_CODE_ERRORS as err:  # a user's code that raised or exited, a bug, a broken environment: this run
        if full_errors():  # fails (in a sweep, the others run on)
            raise
        log.exception("run failed")  # the traceback goes to the run's rnnlab.log
        failure = f"failed: {explain(err)}"
    report = {"status": failure, "test": {}}  # the run never produced a report of its own: say why in its place
    try:
        write_json(out / "report.json", report)
    except OSError:  # the disk that failed the job: the sweep's summary still names it
        log.error("%s: %s (report.json could not be written)", out, failure)
    return report


def _outcome(report: dict, out: Path, in_sweep: bool, cfg: DictConfig) -> float:
    """Say how a run that did not finish ended (and exit, unless a sweep goes on); the score of one that did."""
    if report["status"] == "interrupted":
        again = (
            f"the same command with sweep.resume=true hydra.sweep.dir={out.parent}"
            if in_sweep
            else f"resume=true hydra.run.dir={out}"
        )
        print(
            f"rnnlab: interrupted at step {report['train']['steps']}; last.pt saved: continue with {again}",
            file=sys.stderr,
        )
        sys.exit(128 + report["signal"])  # the shell's convention: 130 for SIGINT, 143 for SIGTERM; ends a sweep too
    if report["status"] != "ok":
        traceback = f" (the traceback is in {out / 'rnnlab.log'})" if report["status"].startswith("failed: ") else ""
        print(f"rnnlab: {report['status']}{traceback}", file=sys.stderr)
        if not in_sweep:
            sys.exit(1)
        # The worst accuracy, not nan: Hydra's Optuna sweeper stops the whole search on a nan (its tell() fails).
        # A study choosing on a negated loss ranks every finished run above 0: there a failure is -inf.
        return -math.inf if _in_study(cfg) and cfg.study.get("metric") == "loss" else FAILED_SCORE
    return _score(report, cfg)


@quiet_when_piped
def train() -> None:
    """The rnnlab command."""
    sys.argv = [sys.argv[0], *continue_from_run_dir(sys.argv[1:])]  # resume=true hydra.run.dir=<dir>: its command
    args = sys.argv[1:]
    first = check_command_line(args)  # may add the + a user's constructor key needs (model.depth=3)
    sys.argv = [sys.argv[0], *args]
    multirun = bool({"-m", "--multirun"} & set(sys.argv[1:]))
    if multirun:  # sweepers only take part in a multirun
        register_plugins()
    if first is None:  # --help, --cfg and the like: Hydra answers them itself
        _train()
        return
    args = name_jobs_by_what_varies(sys.argv[1:], first) if multirun else sys.argv[1:]
    where = output_dir(first, multirun)
    sys.argv = [sys.argv[0], *pin_output_dir(args, where, multirun)]  # the dir checked is the dir Hydra writes
    try:
        with one_line_errors():
            if multirun and first.sweep.resume:  # which existing dir holds which job's settings
                os.environ[sweep_resume.PLAN] = json.dumps(sweep_resume.plan(sys.argv[1:], first, where))
            with claim(where):  # the run or sweep dir is this process's until it ends
                refuse_occupied(first, multirun)  # again, now that no other process can start there
                if not multirun and not first.resume:
                    clear_earlier_attempt(where)  # a failed run's files, which a fresh run replaces
                with mode_known(first.hydra.mode):  # Hydra need not compose the config again to read it
                    _train()
    finally:
        os.environ.pop(sweep_resume.PLAN, None)
    if multirun and FailedJobs.failed:  # (a single run reports its own failure; the list is this sweep's)
        sys.exit(1)
