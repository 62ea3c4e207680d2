"""Every use of Hydra's private API (`hydra._internal`) in rnnlab, behind this one door: the rest of the code imports
these names from here and Hydra's public API otherwise. Checked against hydra-core 1.3.2 to 1.3.8 (pyproject.toml
pins it below 1.4); tests/test_hydra_internals.py fails, naming the call, on a Hydra where one of them moved.

- `get_args_parser`: reads the command line as `@hydra.main` reads it (overrides, -m, --config-dir, --help ...),
  so rnnlab's up-front check (cli/check.py, cli/argv.py) and the sweep resume plan (sweeps/resume.py) see what
  Hydra will run.
- `Hydra`, `create_automatic_config_search_path`: Hydra set up for rnnlab's configs plus a user's --config-dir,
  where Hydra's own command line puts it (config/compose.py); `Hydra.format_args_help` prints the flags part of
  `--help` (cli/help.py).
- `get_overrides_dirname`: a sweep job's dir name, exactly as Hydra makes `hydra.job.override_dirname`
  (sweeps/job_dirs.py, sweeps/resume.py).
- `ConfigLoaderImpl`: composes one config per set of group choices and applies each job's value overrides to a
  copy, with Hydra's own functions (sweeps/compose_jobs.py).
- `mode_known`: Hydra's `get_mode` composes the whole config a second time (0.3-0.4 s of a 2-core machine) only to
  read `hydra.mode`; the up-front check has composed that config already and gives Hydra its value (cli/train.py).
- `BasicSweeper`: Hydra's grid (`split_arguments` makes a sweep's jobs in Hydra's order) and the base of rnnlab's
  basic sweeper (hydra_plugins/rnnlab_basic, sweeps/resume.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
from hydra._internal.hydra import Hydra
from hydra._internal.utils import create_automatic_config_search_path, get_args_parser

# and BasicSweeper, through __getattr__ below
__all__ = [
    "ConfigLoaderImpl",
    "Hydra",
    "create_automatic_config_search_path",
    "get_args_parser",
    "get_overrides_dirname",
    "mode_known",
]


@contextlib.contextmanager
def mode_known(mode: Any) -> Iterator[None]:
    """While inside, Hydra.get_mode answers `mode` (the composed config's hydra.mode) without composing it again."""
    original = Hydra.get_mode
    Hydra.get_mode = lambda self, config_name, overrides: mode  # type: ignore[method-assign]
    try:
        yield
    finally:
        Hydra.get_mode = original  # type: ignore[method-assign]


def __getattr__(name: str) -> Any:
    """BasicSweeper, looked up when asked for: Hydra's plugin scan executes its core plugin modules again, and its
    BasicSweeper.__init__ calls super() with the module's class of that moment, so a subclass (rnnlab's basic
    sweeper) must take the class as it is after the scan, not one bound when rnnlab was imported."""
    if name == "BasicSweeper":
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

        return BasicSweeper
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
