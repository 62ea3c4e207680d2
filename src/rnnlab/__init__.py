"""rnnlab: an experiment runner for recurrent networks. What a user's own code imports:

    from rnnlab import Task, Batch          # a task of your own: subclass Task (docs/extending.md)
    from rnnlab import LengthTask, IGNORE   # trained on a range of lengths, tested by length; a step never scored
    from rnnlab import ConfigError          # a mistake in the config: the command shows it as one line, exit 2

The names load on first use, so that `rnnlab --help` and a typo on the command line are answered before torch is
imported.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Task": "rnnlab.tasks.base",
    "Batch": "rnnlab.tasks.base",
    "LengthTask": "rnnlab.tasks.base",
    "FixedLengthTask": "rnnlab.tasks.base",
    "IGNORE": "rnnlab.tasks.base",
    "seeded": "rnnlab.tasks.base",
    "ConfigError": "rnnlab.errors",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'rnnlab' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
