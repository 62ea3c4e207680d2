"""task=selective_copy and task=mqar: batches built as the papers describe (checked against a per-sequence reading of
the batch), seeded, padded with IGNORE, and learnable through the runner."""

from __future__ import annotations

import pytest
import torch

from rnnlab.runner.run import run
from rnnlab.tasks.base import IGNORE, seeded
from rnnlab.tasks.mqar import MQAR
from rnnlab.tasks.selective_copy import SelectiveCopy

CPU = torch.device("cpu")


def test_selective_copy_scatters_the_symbols_and_asks_for_them_in_order():
    task = SelectiveCopy(length=30, tokens=5, vocab=6)
    batch = task.make_batch(200, seeded(0, CPU), CPU)
    assert batch.x.shape == (200, 36, 8) and torch.equal(batch.x.sum(-1), torch.ones(200, 36))
    inputs = batch.x.argmax(-1)
    for i in range(200):
        region = inputs[i, :30]
        symbols = region[region > 0]  # the symbols in the order they stand
        assert len(symbols) == 5 and inputs[i, 30] == 7 and (inputs[i, 31:] == 0).all()
        assert batch.y[i, 31:].tolist() == (symbols - 1).tolist() and (batch.y[i, :31] == IGNORE).all()
    first_positions = (inputs[:, :30] > 0).float().argmax(1)
    assert len(first_positions.unique()) > 10  # scattered, not always at the start as in copy_memory
    assert torch.equal(task.make_batch(5, seeded(3, CPU), CPU).x, task.make_batch(5, seeded(3, CPU), CPU).x)
    assert task.test_lengths == [30, 60] and task.headline_length == 30 and task.chance == 1 / 6
    assert task.steps(60) == 66 and task.make_batch(2, seeded(0, CPU), CPU, 60).x.shape[1] == 66


def test_mqar_answers_each_query_with_the_value_its_key_was_paired_with():
    task = MQAR(keys=20, values=7, train_lengths=[2, 9], test_lengths=[2, 9])
    batch = task.make_batch(300, seeded(0, CPU), CPU)
    assert batch.x.shape == (300, 27, 27)
    pairs_seen = set()
    for i in range(300):
        n = int(batch.lengths[i]) // 3
        pairs_seen.add(n)
        assert batch.lengths[i] == 3 * n and (batch.x[i, 3 * n :] == 0).all() and (batch.y[i, 3 * n :] == IGNORE).all()
        tokens = batch.x[i, : 3 * n].argmax(-1).tolist()
        keys, values = tokens[0 : 2 * n : 2], [v - 20 for v in tokens[1 : 2 * n : 2]]
        assert len(set(keys)) == n and all(k < 20 for k in keys) and all(0 <= v < 7 for v in values)
        asked = tokens[2 * n :]
        assert sorted(asked) == sorted(keys)  # every key asked once
        assert batch.y[i, 2 * n : 3 * n].tolist() == [values[keys.index(k)] for k in asked]
        assert (batch.y[i, : 2 * n] == IGNORE).all()
    assert pairs_seen == set(range(2, 10))
    assert (task.make_batch(4, seeded(1, CPU), CPU, 5).lengths == 15).all() and task.chance == 1 / 7


@pytest.mark.slow  # 7-15 s: make test keeps to 3 minutes
def test_mqar_and_selective_copy_train_through_the_runner_and_report_by_length(tiny_config, tmp_path):
    report = run(
        tiny_config(
            "task=mqar",
            "task.train_lengths=[1,2]",
            "task.test_lengths=[1,2]",
            "model=gru",
            "model.hidden_size=32",
            "trainer.max_steps=300",
            "optimizer.lr=0.01",
        ),
        tmp_path / "m",
    )
    assert report["metric"] == "acc" and set(report["test_by_length"]) == {"1", "2"}
    assert report["test_by_length"]["1"]["acc"] > 0.5, report["test_by_length"]  # chance 1/16: it binds keys
    report = run(
        tiny_config(
            "task=selective_copy",
            "task.length=8",
            "task.tokens=2",
            "task.vocab=4",
            "model=mingru",
            "trainer.max_steps=300",
        ),
        tmp_path / "s",
    )
    assert report["metric"] == "recall_acc" and report["test_measured"].startswith("at length 8")
    assert report["test"]["recall_acc"] > 0.5, report["test"]  # chance 1/4
