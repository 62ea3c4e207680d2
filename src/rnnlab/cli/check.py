"""The command line, checked before anything runs: every job a (multi)run asks for is composed and validated,
its launcher and sweeper must be installed, its output dir creatable and free (src/rnnlab/sweeps/run_dirs.py); then,
with torch, its device, combinations, data files and memory (every job built on the meta device). A mistake is one
line on stderr and exit code 2, with nothing written: no run dir, no log, no report (HYDRA_FULL_ERROR=1 shows the
traceback instead). Typos are found before torch is imported.

    first = check_command_line(sys.argv[1:])        # exits 2 at the first mistake; the first job's config
    argv = name_jobs_by_what_varies(argv, first)    # sweep job dirs named by what varied: 3_model=lstm
"""

from __future__ import annotations

import re
import sys
from dataclasses import fields, is_dataclass
from pathlib import Path

import yaml
from hydra import compose
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from rnnlab.cli.config_files import check_shadowed, hint_config_dir, naming_the_recipe, yaml_error
from rnnlab.cli.exits import fail, full_errors
from rnnlab.cli.help import app_help
from rnnlab.cli.plugins import EXTRAS, PLUGIN_OPTIONS, check_plugins, installed
from rnnlab.config.compose import rnnlab_configs
from rnnlab.config.hydra_internals import get_args_parser  # Hydra's own parser: argv as @hydra.main reads it
from rnnlab.config.validate import expected_type, validate
from rnnlab.errors import ConfigError
from rnnlab.files import require_last_checkpoint
from rnnlab.sweeps.compose_jobs import (
    compose_jobs,
    expand_jobs,
    sweeps_a_grid,
    swept_by_the_config,
)
from rnnlab.sweeps.job_dirs import (
    check_job_dirs,
    check_sampled_job_dirs,
    naming_exclusions,
)
from rnnlab.sweeps.run_dirs import check_creatable, output_dir, refuse_occupied


def explain(err: Exception, overrides: list[str]) -> str:
    """One line for a Hydra/OmegaConf composition error: the key, the bad value, what is allowed."""
    if isinstance(err, MissingConfigException) and err.missing_cfg_file:
        group, _, option = err.missing_cfg_file.rpartition("/")
        plugin = PLUGIN_OPTIONS.get(err.missing_cfg_file)
        if plugin and not installed(plugin):
            return f"{group}={option} needs the {EXTRAS[plugin]} extra: pip install 'rnnlab[{EXTRAS[plugin]}]'"
        allowed = ", ".join(err.options or []) or "none found"
        return f"{group}={option} is not an option: choose one of {allowed}{hint_config_dir(group, option)}"
    if isinstance(err, OverrideParseException):
        return f"cannot read the override '{err.override}': {err.message.splitlines()[0]}"
    cause = err.__cause__ if isinstance(err.__cause__, OmegaConfBaseException) else err
    key = getattr(cause, "full_key", None)
    lines = str(getattr(cause, "msg", None) or cause).splitlines() or [""]
    # "In 'task_defaults/mnist': ConfigKeyError raised while composing config:" says where; the next line says why
    message = f"{lines[0]} {lines[1]}" if lines[0].endswith(":") and len(lines) > 1 else lines[0]
    message = re.sub(r"\w+ raised while composing config: ", "", message)
    removed = [o[1:] for o in overrides if o.startswith("~")]
    # ~model also breaks the defaults list's ${task}_${model} (task_model_defaults) before any key is read
    key = key or next((r for r in removed if "${" + r + "}" in message), None)
    if key and key in removed:
        return f"{key} cannot be removed (~{key}): every run needs it; set it instead, e.g. {key}=<value>"
    if key and "not in" in message:
        schema = getattr(cause, "object_type", None)
        valid = [f.name for f in fields(schema) if not f.name.startswith("_")] if is_dataclass(schema) else []
        parent = getattr(cause, "parent_node", None)
        if not valid and isinstance(parent, DictConfig):  # a node without a schema: a user's model or task yaml
            valid = [str(k) for k in parent if not str(k).startswith("_")]
        group = key.rsplit(".", 1)[0]
        return f"{key} is not a key of {group}" + (f": choose one of {', '.join(valid)}" if valid else "")
    if key:
        name = key.split("[")[0]
        given = next(
            (o.split("=", 1)[1] for o in overrides if "=" in o and o.lstrip("+~").split("=", 1)[0] == name), None
        )
        allowed = expected_type(message)
        shown = f"{key.split('[')[0]}={given}" if given is not None else key
        return f"{shown} is not allowed: {allowed}"
    return message


class _Again(Exception):
    """The command line was corrected (a + added): check it again from the start."""


def constructor_key_override(err: Exception, overrides: list[str]) -> str | None:
    """The override (model.depth=3) that Hydra refused as not in the config, of a key the option's class takes in its
    constructor but its yaml leaves out; None for any other error."""
    cause = err.__cause__ if isinstance(err.__cause__, OmegaConfBaseException) else err
    key, parent = getattr(cause, "full_key", None), getattr(cause, "parent_node", None)
    if not key or not isinstance(parent, DictConfig) or "_target_" not in parent or "not in" not in str(cause):
        return None
    if str(parent.get("_target_")).startswith("rnnlab."):  # rnnlab's yamls list every key: a typo (and no torch)
        return None
    return _takes_but_not_listed(key, parent, overrides)


def _takes_but_not_listed(key: str, parent: DictConfig, overrides: list[str]) -> str | None:
    """The override (model.depth=3) of a key the node's class takes in its constructor but its yaml leaves out."""
    from rnnlab.config.build import constructor_parameters, locate

    try:
        takes = {p.name for p in constructor_parameters(locate(parent.get("_target_"), key.split(".")[0]))}
    except ConfigError:
        return None
    name = key.rsplit(".", 1)[-1]
    return next((o for o in overrides if o.split("=", 1)[0] == key), None) if name in takes else None


def _uncomposable(err: Exception) -> str:
    """One line for a merge OmegaConf gives up on with the built-in error it met (a dict merged into a None node,
    hydra.sweeper.params={...}), which neither it nor Hydra turns into a config error."""
    lines = str(err).splitlines() or [type(err).__name__]
    key = next((line.split(":", 1)[1].strip() for line in lines if line.strip().startswith("full_key:")), "")
    return f"the overrides cannot be merged into the config{f' at {key}' if key else ''}: {lines[0]}"


def _check_sweep_kinds(cfg: DictConfig, overrides: list[str]) -> None:
    """interval(...) is a range for a search to sample from: only a sweeper that samples (Optuna) takes it."""
    if sweeps_a_grid(cfg):
        for override in OverridesParser.create().parse_overrides(overrides):
            if override.is_interval_sweep():
                raise ConfigError(
                    f"{override.input_line}: an interval is a range for a search to sample from, which the basic "
                    "sweeper cannot do: list the values (key=1,2,4 or key=range(1,5)), or search with "
                    "hydra/sweeper=optuna or an hparams_search config"
                )


def _check_output_dir(cfg: DictConfig, multirun: bool) -> None:
    """The run (or sweep) dir must be creatable (sweeps.run_dirs.check_creatable)."""
    HydraConfig.instance().set_config(cfg)  # lets ${now:...} and ${hydra:...} in the dir resolve
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    check_creatable(Path(cfg.hydra.sweep.dir if multirun else cfg.hydra.run.dir).absolute(), key)


def _compose_every_job(
    config_name: str, overrides: list[str], multirun: bool
) -> tuple[list[DictConfig], list[list[str]]]:
    """Each job's config, the first with its hydra node (launcher, sweeper, output dir) for the checks after, and
    each job's overrides. A sweep's jobs are the sweeper's: an experiment's hydra.sweeper.params (found once it is
    composed) come first."""
    loader = GlobalHydra.instance().config_loader()
    jobs = expand_jobs(overrides, loader)
    try:
        first = compose(config_name, overrides=jobs[0], return_hydra_config=True)
        if multirun and (swept := swept_by_the_config(first)):
            jobs = expand_jobs([*swept, *overrides], loader)
            first = compose(config_name, overrides=jobs[0], return_hydra_config=True)
        return [first, *compose_jobs(config_name, jobs[1:])], jobs
    except (HydraException, OmegaConfBaseException):
        raise
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        raise ConfigError(_uncomposable(err)) from err


def _check_with_torch(configs: list[DictConfig]) -> list:
    """What needs torch, for every job: the device, combinations (loss x task, attention x task), a user's class
    against the protocol, the data files, whether the sizes fit in memory. A mistake found here still leaves
    nothing on disk. Returns each job's model on the meta device."""
    from rnnlab.runner.parts import build_parts, resolve_device

    models = []
    for cfg in configs:
        task, on_meta, _ = build_parts(cfg, resolve_device(cfg.device), weights=False)
        task.check_data()
        models.append(on_meta)
    return models


def _check_resume(first: DictConfig, configs: list[DictConfig], multirun: bool) -> None:
    """The torch checks of every job; for resume=true, first the checkpoint against the config (the same
    experiment), then its weights against the model built now: all before Hydra writes a file."""
    resumed: dict | None = None
    if first.resume and not multirun:
        require_last_checkpoint(output_dir(first, False))  # before torch loads: a typo'd dir is cheap
        from rnnlab.runner.parts import load_resume

        resumed = load_resume(first, output_dir(first, False))
    models = _check_with_torch(configs)
    if resumed is not None:
        from rnnlab.runner.parts import check_weights_fit

        check_weights_fit(models[0], resumed["model"], output_dir(first, False) / "last.pt")


def check_command_line(args: list[str], config_name: str = "config") -> DictConfig | None:
    """Compose and validate every job the command line asks for; exit 2 with one line at the first mistake.
    Returns the first job's config with its hydra node (None when Hydra answers the command itself). `args` is
    corrected in place where a key the option's class takes was given without the + its yaml needs
    (model.depth=3 -> +model.depth=3): the caller hands Hydra the corrected list."""

    parsed, _ = get_args_parser().parse_known_args(args)
    modes = [
        flag
        for flag, on in (
            ("--run", parsed.run),
            ("-m", parsed.multirun),
            ("--cfg", parsed.cfg),
            ("--info", parsed.info),
            ("--shell-completion", parsed.shell_completion),
        )
        if on
    ]
    if len(modes) > 1:  # Hydra would raise a ValueError for this
        fail(f"{' and '.join(modes)} cannot be combined: pick one (--cfg shows the config of one run)")
    if not parsed.help and (parsed.hydra_help or parsed.cfg or parsed.info or parsed.shell_completion):
        return None  # Hydra answers these itself
    try:
        with rnnlab_configs(parsed.config_dir):
            if parsed.help:  # before --cfg and the others, as in Hydra
                print(app_help(config_name, parsed.overrides, parsed.resolve, parsed.config_dir))
                sys.exit(0)
            # The cheap checks first, for every job: no torch import before a typo is found.
            try:
                configs, jobs = _compose_every_job(config_name, parsed.overrides, parsed.multirun)
            except (HydraException, OmegaConfBaseException) as err:
                if (plain := constructor_key_override(err, parsed.overrides)) is None:
                    raise
                args[args.index(plain)] = "+" + plain  # a key the class takes that its yaml leaves out: added
                raise _Again from None
            first = configs[0]
            check_shadowed(parsed.config_dir, configs)
            for cfg in configs:
                with naming_the_recipe(first if "hydra" not in cfg else cfg, parsed.config_dir):
                    validate(cfg)
            check_plugins(first)
            _check_sweep_kinds(first, [*swept_by_the_config(first), *parsed.overrides])
            _check_output_dir(first, parsed.multirun)
            refuse_occupied(first, parsed.multirun)
            if parsed.multirun and sweeps_a_grid(first):
                check_job_dirs(first, configs, jobs, naming_exclusions(parsed.overrides, first))
            elif parsed.multirun:
                check_sampled_job_dirs(first)
            _check_resume(first, configs, parsed.multirun)
            return first
    except _Again:  # after Hydra's set-up is taken down: the corrected command line checked from the start
        return check_command_line(args, config_name)
    except ConfigError as err:
        if full_errors():
            raise
        fail(str(err))
    except (HydraException, OmegaConfBaseException) as err:
        if full_errors():
            raise
        fail(explain(err, parsed.overrides))
    except yaml.YAMLError as err:  # a config file of the user's that is not YAML
        if full_errors():
            raise
        fail(yaml_error(err))
