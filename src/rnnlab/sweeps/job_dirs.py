"""How a sweep job's dir is named: its number, then what varied in it (3_model=lstm,model.hidden_size=5), path-safe
and length-capped; and the Hydra key the rnnlab command sets to leave what every job shares out of that name.
"""

from __future__ import annotations

import copy
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf, open_dict

from rnnlab.config.hydra_internals import get_overrides_dirname
from rnnlab.errors import ConfigError
from rnnlab.sweeps.compose_jobs import as_typed

MAX_DIR_NAME = 200  # bytes; file systems allow 255 for one path component


def default_job_dir(num: int, overrides: str) -> str:
    name = f"{num}_{overrides.replace('/', '_')}" if overrides else str(num)
    encoded = name.encode()
    return name if len(encoded) <= MAX_DIR_NAME else encoded[:MAX_DIR_NAME].decode(errors="ignore") + "…"


NAMING_KEY = "hydra.job.config.override_dirname.exclude_keys"


def naming_exclusions(overrides: list[str], first: DictConfig) -> list[str]:
    """The keys left out of job dir names: the config's, plus every key the command line sets to one value for all
    jobs (a user's own hydra.job.config.override_dirname.exclude_keys wins)."""
    parsed = OverridesParser.create().parse_overrides(overrides)
    if given := next((o for o in parsed if o.key_or_group == NAMING_KEY), None):
        return list(given.value())  # type: ignore[arg-type]  # the key's value is a list of keys
    shared = [o.key_or_group for o in parsed if not o.is_sweep_override() and not o.is_hydra_override()]
    return list(first.hydra.job.config.override_dirname.exclude_keys) + shared


class _SubdirProbe:
    """hydra.sweep.subdir as it resolves for a job: a copy of the first job's config (with its hydra node) given
    each job's values, number and name in turn."""

    def __init__(self, first: DictConfig) -> None:
        self.written = first.hydra.sweep._get_node("subdir")._value()  # as the user wrote it, for messages
        self.config = copy.deepcopy(first)
        for node in (self.config, self.config.hydra, self.config.hydra.job):
            OmegaConf.set_readonly(node, False)  # Hydra makes its node read-only

    def resolve(self, num: int, override_dirname: str, cfg: DictConfig | None = None) -> str:
        with open_dict(self.config):
            for key, value in (cfg or {}).items():
                if key != "hydra":  # the first job's own config carries it
                    self.config[key] = value
            self.config.hydra.job.num, self.config.hydra.job.override_dirname = num, override_dirname
        return str(self.config.hydra.sweep.subdir)


def check_job_dirs(first: DictConfig, configs: list[DictConfig], jobs: list[list[str]], exclude: list[str]) -> None:
    """One job, one dir: two jobs with the same settings, or two whose hydra.sweep.subdir resolves to one dir, are
    refused before the sweep starts (the second would write over the first's report and checkpoints)."""
    naming = first.hydra.job.config.override_dirname
    parser = OverridesParser.create()
    probe = _SubdirProbe(first)
    seen: dict[tuple[str, ...], int] = {}
    dirs: dict[str, int] = {}
    for num, (cfg, job) in enumerate(zip(configs, jobs)):
        task = [o for o in parser.parse_overrides(job) if not o.is_hydra_override()]
        settings = tuple(sorted(as_typed(o) for o in task))
        if settings in seen:
            raise ConfigError(
                f"jobs {seen[settings]} and {num} of this sweep are the same run "
                f"({', '.join(settings) or 'no overrides'}): a value is listed twice; list each once "
                "(repeats of one setting differ by seed: seed=0,1,2)"
            )
        seen[settings] = num
        subdir = probe.resolve(num, get_overrides_dirname(task, exclude, naming.item_sep, naming.kv_sep), cfg)
        if subdir in dirs:
            raise ConfigError(
                f"jobs {dirs[subdir]} and {num} of this sweep would both write "
                f"{Path(first.hydra.sweep.dir).absolute() / subdir} (hydra.sweep.subdir={probe.written}): "
                "give each job its own dir, e.g. leave hydra.sweep.subdir as it is"
            )
        dirs[subdir] = num


def check_sampled_job_dirs(first: DictConfig) -> None:
    """A search (Optuna) makes its jobs as it goes: its subdir must at least tell two jobs apart by number or name."""
    probe = _SubdirProbe(first)
    if probe.resolve(0, "a=1") == probe.resolve(1, "a=2"):
        raise ConfigError(
            f"hydra.sweep.subdir={probe.written} gives every job of the search one dir: include "
            "${hydra.job.num}, or leave hydra.sweep.subdir as it is"
        )
