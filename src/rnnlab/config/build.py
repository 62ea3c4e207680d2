"""The one mechanism that turns config into objects: a node's ``_target_`` names a class, ``build(node)`` makes it
with the node's keys (``hydra.utils.instantiate``). rnnlab's own models and tasks and a user's, from a module of
their own, take this same path:

    # my_cells.py, in the directory the command starts in (or on PYTHONPATH)
    class IndRNN(nn.Module):
        def __init__(self, input_size, output_size, per_step, hidden_size: int = 64): ...
    # my_conf/model/indrnn.yaml
    _target_: my_cells.IndRNN
    hidden_size: 64

    rnnlab --config-dir my_conf model=indrnn model.hidden_size=128

A class without a schema of its own gets one from its constructor (``schema_of``): each parameter's annotation
(or its default's type) is the key's type, so ``model.hidden_size=abc`` is refused as for a built-in model. A
module that does not import, a target that is not a class, or a constructor that raises is one ConfigError
naming the file and what is wrong.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib
import importlib.util
import inspect
import os
import sys
import typing
from pathlib import Path
from typing import Any, Optional

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import MISSING, DictConfig, OmegaConf

from rnnlab.errors import USER_CODE_ERRORS, ConfigError, explain

OWN = "rnnlab."  # classes of rnnlab itself: an error inside one is a bug, shown with its traceback
# What OmegaConf can type-check; other annotations (unions, callables) become Any.
PLAIN_TYPES = (int, float, bool, str)


def start_dir() -> str:
    """Where the command was started: a user's module there is importable, as `python -m` would make it. (Inside a
    Hydra job with hydra.job.chdir=true the process works in the run dir; Hydra remembers the start.)"""
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized() and HydraConfig.get().job.chdir:
        return HydraConfig.get().runtime.cwd
    return os.getcwd()


def _importable_from_start_dir() -> None:
    here = start_dir()
    if here not in sys.path:
        sys.path.append(here)  # after the installed packages: a user's file never hides torch or rnnlab


def where(target: str) -> str:
    """The file a target's module lives in, for messages; the dotted name where it cannot be found."""
    module = target.rpartition(".")[0]
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin or spec.origin in ("frozen", "built-in"):  # os, sys: no file to name
        return module
    return str(Path(spec.origin))


def locate(target: Any, group: str) -> type:
    """The class a node's _target_ names; one ConfigError line when it cannot be had."""
    if not isinstance(target, str) or "." not in target:
        raise ConfigError(f"{group}._target_={target} is not allowed: give module.Class, e.g. my_cells.IndRNN")
    _importable_from_start_dir()
    module_name, _, name = target.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as err:
        raise ConfigError(f"{group}._target_={target}: {err.filename}:{err.lineno}: {err.msg}") from None
    except ModuleNotFoundError as err:
        if err.name and (module_name == err.name or module_name.startswith(err.name + ".")):  # the target's own
            raise ConfigError(
                f"{group}._target_={target}: no module {err.name} in {start_dir()} or on PYTHONPATH "
                "(run the command from the directory that holds it, or add it to PYTHONPATH)"
            ) from None
        raise ConfigError(f"{group}._target_={target}: importing {module_name} failed: {err}") from None
    except USER_CODE_ERRORS as err:  # the user's module raised (or exited) while it was imported
        raise ConfigError(f"{group}._target_={target}: importing {where(target)} failed: {explain(err)}") from None
    found = getattr(module, name, None)
    if found is None:
        raise ConfigError(f"{group}._target_={target}: {where(target)} has no {name}")
    if not inspect.isclass(found):
        raise ConfigError(f"{group}._target_={target}: {name} in {where(target)} is not a class")
    return found


def _key_type(annotation: Any, default: Any) -> Any:
    if annotation in PLAIN_TYPES:
        return annotation
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union and len(args) == 2 and type(None) in args:  # Optional[int]
        inner = next(a for a in args if a is not type(None))
        # a type made at run time, for OmegaConf (which reads typing's Optional)
        return Optional[inner] if inner in PLAIN_TYPES else Any  # noqa: UP045
    if origin is list and len(args) == 1 and args[0] in PLAIN_TYPES:
        return list[args[0]]  # type: ignore[valid-type]
    if (annotation is inspect.Parameter.empty or isinstance(annotation, str)) and isinstance(default, PLAIN_TYPES):
        return type(default)
    return Any


def _type_hints(function) -> dict[str, Any]:
    """The annotations as types; {} where one cannot be resolved (a name imported under TYPE_CHECKING only): the
    keys are then typed from their defaults."""
    try:
        return typing.get_type_hints(function)
    except Exception:
        return {}


def constructor_parameters(cls: type) -> list[inspect.Parameter]:
    """The keyword parameters a class takes, its bases' too where its constructor passes **kwargs on."""
    found: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        if "__init__" not in vars(klass) or klass is object:
            continue
        init = vars(klass)["__init__"]  # this class's own constructor
        signature = inspect.signature(init)
        hints = _type_hints(init)
        passes_on = False
        for p in list(signature.parameters.values())[1:]:
            if p.kind == p.VAR_KEYWORD:
                passes_on = True
            elif p.kind != p.VAR_POSITIONAL and p.name not in found:
                found[p.name] = p.replace(annotation=hints.get(p.name, p.annotation))
        if not passes_on:
            break
    return list(found.values())


def takes_any_key(cls: type) -> bool:
    """A user's class whose own constructor takes **kwargs: keys its yaml names beyond its parameters pass through to
    it unchecked (rnnlab's own classes pass theirs on to a known base, whose keys are checked)."""
    if cls.__module__.startswith((OWN, "torch.")) or "__init__" not in vars(cls):
        return False
    return any(p.kind == p.VAR_KEYWORD for p in inspect.signature(vars(cls)["__init__"]).parameters.values())


def schema_of(cls: type, supplied: tuple[str, ...] = (), base: type | None = None) -> type:
    """A dataclass of the config keys a class takes: its constructor's parameters less those rnnlab supplies
    (`supplied`: a model's input_size, output_size, per_step ...). `base`, a schema dataclass, adds its checks."""
    inherited = {f.name for f in dataclasses.fields(base)} if base else set()
    specs: list[tuple[str, Any, Any]] = [
        ("_target_", str, dataclasses.field(default=f"{cls.__module__}.{cls.__qualname__}"))
    ]
    # behind a user's **kwargs, a base's parameter without a default may be the subclass's to supply: not required
    own = set(inspect.signature(vars(cls)["__init__"]).parameters) if takes_any_key(cls) else None
    for p in constructor_parameters(cls):
        if p.name in supplied:
            continue
        default = MISSING if p.default is inspect.Parameter.empty else p.default
        if own is not None and p.name not in own and default is MISSING:
            specs.append((p.name, Any, None))
            continue
        if p.name in inherited and default is MISSING:
            continue  # the base schema types it
        if isinstance(default, (list, dict)):
            default = dataclasses.field(default_factory=functools.partial(copy.copy, default))
        specs.append((p.name, _key_type(p.annotation, p.default), default))
    return dataclasses.make_dataclass(f"{cls.__name__}Config", specs, bases=(base,) if base else ())


def accepted(cls: type, offered: dict[str, Any], always: tuple[str, ...]) -> dict[str, Any]:
    """What a constructor is given of what rnnlab offers: the `always` keys, and the others it declares."""
    names = {p.name for p in constructor_parameters(cls)}
    return {k: v for k, v in offered.items() if k in always or k in names}


# Keys rnnlab reads from a node itself and never gives its class: a model's parameter budget (runner/width.py sets
# the width from it).
READ_BY_RNNLAB = ("params",)


def build(node: DictConfig, **kwargs: Any) -> Any:
    """Instantiate ``node`` through its ``_target_``. A ConfigError raised inside comes out as itself; any other
    error in a user's class is one ConfigError naming it and its file (in rnnlab's own classes it is a bug)."""
    _importable_from_start_dir()
    if any(key in node for key in READ_BY_RNNLAB):
        node = OmegaConf.masked_copy(node, [str(k) for k in node if k not in READ_BY_RNNLAB])
    try:
        return instantiate(node, _convert_="all", **kwargs)
    except SystemExit as err:  # Hydra wraps Exceptions only
        target = str(node.get("_target_", ""))
        raise ConfigError(f"{target}(...) in {where(target)} failed: {explain(err)}") from None
    except InstantiationException as err:
        cause = err.__cause__
        if isinstance(cause, ConfigError):
            raise cause from None
        target = str(node.get("_target_", ""))
        if target.startswith(OWN) or cause is None:
            raise
        raise ConfigError(f"{target}(...) in {where(target)} failed: {type(cause).__name__}: {cause}") from None
