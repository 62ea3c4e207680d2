"""Checking a composed config: ``validate(cfg)`` runs every group's schema (rnnlab.config.schemas: types, ranges,
relations; for a user's own model or task, the schema made from its constructor) and raises a ConfigError naming
the first bad key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, MissingMandatoryValue, ValidationError

from rnnlab.config.build import locate, schema_of, takes_any_key, where
from rnnlab.config.schemas import (
    DEVICE_PATTERN,
    GROUP_SCHEMAS,
    GROUPS,
    ModelBudgetSchema,
    RunSchema,
    StudySchema,
    TrainerSchema,
)
from rnnlab.config.task_schemas import TaskSchema
from rnnlab.errors import ConfigError, require, show

MAX_SEED = 2**63 - 1  # torch.manual_seed and torch.Generator take 64-bit seeds


@dataclass(frozen=True)
class Validated:
    """What validation leaves typed for the code after it (the trainer settings the loop reads)."""

    trainer: TrainerSchema


def validate(cfg: DictConfig) -> Validated:
    """Check ranges and relations of every group; raise ConfigError naming the first bad key."""
    if missing := [f.name for f in fields(RunSchema) if f.name not in cfg]:  # removed with ~key
        raise ConfigError(
            f"{missing[0]} cannot be removed (~{missing[0]}): every run needs it; set it instead, "
            f"e.g. {missing[0]}=<value>"
        )
    typed = {group: validate_group(cfg, group) for group in GROUPS}
    check_seed(cfg.seed)
    check_device(cfg.device)
    if "study" in cfg:  # (a config read back from a checkpoint of an older rnnlab has none)
        try:
            OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(StudySchema), cfg.study))
        except ConfigError as err:
            raise ConfigError(f"study.{err}") from None
    threads = cfg.threads
    require(
        threads == "auto" or (isinstance(threads, int) and not isinstance(threads, bool) and threads >= 1),
        "threads",
        threads,
        "auto or a number of threads >= 1",
    )
    trainer = typed["trainer"]
    assert isinstance(trainer, TrainerSchema)  # the trainer group's schema, found by its keys where it had none
    return Validated(trainer)


def check_seed(seed: Any) -> None:
    require(
        isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed <= MAX_SEED,
        "seed",
        seed,
        f"an integer from 0 to {MAX_SEED} (2**63 - 1)",
    )


def check_device(name: Any) -> None:
    require(
        isinstance(name, str) and DEVICE_PATTERN.fullmatch(name) is not None,
        "device",
        name,
        "auto, cpu, cuda or cuda:N",
    )


def validate_group(cfg: DictConfig, group: str) -> Any:
    """Check one group's ranges and return it typed (its schema's dataclass; None for a node no schema fits). A
    node that lost its schema (a config read back from a checkpoint) is checked against the schema whose _target_
    it names."""
    node = cfg[group]
    if OmegaConf.get_type(node) is dict:
        if (schema := schema_for(group, node.get("_target_"), {str(k) for k in node})) is None:
            return None
        if group in SUPPLIED and takes_any_key(locate(node.get("_target_"), group)):  # its **kwargs take the rest
            known = {f.name for f in fields(schema)}
            node = OmegaConf.masked_copy(node, [k for k in node if k in known])
        try:
            node = OmegaConf.merge(OmegaConf.structured(schema), node)
        except ValidationError as err:  # a value of the wrong type, e.g. task.test_lengths=abc, model.sizes=[4,abc]
            value = getattr(err, "value", None)
            path = str(getattr(err, "full_key", None) or err.key)
            raise ConfigError(f"{group}.{path}={show(value)} is not allowed: {expected_type(str(err.msg))}") from None
        except ConfigKeyError as err:  # a key the class does not take (its yaml names a parameter it lacks)
            names = [f.name for f in fields(schema) if not f.name.startswith("_")]
            raise ConfigError(
                f"{group}.{err.key} is not a key of {group} ({node.get('_target_')} takes {', '.join(names) or 'none'})"
            ) from None
    schema = OmegaConf.get_type(node)
    if is_dataclass(schema):  # a key added with +key=value that no schema knows would be silently ignored
        names = [f.name for f in fields(schema) if not f.name.startswith("_")]
        if unknown := [k for k in node if k not in names and not str(k).startswith("_")]:
            raise ConfigError(f"{group}.{unknown[0]} is not a key of {group}: choose one of {', '.join(names)}")
    try:
        return OmegaConf.to_object(node)
    except ConfigError as err:
        raise ConfigError(f"{group}.{err}") from None
    except MissingMandatoryValue as err:  # a constructor parameter without a default, which the yaml does not set
        target = str(node.get("_target_", ""))
        raise ConfigError(
            f"{group}.{err.key} is required: {target.rsplit('.', 1)[-1]}.__init__ in {where(target)} "
            f"gives it no default; set +{group}.{err.key}=<value>, or add it to the yaml"
        ) from None


# What rnnlab passes to the constructors of a group itself (not config keys), and the schema whose checks a class
# without a schema of its own still gets.
SUPPLIED = {"model": ("input_size", "output_size", "per_step", "sequence_steps"), "task": ()}
BASES = {"task": TaskSchema, "model": ModelBudgetSchema}
TASK_BASE = "rnnlab.tasks.base.Task"  # by name: tasks sit above this layer


def _schema_by_keys(group: str, keys: frozenset[str] | set[str]) -> type | None:
    fitting = [s for s in GROUP_SCHEMAS[group].values() if keys <= {f.name for f in fields(s)}]
    return min(fitting, key=lambda s: len(fields(s)), default=None)  # the tightest fit


def schema_for(group: str, target: Any, keys: frozenset[str] | set[str] = frozenset()) -> type | None:
    """The schema of a node without one (a user's own yaml, or a config read back from a checkpoint): rnnlab's own
    for its classes; for a user's model or task, one made from the class's constructor (config.build.schema_of)."""
    if own := next((s for s in GROUP_SCHEMAS[group].values() if getattr(s, "_target_", None) == target), None):
        return own
    if group not in SUPPLIED:  # (logger=none, an optimizer): the schema whose keys the node has
        return _schema_by_keys(group, keys)
    cls = locate(target, group)
    if group == "task" and TASK_BASE not in (f"{k.__module__}.{k.__qualname__}" for k in cls.__mro__):
        raise ConfigError(
            f"task {target} ({where(target)}) does not subclass rnnlab.Task: write class "
            f"{cls.__name__}(rnnlab.Task) (docs/extending.md)"
        )
    return schema_of(cls, SUPPLIED[group], BASES.get(group))


def expected_type(message: str) -> str:
    """OmegaConf's type messages, said as what the key takes."""
    if match := re.search(r"could not be converted to (\w+)", message):
        kind = match.group(1).lower()
        return f"expected {'an' if kind[0] in 'aeiou' else 'a'} {kind}"
    if "not a valid bool" in message:
        return "expected true or false"
    if "is not a ListConfig, list or tuple" in message:
        return "expected a list, e.g. [1,20]"
    return message
