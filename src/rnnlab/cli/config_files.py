"""What a user's config files can get wrong, said in one line: a file that is not YAML, one that rnnlab's own
shadows, an option whose file sits in ./conf unlooked-for, a key that a recipe file (not the command line) set.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import yaml
from omegaconf import DictConfig

from rnnlab.config.compose import RECIPE_GROUPS, config_file
from rnnlab.errors import ConfigError


@contextlib.contextmanager
def naming_the_recipe(cfg: DictConfig, config_dir: str | None):
    """A key refused by validation ('model.forget_bias is not a key') that a recipe file of this composition sets is
    said to come from that file: the user did not type it."""
    try:
        yield
    except ConfigError as err:
        key = re.match(r"(\w+(?:\.\w+)+)", str(err))
        found = _recipe_setting(cfg, config_dir, key.group(1)) if key else None
        raise ConfigError(f"{err} (set by {found}, a recipe for this task and model)" if found else str(err)) from None


def _recipe_setting(cfg: DictConfig, config_dir: str | None, key: str) -> str | None:
    """The recipe file (conf/task_model_defaults/<task>_<model>.yaml, in the user's dir or rnnlab's) that sets key."""
    for group in RECIPE_GROUPS:
        found = config_file(f"{group}/{cfg.hydra.runtime.choices.get(group)}.yaml", config_dir)
        node: object = yaml.safe_load(found[1]) or {} if found else None
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if found is not None and node is not None:
            return found[0]
    return None


def hint_config_dir(group: str, option: str) -> str:
    """Where the option's file sits in the current dir but was not looked for: how to make rnnlab look."""
    if (Path("conf") / group / f"{option}.yaml").is_file():
        return f" (conf/{group}/{option}.yaml is here: add --config-dir conf)"
    if Path(f"{option}.yaml").is_file():
        return f" ({option}.yaml is here: move it to conf/{group}/{option}.yaml and add --config-dir conf)"
    return ""


def yaml_error(err: yaml.YAMLError) -> str:
    """'conf/model/bad.yaml, line 2, column 7: expected ',' or ']', but got '<stream end>''."""
    mark = getattr(err, "problem_mark", None)
    where = f"{mark.name}, line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "a config file"
    return f"{where} is not valid YAML: {getattr(err, 'problem', None) or err}"


def check_shadowed(config_dir: str | None, configs: list[DictConfig]) -> None:
    """A file of the user's --config-dir named like one of rnnlab's (model/lstm.yaml) is never read: Hydra looks in
    rnnlab's own configs first. Where the command uses such an option, say so instead of running rnnlab's."""
    if config_dir is None:
        return
    from importlib import resources

    own, theirs = resources.files("rnnlab.conf"), Path(config_dir)
    for group, option in configs[0].hydra.runtime.choices.items():
        relative = f"{group}/{option}.yaml"
        if option and (theirs / relative).is_file() and own.joinpath(relative).is_file():
            raise ConfigError(
                f"{theirs / relative} is shadowed by rnnlab's own {group}={option} (Hydra reads "
                f"rnnlab's first): rename yours, e.g. {theirs / group / f'my_{option}.yaml'}, and pick "
                f"{group}=my_{option}"
            )
