"""Learning-rate schedules that torch does not have in one piece.

    scheduler=hold_cosine: optional linear warm-up, then optimizer.lr held, then cosine decay to eta_min.

The long-memory problems want the held part: they sit on a no-memory plateau for thousands of steps and need
the full rate to leave it, then a falling rate so that a late RMSprop spike cannot undo what was learned.
"""

from __future__ import annotations

import math
import time

from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler


def hold_cosine_factor(step: int, total_steps: int, warmup: float, hold: float, floor: float) -> float:
    """The multiple of the base rate at `step`: warm-up and hold are fractions of total_steps; floor = eta_min/lr."""
    warmup_steps, hold_end = warmup * total_steps, (warmup + hold) * total_steps
    if step < warmup_steps:  # at most 1: a warm-up of 2.5 steps (a fraction of few steps) must not overshoot the rate
        return min(1.0, (step + 1) / warmup_steps)
    if step < hold_end:
        return 1.0
    progress = min(1.0, (step - hold_end) / max(1.0, total_steps - hold_end))
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


class HoldCosine(LRScheduler):
    """Warm up linearly over `warmup` of the steps, hold optimizer.lr for `hold` of them, then cosine to eta_min.

    A closed form of the step count, so a resumed run (last.pt holds last_epoch) gets the same rates."""

    def __init__(
        self,
        optimizer: Optimizer,
        total_steps: int,
        warmup: float = 0.0,
        hold: float = 0.0,
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        self.total_steps, self.warmup, self.hold, self.eta_min = total_steps, warmup, hold, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float | Tensor]:
        step = max(0, self.last_epoch)
        rates: list[float | Tensor] = []
        for base in map(float, self.base_lrs):
            floor = min(1.0, self.eta_min / base) if base > 0 else 0.0
            rates.append(base * hold_cosine_factor(step, self.total_steps, self.warmup, self.hold, floor))
        return rates


class TimedSchedule:
    """A step schedule (cosine, hold_cosine, constant) driven by the share of a wall-clock budget spent instead of
    the steps taken: trainer.max_minutes. At each step the wrapped schedule is put where it would be after that
    share of its span (T_max or total_steps), through its closed form, so the cosine reaches eta_min as the budget
    ends. The seconds spent are counted from `start()` in each session and kept in last.pt, so a resumed run spends
    only what is left. Equal-time comparisons are not reproducible to the step (the clock decides where they end).
    """

    def __init__(self, scheduler: LRScheduler, budget_s: float) -> None:
        self.scheduler, self.budget_s = scheduler, budget_s
        self.span = float(getattr(scheduler, "T_max", None) or getattr(scheduler, "total_steps", None) or 1)
        self.spent = 0.0  # seconds of sessions before this one
        self._since: float | None = None  # this session's start

    def start(self) -> None:
        self._since = time.perf_counter()

    def elapsed(self) -> float:
        return self.spent + (time.perf_counter() - self._since if self._since is not None else 0.0)

    @property
    def done(self) -> bool:
        return self.elapsed() >= self.budget_s

    def progress(self) -> float:
        return min(1.0, self.elapsed() / self.budget_s)

    def step(self) -> None:
        inner = self.scheduler
        inner.last_epoch = self.progress() * self.span  # type: ignore[assignment]  # the closed forms take a float
        closed_form = getattr(inner, "_get_closed_form_lr", None)  # torch's schedules; ours are closed forms
        rates = closed_form() if callable(closed_form) else inner.get_lr()
        for group, rate in zip(inner.optimizer.param_groups, rates):
            group["lr"] = rate
        inner._last_lr = list(rates)

    def get_last_lr(self) -> list[float]:
        return [float(rate) for rate in self.scheduler.get_last_lr()]

    def state_dict(self) -> dict:
        return {"scheduler": self.scheduler.state_dict(), "spent": self.elapsed()}

    def load_state_dict(self, state: dict) -> None:
        self.scheduler.load_state_dict(state["scheduler"])
        self.spent = state["spent"]
