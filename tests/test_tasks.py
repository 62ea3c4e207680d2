"""Generators are correct by construction: decode every batch and check it against the task's rule."""

from __future__ import annotations

import random

import pytest
import torch
from conftest import CPU

from rnnlab.tasks.base import IGNORE, seeded
from rnnlab.tasks.binary_addition import BinaryAddition, add_bits, bits_to_int
from rnnlab.tasks.index_recall import IndexRecall
from rnnlab.tasks.temporal_order import SYMBOLS, WINDOWS, B, E, TemporalOrder, X

COMMON = dict(val_size=50, test_size=40, stop_window=0)


def addition(lengths=(1, 20), test_lengths=(5, 70)):
    return BinaryAddition(train_lengths=list(lengths), test_lengths=list(test_lengths), **COMMON)


def test_add_bits_matches_schoolbook_addition():
    rng = random.Random(0)
    for _ in range(50):
        n = rng.randint(1, 300)
        a_bits = [rng.randint(0, 1) for _ in range(n)] + [0]
        b_bits = [rng.randint(0, 1) for _ in range(n)] + [0]
        s = add_bits(torch.tensor(a_bits), torch.tensor(b_bits)).tolist()
        assert bits_to_int(s) == bits_to_int(a_bits) + bits_to_int(b_bits)


@pytest.mark.parametrize("length", [None, 1, 64])
def test_addition_targets_decode_to_the_sum(length):
    task = addition()
    batch = task.make_batch(500, seeded(1, CPU), CPU, length)
    for i in range(len(batch)):
        n = int(batch.lengths[i])  # operand bits + 1 step for the final carry
        a, b = (batch.x[i, : n - 1, k].long().tolist() for k in (0, 1))
        assert batch.x[i, n - 1 :].abs().sum() == 0  # the carry step and padding carry no input
        assert (batch.y[i, n:] == IGNORE).all()
        sum_bits = batch.y[i, :n].tolist()
        assert bits_to_int(sum_bits) == bits_to_int(a) + bits_to_int(b)
    expected = range(1, 21) if length is None else [length]
    assert set((batch.lengths - 1).tolist()) <= set(expected)


def test_addition_draws_every_training_length():
    batch = addition((3, 10)).make_batch(2000, seeded(0, CPU), CPU)
    assert set((batch.lengths - 1).tolist()) == set(range(3, 11))


def test_same_generator_state_gives_the_same_batch_and_another_seed_does_not():
    task = addition()
    first, again = (task.make_batch(64, seeded(7, CPU), CPU) for _ in range(2))
    other = task.make_batch(64, seeded(8, CPU), CPU)
    assert torch.equal(first.x, again.x) and torch.equal(first.y, again.y)
    assert not torch.equal(first.x[:, :2], other.x[:, :2])


def test_test_sets_are_fixed_and_one_per_length():
    task = addition(test_lengths=(5, 70))
    sets, again = task.test_sets(CPU), task.test_sets(CPU)
    assert list(sets) == ["5", "70"]
    assert all(len(b) == 40 for b in sets.values())
    assert torch.equal(sets["70"].x, again["70"].x)
    assert (sets["70"].lengths == 71).all()


@pytest.mark.parametrize("position", [0, 1, 2])
def test_index_recall_target_is_the_digit_at_position(position):
    task = IndexRecall(position=position, train_lengths=[3, 10], test_lengths=[3, 100], **COMMON)
    batch = task.make_batch(300, seeded(3, CPU), CPU)
    assert batch.x.shape[-1] == 10
    digits = batch.x.argmax(-1)
    assert torch.equal(batch.y, digits[:, position])
    inside = torch.arange(batch.x.shape[1]) < batch.lengths[:, None]
    assert (batch.x.sum(-1) == inside.float()).all()  # one-hot inside, zeros after the end
    assert batch.lengths.min() >= 3 and batch.lengths.max() <= 10
    assert set(batch.y.tolist()) == set(range(10))


@pytest.mark.parametrize("variant", ["6a", "6b"])
def test_temporal_order_sequences_follow_the_paper(variant):
    task = TemporalOrder(variant=variant, **COMMON)
    windows = WINDOWS[variant]
    assert task.num_classes == 2 ** len(windows) and task.input_size == 8
    batch = task.make_batch(500, seeded(5, CPU), CPU)
    for i in range(len(batch)):
        n = int(batch.lengths[i])
        assert 100 <= n <= 110
        symbols = batch.x[i, :n].argmax(-1).tolist()
        assert batch.x[i, n:].abs().sum() == 0
        assert symbols[0] == E and symbols[-1] == B
        relevant = [t for t, s in enumerate(symbols) if s >= X and SYMBOLS[s] in "XY"]
        assert len(relevant) == len(windows)
        assert all(lo <= t <= hi for t, (lo, hi) in zip(relevant, windows))
        assert all(SYMBOLS[s] in "abcd" for t, s in enumerate(symbols[1:-1], 1) if t not in relevant)
        order = "".join(SYMBOLS[symbols[t]] for t in relevant)
        assert task.class_name(int(batch.y[i])) == order
    assert set(batch.y.tolist()) == set(range(task.num_classes))


def test_per_step_metrics_ignore_padding():
    task = addition((2, 6))
    batch = task.make_batch(100, seeded(0, CPU), CPU)
    perfect = batch.y.clamp(min=0)
    wrong_in_padding = torch.where(batch.y == IGNORE, 1, perfect)
    assert task.metrics(wrong_in_padding, batch) == {"bit_acc": 1.0, "seq_acc": 1.0}
    one_wrong = perfect.clone()
    one_wrong[0, 0] ^= 1
    metrics = task.metrics(one_wrong, batch)
    assert metrics["seq_acc"] == pytest.approx(0.99)
    assert metrics["bit_acc"] == pytest.approx(1 - 1 / int((batch.y != IGNORE).sum()))
