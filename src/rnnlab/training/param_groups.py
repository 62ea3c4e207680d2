"""Per-parameter-group learning rates and weight decay, where a model asks for them.

    groups = param_groups(model)                      # what build(cfg.optimizer)(groups) takes
    lines = describe_groups(optimizer)   # ['recurrent (nu_log, theta_log, gamma_log): lr x 0.5, no weight decay']

A model (built-in or a user's) may define `optimizer_groups()`, returning a list of dicts, each with `name`, `params`
(its parameters) and any of `lr_scale` (a multiple of optimizer.lr) and `weight_decay` (instead of the optimizer's):

    def optimizer_groups(self):
        return [{"name": "recurrent", "params": [self.nu_log, self.theta_log], "lr_scale": 0.5, "weight_decay": 0.0}]

Its other parameters form the default group at optimizer.lr. The LRU paper (Orvieto et al. 2023) trains its
recurrent parameters at a fraction of the rate and without weight decay; Mamba keeps weight decay off A and D. The
scale is applied as each group's own `lr`, so every schedule (cosine, hold_cosine, a time budget) scales it alike.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from rnnlab.errors import ConfigError
from rnnlab.protocols import member

SCALE = "lr_scale"  # kept in the optimizer's param group (and so in last.pt) beside torch's own keys


def param_groups(model: nn.Module, lr: float) -> list[dict[str, Any]] | Any:
    """The optimizer's parameter groups: the model's own groups and one default group for the rest; the model's
    parameters alone when it declares no groups."""
    own = member(model, "optimizer_groups")
    if not callable(own):
        return model.parameters()
    groups: list[dict[str, Any]] = []
    claimed: set[int] = set()
    for group in own():
        params = list(group["params"])
        if any(id(p) in claimed for p in params):
            raise ConfigError(
                f"{type(model).__name__}.optimizer_groups(): group {group.get('name')!r} repeats a "
                "parameter of another group"
            )
        claimed.update(id(p) for p in params)
        entry: dict[str, Any] = {
            "params": params,
            "name": str(group.get("name", f"group {len(groups) + 1}")),
            SCALE: float(group.get(SCALE, 1.0)),
        }
        entry["lr"] = lr * entry[SCALE]
        if "weight_decay" in group:
            entry["weight_decay"] = float(group["weight_decay"])
        groups.append(entry)
    rest = [p for p in model.parameters() if id(p) not in claimed]
    return [{"params": rest, "name": "default", SCALE: 1.0}, *groups] if rest else groups


def describe_groups(optimizer: torch.optim.Optimizer) -> list[str]:
    """One line per group a model asked for (none for a model with one group): what report.md shows."""
    lines = []
    for group in optimizer.param_groups:
        if group.get("name", "default") == "default":
            continue
        decay = group.get("weight_decay", 0.0)
        lines.append(
            f"{group['name']}: {sum(p.numel() for p in group['params']):,} parameters, lr x "
            f"{group.get(SCALE, 1.0):g}, " + (f"weight decay {decay:g}" if decay else "no weight decay")
        )
    return lines
