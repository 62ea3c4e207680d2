"""Resuming a sweep (sweep.resume=true): each job finds the dir that holds its settings, never another's.

    os.environ[PLAN] = plan(argv, first)     # the rnnlab command, before Hydra starts; ConfigError to refuse

A job's dir is named by its number and what varied (3_model=lstm). A resumed sweep may list its values in another
order or add some (model.hidden_size=2,5, then 1,2,5), so numbers shift: the plan maps each job's settings to the
dir that already holds them, which the `rnnlab_job_dir` resolver then uses instead of a new number. A dir whose
name matches but whose run had other settings (a shared override changed between the two commands) would be
relabelled: the plan refuses that with one line before anything is written. A finished job's dir is left
untouched (Hydra writes neither its .hydra/ nor its log: `rnnlab_output_subdir`, `rnnlab_job_log`); an
interrupted one continues from its last.pt.

Only the basic sweeper's jobs are planned; an Optuna search resumes through its study (hydra_plugins/rnnlab_optuna).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from rnnlab.config import hydra_internals
from rnnlab.config.compose import rnnlab_configs
from rnnlab.config.hydra_internals import get_args_parser, get_overrides_dirname
from rnnlab.errors import ConfigError
from rnnlab.files import HYDRA_DIR, read_overrides, read_report, without_resume
from rnnlab.sweeps.compose_jobs import as_typed, sweeps_a_grid, swept_by_the_config
from rnnlab.sweeps.job_dirs import NAMING_KEY, default_job_dir
from rnnlab.sweeps.run_dirs import holds_a_run

PLAN = "RNNLAB_SWEEP_PLAN"  # JSON {override_dirname: {"dir": name, "done": bool}}, read by the resolvers
NEXT = "next number"  # in the plan: the first job number free in the sweep dir


def _job_overrides(args: list[str], first: DictConfig, config_loader=None) -> list[list[str]]:
    """Every job's overrides, as Hydra's basic sweeper makes them (its own code, so the two cannot disagree), an
    experiment's swept keys (hydra.sweeper.params) first."""

    overrides = [*swept_by_the_config(first), *get_args_parser().parse_known_args(args)[0].overrides]
    parsed = OverridesParser.create(config_loader).parse_overrides(overrides)
    return [job for batch in hydra_internals.BasicSweeper.split_arguments(parsed, None) for job in batch]


def plan(args: list[str], first: DictConfig, sweep_dir: Path) -> dict[str, Any]:
    """Map each job's override_dirname to the existing dir with its settings; refuse a dir with other settings."""
    if not sweeps_a_grid(first) or not sweep_dir.is_dir():
        return {}
    with rnnlab_configs(
        get_args_parser().parse_known_args(args)[0].config_dir
    ):  # glob(...) sweeps list a group's options
        return _plan(args, first, sweep_dir, GlobalHydra.instance().config_loader())


def _plan(args: list[str], first: DictConfig, sweep_dir: Path, config_loader) -> dict[str, Any]:
    naming = first.hydra.job.config.override_dirname
    parser = OverridesParser.create(config_loader)
    jobs = _job_overrides(args, first, config_loader)
    exclude = next(
        (
            list(o.value())  # type: ignore[arg-type]  # the key's value is a list of keys
            for job in jobs[:1]
            for o in parser.parse_overrides(job)
            if o.key_or_group == NAMING_KEY
        ),
        list(naming.exclude_keys),
    )
    existing = {  # the job dirs there, by number
        d: number for d in sweep_dir.iterdir() if d.is_dir() and holds_a_run(d) and (number := _number(d)) is not None
    }
    mapping = {}
    for job in jobs:
        task = [o for o in parser.parse_overrides(job) if not o.is_hydra_override()]
        name = get_overrides_dirname(task, exclude, naming.item_sep, naming.kv_sep)
        ours = [as_typed(o) for o in task]
        # the dir that ran these settings, whatever it was named (a subset of the old sweep, other shared keys) ...
        there = next((d for d in existing if without_resume(read_overrides(d) or []) == without_resume(ours)), None)
        # ... or the dir these settings' name got, under whichever number they had then
        there = there or next((d for d, number in existing.items() if default_job_dir(number, name) == d.name), None)
        if there is None:
            continue
        theirs = read_overrides(there)
        if theirs is None:
            raise ConfigError(
                f"sweep.resume=true: {there / HYDRA_DIR / 'overrides.yaml'} is missing or unreadable, "
                "so the settings of that job are unknown: remove the job's dir to run it again, or give "
                "a new hydra.sweep.dir"
            )
        if without_resume(theirs) != without_resume(ours):
            only_theirs = sorted(set(without_resume(theirs or [])) - set(ours)) or ["no other setting"]
            only_ours = sorted(set(without_resume(ours)) - set(theirs or [])) or ["no other setting"]
            raise ConfigError(
                f"sweep.resume=true: {there} holds a run with {','.join(only_theirs)} where this command has "
                f"{','.join(only_ours)}: resume with the sweep's own settings, or give a new hydra.sweep.dir"
            )
        report = read_report(there)
        mapping[name] = {"dir": there.name, "done": report is not None and report["status"] == "ok"}
    numbers = [n for n in map(_number, sweep_dir.iterdir()) if n is not None]
    return {**mapping, NEXT: max(numbers) + 1} if numbers else mapping


def _number(job_dir: Path) -> int | None:
    """A job dir's number (3 for 3_model=lstm); None for anything else in the sweep dir."""
    number = job_dir.name.split("_", 1)[0]
    return int(number) if number.isdigit() else None


def _planned(override_dirname: str) -> dict | None:
    return json.loads(os.environ.get(PLAN, "{}")).get(override_dirname)


def planned_dir(override_dirname: str) -> str | None:
    """The dir that holds these settings already; None for a job that is new."""
    job = _planned(override_dirname)
    return job["dir"] if job else None


def first_new_number() -> int:
    """What a new job's number starts from: after the dirs already there, so that its name stands apart."""
    return json.loads(os.environ.get(PLAN, "{}")).get(NEXT, 0)


def output_subdir(override_dirname: str) -> str | None:
    """hydra.output_subdir: none for a finished job, so that its .hydra/ is not written again."""
    job = _planned(override_dirname)
    return None if job and job["done"] else ".hydra"


def log_file(output_dir: str, job_name: str, override_dirname: str) -> str:
    """The job's log: a finished job's is not appended to."""
    job = _planned(override_dirname)
    return os.devnull if job and job["done"] else str(Path(output_dir) / f"{job_name}.log")


def job_dir_name(num: Any, overrides: str) -> str:
    """A sweep job's dir: its number, then what varied in it (hydra.job.override_dirname), made path-safe; in a
    resumed sweep, the dir that already holds these settings (src/rnnlab/sweeps/resume.py)."""
    from rnnlab.sweeps.resume import first_new_number, planned_dir

    if planned := planned_dir(overrides):
        return planned
    return default_job_dir(int(num) + first_new_number(), overrides)


def _output_subdir(overrides: str) -> str | None:
    from rnnlab.sweeps.resume import output_subdir

    return output_subdir(overrides)


def _job_log(output_dir: str, job_name: str, overrides: str) -> str:
    from rnnlab.sweeps.resume import log_file

    return log_file(output_dir, job_name, overrides)


# The resolvers conf/config.yaml names a job's dir, .hydra/ and log with: registered wherever configs are composed
# (rnnlab.conf imports this module).
for _name, _resolver in (
    ("rnnlab_job_dir", job_dir_name),
    ("rnnlab_output_subdir", _output_subdir),
    ("rnnlab_job_log", _job_log),
):
    if not OmegaConf.has_resolver(_name):
        OmegaConf.register_new_resolver(_name, _resolver)
