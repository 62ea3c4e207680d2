"""scheduler=hold_cosine and warmup_cosine (hold_cosine warming up over 10%: the comparisons' schedule): a linear
warm-up, a hold, a cosine to eta_min, per group."""

from __future__ import annotations

import math

import pytest
import torch

from rnnlab.training.schedules import HoldCosine


def rates(total: int, **settings: float) -> list[float]:
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    schedule = HoldCosine(optimizer, total_steps=total, **settings)
    seen = []
    for _ in range(total):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    return seen


def test_warm_up_rises_linearly_to_the_rate_then_the_cosine_falls_to_zero():
    seen = rates(100, warmup=0.1, hold=0.0)
    assert seen[:10] == pytest.approx([(step + 1) / 10 for step in range(10)])  # 0.1 .. 1.0 over 10% of the steps
    assert seen[10] == pytest.approx(1.0)
    assert seen[55] == pytest.approx(0.5 * (1 + math.cos(math.pi * 45 / 90)))  # cosine over the 90 steps left
    assert all(later < earlier for earlier, later in zip(seen[10:], seen[11:]))
    assert seen[-1] == pytest.approx(0.5 * (1 + math.cos(math.pi * 89 / 90)))


def test_hold_keeps_the_rate_and_eta_min_is_the_floor():
    seen = rates(100, warmup=0.0, hold=0.5, eta_min=0.1)
    assert seen[:50] == pytest.approx([1.0] * 50)
    assert min(seen) >= 0.1 and seen[-1] == pytest.approx(0.1, abs=1e-3)


def test_each_group_scales_from_its_own_rate_and_a_resumed_schedule_gives_the_same_rates():
    def optimizer() -> torch.optim.Optimizer:
        one, two = (torch.zeros(1, requires_grad=True) for _ in range(2))
        return torch.optim.SGD([{"params": [one]}, {"params": [two], "lr": 0.5}], lr=1.0)

    first = optimizer()
    schedule = HoldCosine(first, total_steps=50, warmup=0.2)
    for _ in range(7):
        first.step()
        schedule.step()
    assert [group["lr"] for group in first.param_groups] == pytest.approx([0.8, 0.4])  # step 7 of a 10-step ramp
    again = optimizer()
    resumed = HoldCosine(again, total_steps=50, warmup=0.2)
    resumed.load_state_dict(schedule.state_dict())
    for _ in range(20):
        for each in (first, again):
            each.step()
        schedule.step()
        resumed.step()
        assert [g["lr"] for g in again.param_groups] == pytest.approx([g["lr"] for g in first.param_groups])


@pytest.mark.parametrize("total", [5, 25, 7])
def test_a_warm_up_shorter_than_whole_steps_never_overshoots_the_rate(total):
    seen = rates(total, warmup=0.1)  # 0.5, 2.5 and 0.7 steps of warm-up
    assert max(seen) == pytest.approx(1.0) and all(rate <= 1.0 + 1e-12 for rate in seen)
