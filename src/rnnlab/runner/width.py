"""Matched parameter budgets: `model.params=N` sets the model's width to the one whose parameter count is nearest N.

    rnnlab -m task=mqar model=lstm,gru,mingru,transformer model.params=50000

Each candidate width is built on the meta device (shapes, no memory), so a search costs milliseconds. The width key
is `hidden_size`, or what a model class names in `width_key` (a user's model with `channels`, say). The count
grows with the width; the search finds the first width at or past N and takes it or the one before, whichever is
nearer. A width the constructor refuses (a head count that must divide it) is stepped over.
"""

from __future__ import annotations

from typing import Any

import torch
from omegaconf import DictConfig, open_dict

from rnnlab.config.build import build, constructor_parameters, where
from rnnlab.errors import ConfigError
from rnnlab.protocols import member

PARAMS = "params"  # the model group's own key: a parameter budget, never passed to the constructor (config.build)
WIDEST = 1 << 16
SKIP = 64  # widths tried past one the constructor refuses


def fit_width(cfg: DictConfig, model_cls: type, shape: dict[str, Any]) -> None:
    """Set cfg.model's width key to the width nearest cfg.model.params parameters (nothing when params is unset)."""
    target = cfg.model.get(PARAMS)
    if target is None:
        return
    key = member(model_cls, "width_key", "hidden_size")
    if key not in {p.name for p in constructor_parameters(model_cls)}:
        raise ConfigError(
            f"model.params={target}: {model_cls.__name__} ({where(cfg.model._target_)}) has no width "
            f"key {key}: name it in the class's width_key, or set the width yourself"
        )
    base = cfg.model
    counts: dict[int, int | None] = {}
    refusals: dict[int, str] = {}  # why a width did not build: said when none does (r_min >= r_max refuses them all)

    def count(width: int) -> int | None:
        if width not in counts:
            node = base.copy()
            with open_dict(node):
                node[key] = width
            try:
                with torch.device("meta"):
                    counts[width] = sum(p.numel() for p in build(node, **shape).parameters())
            except Exception as err:  # a width this class refuses (its own check, or torch's): stepped over
                counts[width] = None
                refusals[width] = str(err).splitlines()[0] if str(err) else type(err).__name__
        return counts[width]

    def buildable(width: int) -> tuple[int, int]:  # the first width from here that builds, and its count
        for w in range(width, width + SKIP):
            if (n := count(w)) is not None:
                return w, n
        raise ConfigError(
            f"model.params={target}: {model_cls.__name__} builds at no width from {width} to {width + SKIP - 1} "
            f"({key}={width}: {refusals[width]})"
        )

    low, high = 1, 1
    while buildable(high)[1] < target:
        low, high = high, high * 2
        if high > WIDEST:
            raise ConfigError(f"model.params={target}: more than {model_cls.__name__} has at {key}={WIDEST}")
    while low < high:  # the first width whose count reaches the target
        middle = (low + high) // 2
        if buildable(middle)[1] >= target:
            high = middle
        else:
            low = middle + 1
    above = buildable(high)
    below = next(((w, n) for w in range(high - 1, max(0, high - SKIP), -1) if (n := count(w)) is not None), None)
    width = min((c for c in (below, above) if c is not None), key=lambda c: abs(c[1] - target))[0]
    with open_dict(cfg.model):
        cfg.model[key] = width
