"""`rnnlab --help`: Hydra's help text (its template, the groups a user picks from, the composed config), answered
from one config repository.
"""

from __future__ import annotations

from hydra import compose
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig

NOT_PICKED = (
    "schema",
    "task_defaults",
    "task_model_defaults",
)  # groups rnnlab composes itself: a user picks none of their options


LISTED_HYDRA = ("hydra/launcher",)  # Hydra's groups a user picks as often as rnnlab's: where a sweep's jobs run
KEYS_OF = ("model", "task")  # groups whose keys --help explains: type, value, and the comment beside each


def key_lines(cfg, group: str, config_dir: str | None) -> list[str]:
    """'  hidden_size: int = 64    the width of each layer' for each key of the group's chosen option: the type from
    its schema (or its class's constructor), the value composed, the comment beside the key in its yaml file."""
    import re
    from dataclasses import fields

    from rnnlab.config.compose import config_file
    from rnnlab.config.validate import schema_for
    from rnnlab.errors import ConfigError

    node, choice = cfg[group], cfg.hydra.runtime.choices.get(group)
    try:
        schema = schema_for(group, node.get("_target_"), {str(k) for k in node})
    except ConfigError:
        schema = None
    types = (
        {
            f.name: (f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type)))
            for f in fields(schema)
        }
        if schema
        else {}
    )
    found = config_file(f"{group}/{choice}.yaml", config_dir)
    text = found[1] if found else ""
    comments = {m.group(1): m.group(2).strip() for m in re.finditer(r"^(\w+):[^#\n]*#(.*)$", text, re.M)}
    lines = [f"{group}={choice} ({node.get('_target_')}):"]
    for key, value in node.items():
        if str(key).startswith("_"):
            continue
        head = f"  {key}: {types.get(key, '?')} = {value}"
        lines.append(f"{head:<44} {comments[key]}" if key in comments else head)
    return lines


def app_help(config_name: str, overrides: list[str], resolve: bool, config_dir: str | None = None) -> str:
    """What Hydra prints for --help (the hydra.help template, its groups, the composed config), listing the groups
    from one config repository. Hydra's own --help deep-copies the repository for each of the ~140 group lookups:
    5.2 s on a Zen 1 EPYC, against 1 s this way."""
    import string

    from hydra.core.object_type import ObjectType
    from omegaconf import OmegaConf, open_dict

    from rnnlab.config.hydra_internals import Hydra, get_args_parser

    cfg = compose(config_name, overrides=overrides, return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)  # --resolve: ${hydra:...} resolves as in a run
    template = cfg.hydra.help.template
    repository = GlobalHydra.instance().config_loader().repository  # type: ignore[attr-defined]  # read only

    def groups(parent: str = ""):  # (group, its options) for every group that has options, as Hydra walks them
        for name in repository.get_group_options(parent, ObjectType.GROUP):
            group = f"{parent}/{name}" if parent else name
            if options := repository.get_group_options(group, ObjectType.CONFIG):
                yield group, sorted(options)
            yield from groups(group)

    options = dict(groups())

    from rnnlab.cli.plugins import SUPPORTED_CHOICES

    options["hydra/launcher"] = [o for o in options.get("hydra/launcher", []) if o in SUPPORTED_CHOICES["launcher"]]

    def listing(wanted) -> str:
        return "".join(f"{group}: {', '.join(options[group])}\n" for group in sorted(filter(wanted, options)))

    def is_hydra(group: str) -> bool:
        return group == "hydra" or group.startswith("hydra/")

    keys = [line for group in KEYS_OF for line in ["", *key_lines(cfg, group, config_dir)]]
    with open_dict(cfg):
        del cfg["hydra"]
    picked = listing(lambda group: (not is_hydra(group) and not group.startswith(NOT_PICKED)) or group in LISTED_HYDRA)
    return string.Template(template).substitute(
        FLAGS_HELP=Hydra.format_args_help(get_args_parser()),
        HYDRA_CONFIG_GROUPS=listing(is_hydra),
        APP_CONFIG_GROUPS=picked + "\n".join(keys) + "\n",
        CONFIG=OmegaConf.to_yaml(cfg, resolve=resolve),
    )
