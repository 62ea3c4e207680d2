"""The long-memory benchmarks: the adding problem, the copying problem, chrono initialisation."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import CPU, compose_config

from rnnlab.config.validate import validate
from rnnlab.errors import ConfigError
from rnnlab.models.losses import CrossEntropy
from rnnlab.runner.parts import build_parts
from rnnlab.runner.run import run
from rnnlab.tasks.adding import Adding
from rnnlab.tasks.base import seeded
from rnnlab.tasks.copy_memory import CopyMemory

COMMON = dict(val_size=8, test_size=8, stop_window=0)


def test_adding_targets_are_the_sum_of_the_two_marked_values():
    task = Adding(length=9, test_lengths=[], **COMMON)
    batch = task.make_batch(50, seeded(0, CPU), CPU)
    assert batch.x.shape == (50, 9, 2) and batch.lengths.tolist() == [9] * 50
    for x, y in zip(batch.x.tolist(), batch.y.tolist()):  # a plain-Python reading of every sequence
        marked = [t for t, (_, marker) in enumerate(x) if marker == 1.0]
        assert len(marked) == 2 and marked[0] < 9 // 2 <= marked[1]  # one marker in each half
        assert all(0.0 <= value < 1.0 for value, _ in x)
        assert y == pytest.approx(x[marked[0]][0] + x[marked[1]][0])
    assert task.test_lengths == [9, 18]  # [] means T and 2T


def test_copy_memory_inputs_and_targets_follow_the_papers_layout():
    task = CopyMemory(length=6, test_lengths=[], **COMMON)
    batch = task.make_batch(20, seeded(0, CPU), CPU)
    assert batch.x.shape == (20, 6 + 20, 10)
    for x, y in zip(batch.x.argmax(-1).tolist(), batch.y.tolist()):
        symbols = x[:10]
        assert all(1 <= s <= 8 for s in symbols)
        assert x[10:] == [0] * 5 + [9] + [0] * 10  # T - 1 blanks, the delimiter, 10 blanks to answer in
        assert y == [0] * (6 + 10) + symbols  # blank until the symbols are written back, in order


def test_the_copy_baseline_is_the_loss_of_a_model_with_no_memory():
    task = CopyMemory(length=30, test_lengths=[], **COMMON)
    batch = task.make_batch(16, seeded(1, CPU), CPU)
    outputs = torch.full((16, 50, 9), -30.0)
    outputs[:, :40, 0] = 30.0  # sure of the blanks
    outputs[:, 40:, 1:] = 0.0  # a uniform guess among the 8 symbols when they are due
    loss = float(CrossEntropy()(outputs, batch.y))
    assert loss == pytest.approx(task.baseline_loss(), rel=1e-4) and loss == pytest.approx(
        10 * math.log(8) / 50, rel=1e-4
    )


def test_a_regression_task_takes_mse_on_its_raw_output_and_refuses_classification_losses():
    for loss in ("cross_entropy", "nll", "bce"):
        with pytest.raises(ConfigError, match="adding asks for a real number .* use loss=mse"):
            build_parts(compose_config("task=adding", f"loss={loss}"), CPU)
    task, model, loss_fn = build_parts(compose_config("task=adding", "loss=mse"), CPU)
    assert model.readout.out_features == 1
    outputs = torch.tensor([[0.5], [1.5]])
    assert loss_fn.predict(outputs).tolist() == [0.5, 1.5]  # the number itself, not a class
    assert float(loss_fn(outputs, torch.tensor([1.0, 1.0]))) == pytest.approx(0.25)


def test_tiny_runs_learn_past_the_memoryless_baselines(tiny_config, tmp_path):
    adding = run(
        tiny_config(
            "task=adding",
            "loss=mse",
            "task.length=10",
            "task.test_lengths=[10]",
            "trainer.max_steps=400",
            "optimizer.lr=0.01",
        ),
        tmp_path / "adding",
    )
    assert adding["test"]["mse"] < 0.5 * (1 / 6)  # predicting 1 always: 1/6 (seeds 0-2 reach 0.005-0.009)
    assert "always predicting 1: MSE 0.167" in (tmp_path / "adding" / "report.md").read_text()
    copy = run(
        tiny_config(
            "task=copy_memory",
            "task.length=3",
            "task.test_lengths=[3]",
            "trainer.max_steps=600",
            "model.forget_bias=chrono",
            "optimizer.lr=0.03",
        ),
        tmp_path / "copy",
    )
    assert copy["test"]["recall_acc"] > 2 * (1 / 8)  # guessing: 1/8 (seeds 0-2 reach 0.35-0.37)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_chrono_draws_gate_biases_from_the_tasks_sequence_length(cell):
    _, model, _ = build_parts(
        compose_config(
            "task=copy_memory", "task.length=100", f"model={cell}", "model.forget_bias=chrono", "model.hidden_size=64"
        ),
        CPU,
    )
    h, steps = 64, 100 + 20
    bias_ih, bias_hh = model.rnn.bias_ih_l0.detach(), model.rnn.bias_hh_l0.detach()
    keep = bias_ih[h : 2 * h]  # lstm: the forget gate; gru: the update gate
    assert keep.min() >= 0 and keep.max() <= math.log(steps - 1) and keep.std() > 0.3  # log U(1, T - 1)
    assert bias_hh[: 2 * h].abs().max() == 0
    if cell == "lstm":
        assert torch.equal(bias_ih[:h], -keep)  # the input gate opens as little as the forget gate closes


def test_chrono_is_refused_for_a_cell_without_gates():
    with pytest.raises(ConfigError, match="chrono sets the gates of lstm and gru cells; rnn has none"):
        validate(compose_config("model=rnn", "model.forget_bias=chrono"))
    with pytest.raises(ConfigError, match="a finite number, or chrono"):
        validate(compose_config("model.forget_bias=slow"))


def test_the_headline_of_a_fixed_length_benchmark_is_measured_at_t(tiny_config, tmp_path):
    """adding and copy_memory train at T and test at T and 2T: test.<metric> is T's, never the mean with 2T."""
    report = run(tiny_config("task=adding", "task.length=12"), tmp_path)
    assert report["test"]["mse"] == report["test_by_length"]["12"]["mse"] != report["test_by_length"]["24"]["mse"]
    assert report["test_measured"] == "at length 12, the length trained at"
    recall = run(tiny_config("task=index_recall"), tmp_path / "recall")  # a range of lengths: the mean, and it says so
    by_length = [row["acc"] for row in recall["test_by_length"].values()]
    assert recall["test"]["acc"] == pytest.approx(sum(by_length) / len(by_length))
    assert recall["test_measured"] == f"the mean over the {len(by_length)} test lengths"
