"""Every loss x task: accepted (and trainable) or refused with a clear message; padding never counts."""

from __future__ import annotations

import pytest
import torch
from conftest import CPU

from rnnlab.errors import ConfigError
from rnnlab.models.losses import BCE, MSE, NLL, CrossEntropy
from rnnlab.tasks.base import IGNORE, seeded
from rnnlab.tasks.binary_addition import BinaryAddition
from rnnlab.tasks.index_recall import IndexRecall
from rnnlab.tasks.temporal_order import TemporalOrder

COMMON = dict(val_size=10, test_size=10, stop_window=0)
TASKS = {
    "binary_addition": lambda: BinaryAddition(train_lengths=[2, 6], test_lengths=[8], **COMMON),
    "index_recall": lambda: IndexRecall(position=1, train_lengths=[3, 6], test_lengths=[8], **COMMON),
    "temporal_order": lambda: TemporalOrder(variant="6a", **COMMON),
}
LOSSES = {"cross_entropy": CrossEntropy, "nll": NLL, "mse": MSE, "bce": BCE}
REFUSED = {("index_recall", "bce"), ("temporal_order", "bce")}


@pytest.mark.parametrize("task_name", TASKS)
@pytest.mark.parametrize("loss_name", LOSSES)
def test_every_loss_task_pair_is_accepted_or_refused(task_name, loss_name):
    task, loss = TASKS[task_name](), LOSSES[loss_name]()
    if (task_name, loss_name) in REFUSED:
        with pytest.raises(ConfigError, match="loss=bce needs a task with two classes"):
            loss.check(task)
        return
    loss.check(task)
    batch = task.make_batch(16, seeded(0, CPU), CPU)
    shape = batch.y.shape + (loss.num_outputs(task.num_classes),)
    outputs = torch.randn(shape, requires_grad=True)
    value = loss(outputs, batch.y)
    value.backward()
    assert value.ndim == 0 and torch.isfinite(value)
    assert outputs.grad.abs().sum() > 0
    assert loss.predict(outputs).shape == batch.y.shape


@pytest.mark.parametrize("loss_name", LOSSES)
def test_ignored_steps_do_not_change_the_loss(loss_name):
    loss = LOSSES[loss_name]()
    targets = torch.tensor([[1, 0, IGNORE, IGNORE]])
    outputs = torch.randn(1, 4, loss.num_outputs(2))
    changed = outputs.clone()
    changed[:, 2:] = 50.0
    assert loss(outputs, targets) == loss(changed, targets)


def test_two_class_mse_and_bce_use_one_output_bit():
    assert MSE().num_outputs(2) == 1 and BCE().num_outputs(2) == 1
    assert MSE().num_outputs(10) == 10 and CrossEntropy().num_outputs(2) == 2
    assert CrossEntropy.predict(torch.tensor([[-1.0], [2.0]])).tolist() == [0, 1]


def test_losses_fall_to_zero_for_confident_right_outputs():
    targets = torch.tensor([0, 2, 1])
    confident = 30 * torch.nn.functional.one_hot(targets, 3).float()
    for loss in (CrossEntropy(), NLL(), MSE()):
        assert loss(confident, targets) < 1e-6


def test_the_default_loss_is_the_tasks_own(tiny_config):
    """loss=default (what a command that names no loss gets): mse for a regression task, cross_entropy otherwise;
    a loss named on the command line that does not fit stays a one-line error."""
    from rnnlab.runner.parts import build_parts

    cpu = torch.device("cpu")
    _, _, regression = build_parts(tiny_config("task=adding"), cpu, weights=False)
    _, _, classes = build_parts(tiny_config("task=index_recall"), cpu, weights=False)
    assert (regression.name, classes.name) == ("mse", "cross_entropy")
    with pytest.raises(ConfigError, match="loss=cross_entropy compares classes, but adding asks for a real number"):
        build_parts(tiny_config("task=adding", "loss=cross_entropy"), cpu, weights=False)
