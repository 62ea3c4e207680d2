"""Launchers and sweepers that come with extras (ray, slurm, optuna): installed or named in one line, and ours
registered with Hydra.
"""

from __future__ import annotations

import importlib

from omegaconf import DictConfig

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


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


# The launchers and sweepers rnnlab is tested with, by class; others that installed plugins list (ray_aws) are refused.
SUPPORTED = {"launcher": {"BasicLauncher", "JoblibLauncher", "RayLauncher", "LocalLauncher", "SlurmLauncher"},
             "sweeper": {"BasicSweeper", "OptunaSweeper", "ResumableOptunaSweeper"}}
SUPPORTED_CHOICES = {"launcher": ["basic", "joblib", "ray", "slurm", "submitit_local", "submitit_slurm"],
                     "sweeper": ["basic", "optuna", "resumable_optuna"]}


def _check_plugins(cfg: DictConfig) -> None:
    """The launcher and sweeper picked must be installed (ray, submitit, optuna come with extras)."""
    for kind in ("launcher", "sweeper"):
        module = cfg.hydra[kind]._target_.rsplit(".", 1)[0]
        package = ".".join(module.split(".")[:2])
        if package in EXTRAS and not _installed(module):
            choice = cfg.hydra.runtime.choices.get(f"hydra/{kind}", kind)
            raise ConfigError(f"hydra/{kind}={choice} needs the {EXTRAS[package]} extra: "
                              f"pip install 'rnnlab[{EXTRAS[package]}]'")
        if cfg.hydra[kind]._target_.rsplit(".", 1)[-1] not in SUPPORTED[kind]:
            choice = cfg.hydra.runtime.choices.get(f"hydra/{kind}", kind)
            raise ConfigError(f"hydra/{kind}={choice} is not one rnnlab runs its jobs with (an installed plugin offers "
                              f"it): choose one of {', '.join(SUPPORTED_CHOICES[kind])}")


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
