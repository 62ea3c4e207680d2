"""Learning-rate schedules that torch does not have in one piece.

    scheduler=hold_cosine: optional linear warm-up, then optimizer.lr held, then cosine decay to eta_min.

The long-memory problems want the held part: they sit on a no-memory plateau for thousands of steps and need
the full rate to leave it, then a falling rate so that a late RMSprop spike cannot undo what was learned.
"""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler


def hold_cosine_factor(step: int, total_steps: int, warmup: float, hold: float, floor: float) -> float:
    """The multiple of the base rate at `step`: warm-up and hold are fractions of total_steps; floor = eta_min/lr."""
    warmup_steps, hold_end = warmup * total_steps, (warmup + hold) * total_steps
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if step < hold_end:
        return 1.0
    progress = min(1.0, (step - hold_end) / max(1.0, total_steps - hold_end))
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


class HoldCosine(LRScheduler):
    """Warm up linearly over `warmup` of the steps, hold optimizer.lr for `hold` of them, then cosine to eta_min.

    A closed form of the step count, so a resumed run (last.pt holds last_epoch) gets the same rates."""

    def __init__(self, optimizer: Optimizer, total_steps: int, warmup: float = 0.0, hold: float = 0.0,
                 eta_min: float = 0.0, last_epoch: int = -1) -> None:
        self.total_steps, self.warmup, self.hold, self.eta_min = total_steps, warmup, hold, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        step = max(0, self.last_epoch)
        return [base * hold_cosine_factor(step, self.total_steps, self.warmup, self.hold,
                                          min(1.0, self.eta_min / base) if base > 0 else 0.0)
                for base in self.base_lrs]
