"""The jobs of a sweep: their overrides as Hydra's basic sweeper makes them, and their configs, each distinct set of
group choices composed once.

Composing is nearly all the time it takes to check a sweep before it starts: 0.33 s a job on a Zen 1 EPYC, where
Hydra builds the defaults list and loads and merges every YAML file of it. The value overrides of a job
(model.hidden_size=5) play no part in that: Hydra applies them last, to the finished config. So jobs that make the
same group choices (model=lstm, task=mnist) and the same hydra settings are composed once, and each job's values
are applied to a copy with Hydra's own function, in Hydra's order. An override is a value override exactly when
Hydra treats it as one (Hydra's defaults_list.py, Overrides): its key is not a config group, or its value
is a dict.

    jobs = expand_jobs(["model=rnn,lstm", "model.hidden_size=2,5"])   # [["model=rnn", "model.hidden_size=2"], ...]
    configs = compose_jobs("config", jobs)    # == [compose("config", overrides=job) for job in jobs]
"""

from __future__ import annotations

import copy
import itertools

from hydra import compose
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import DictConfig

from rnnlab.config.hydra_internals import ConfigLoaderImpl

MAX_CHECKED_COMBINATIONS = 256  # a bigger sweep has its first 256 jobs checked up front


def as_typed(override: Override) -> str:
    """An override as the command line gave it (key=value). Hydra types the line optional; a parsed one has it."""
    assert override.input_line is not None
    return override.input_line


def expand_jobs(overrides: list[str], config_loader=None) -> list[list[str]]:
    """The override lists of every job a (multi)run would start, as Hydra's basic sweeper makes them (a key given
    twice keeps its first place and its last value); interval sweeps (Optuna) are left out. A glob(...) sweep over
    a group's options needs the config loader that knows them."""
    choices: dict[str, list[str]] = {}
    for override in OverridesParser.create(config_loader).parse_overrides(overrides):
        key = override.get_key_element()
        if override.is_sweep_override() and not override.is_interval_sweep():
            choices[key] = [f"{key}={value}" for value in override.sweep_string_iterator()]
        elif not override.is_sweep_override():
            choices[key] = [as_typed(override)]
    return [list(c) for c in itertools.islice(itertools.product(*choices.values()), MAX_CHECKED_COMBINATIONS)]


def sweeps_a_grid(cfg: DictConfig) -> bool:
    """Whether the sweeper is the basic one (Hydra's or rnnlab's, hydra_plugins/rnnlab_basic): a grid of the listed
    values, not a search that samples."""
    return cfg.hydra.sweeper._target_.endswith("BasicSweeper")


def swept_by_the_config(cfg: DictConfig) -> list[str]:
    """An experiment's hydra.sweeper.params as overrides (key=a,b,c), which the basic sweeper sweeps before the
    command line's; [] for another sweeper (Optuna samples its params itself)."""
    if not sweeps_a_grid(cfg) or not cfg.hydra.sweeper.get("params"):
        return []
    return [f"{key}={value}" for key, value in cfg.hydra.sweeper.params.items()]


def compose_jobs(config_name: str, jobs: list[list[str]]) -> list[DictConfig]:
    """compose(config_name, overrides=job) for each job, without the hydra node; raises what compose raises, at
    the first job that has the mistake. Needs an initialized Hydra (initialize_config_module)."""
    loader = GlobalHydra.instance().config_loader()
    parser = OverridesParser.create(loader)
    composed: dict[tuple[str, ...], DictConfig] = {}
    configs = []
    for job in jobs:
        choices, values = [], []
        for override in parser.parse_overrides(job):
            if _is_value(override, loader.repository):  # type: ignore[attr-defined]  # ConfigLoaderImpl's
                values.append(override)
            else:
                choices.append(as_typed(override))
        key = tuple(choices)
        if key not in composed:
            composed[key] = compose(config_name, overrides=choices)
        cfg = copy.deepcopy(composed[key])
        ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
        configs.append(cfg)
    return configs


def _is_value(override: Override, repository) -> bool:
    # A hydra setting (hydra.job.chdir=true) is a value to Hydra too, but it sets the hydra node, which a config
    # without one lacks: it stays with the choices.
    if override.is_hydra_override():
        return False
    return isinstance(override.value(), dict) or not repository.group_exists(override.key_or_group)
