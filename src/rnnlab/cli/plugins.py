"""Launchers and sweepers that come with extras (ray, slurm, optuna): installed or named in one line, and ours
registered with Hydra.
"""

from __future__ import annotations

import importlib

from omegaconf import DictConfig, OmegaConf

from rnnlab.errors import ConfigError

# Launchers and sweepers that come with an extra, by the module their config's _target_ lives in.
EXTRAS = {
    "hydra_plugins.hydra_ray_launcher": "ray",
    "hydra_plugins.hydra_submitit_launcher": "slurm",
    "hydra_plugins.hydra_optuna_sweeper": "optuna",
    "hydra_plugins.rnnlab_optuna": "optuna",
}


PLUGIN_OPTIONS = {  # options that exist only once their plugin is installed, with that plugin
    "hydra/launcher/submitit_local": "hydra_plugins.hydra_submitit_launcher",
    "hydra/launcher/submitit_slurm": "hydra_plugins.hydra_submitit_launcher",
    "hydra/sweeper/optuna": "hydra_plugins.hydra_optuna_sweeper",
}


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


# The launchers and sweepers rnnlab is tested with, by class; others that installed plugins list (ray_aws) are refused.
SUPPORTED = {
    "launcher": {"BasicLauncher", "JoblibLauncher", "RayLauncher", "LocalLauncher", "SlurmLauncher"},
    "sweeper": {"BasicSweeper", "OptunaSweeper", "ResumableOptunaSweeper"},
}
SUPPORTED_CHOICES = {
    "launcher": ["basic", "joblib", "ray", "slurm", "submitit_local", "submitit_slurm"],
    "sweeper": ["basic", "optuna", "resumable_optuna"],
}


def _count(minimum: int, optional: bool = False):
    def ok(value) -> bool:
        if value is None:
            return optional
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= minimum

    return ok


# The launcher settings whose range Hydra's plugins check only when the sweep launches (after multirun.yaml is
# written): checked up front with the rest.
LAUNCHER_RANGES = {
    "n_jobs": (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v != 0,
        "a number of processes (-1: one per core), not 0",
    ),
    "ray.init.num_cpus": (_count(1, optional=True), "a number of CPUs >= 1, or null"),
    "ray.init.num_gpus": (_count(0, optional=True), "a number of GPUs >= 0, or null"),
    "ray.remote.num_cpus": (_count(0), "CPUs per job >= 0"),
    "ray.remote.num_gpus": (_count(0), "GPUs per job >= 0"),
    "timeout_min": (_count(1), "minutes >= 1"),
    "cpus_per_task": (_count(1, optional=True), "CPUs >= 1, or null"),
    "gpus_per_node": (_count(0, optional=True), "GPUs >= 0, or null"),
    "tasks_per_node": (_count(1), "an integer >= 1"),
    "nodes": (_count(1), "an integer >= 1"),
    "mem_gb": (_count(0, optional=True), "GB >= 0, or null"),
    "array_parallelism": (_count(1), "an integer >= 1"),
}
ABSENT = object()


SWEEPER_RANGES = {  # Optuna's: how many trials, how many at once, the share that may fail
    "n_trials": (_count(1), "an integer >= 1"),
    "n_jobs": (_count(1), "an integer >= 1"),
    "max_failure_rate": (lambda v: isinstance(v, (int, float)) and 0 <= v <= 1, "a fraction, 0..1"),
}


def _check_launcher(cfg: DictConfig) -> None:
    for kind, ranges in (("launcher", LAUNCHER_RANGES), ("sweeper", SWEEPER_RANGES)):
        if kind == "sweeper" and cfg.hydra.sweeper._target_.endswith("BasicSweeper"):
            continue  # the grid sweeper has none of these
        for key, (ok, allowed) in ranges.items():
            value = OmegaConf.select(cfg.hydra[kind], key, default=ABSENT)
            if value is not ABSENT and not ok(value):
                raise ConfigError(f"hydra.{kind}.{key}={value} is not allowed: {allowed}")


def check_plugins(cfg: DictConfig) -> None:
    """The launcher and sweeper picked must be installed (ray, submitit, optuna come with extras)."""
    for kind in ("launcher", "sweeper"):
        module = cfg.hydra[kind]._target_.rsplit(".", 1)[0]
        package = ".".join(module.split(".")[:2])
        if package in EXTRAS and not installed(module):
            choice = cfg.hydra.runtime.choices.get(f"hydra/{kind}", kind)
            raise ConfigError(
                f"hydra/{kind}={choice} needs the {EXTRAS[package]} extra: pip install 'rnnlab[{EXTRAS[package]}]'"
            )
        if cfg.hydra[kind]._target_.rsplit(".", 1)[-1] not in SUPPORTED[kind]:
            choice = cfg.hydra.runtime.choices.get(f"hydra/{kind}", kind)
            raise ConfigError(
                f"hydra/{kind}={choice} is not one rnnlab runs its jobs with (an installed plugin offers "
                f"it): choose one of {', '.join(SUPPORTED_CHOICES[kind])}"
            )
    _check_launcher(cfg)


def register_plugins() -> None:
    """Hydra finds plugins by scanning hydra_plugins/ on disk, which misses ours in an editable install."""
    from hydra.core.plugins import Plugins

    from hydra_plugins.rnnlab_basic.basic_sweeper import BasicSweeper

    Plugins.instance().register(BasicSweeper)
    try:
        from hydra_plugins.rnnlab_optuna.resumable_optuna_sweeper import (
            ResumableOptunaSweeper,
        )
    except ImportError:  # no optuna extra
        return
    Plugins.instance().register(ResumableOptunaSweeper)
