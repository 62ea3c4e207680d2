"""Losses: each turns the model's raw outputs into a training loss and into predicted classes.

Targets are class indices, IGNORE (-1) on steps past a sequence's end. For two classes, mse and bce use a single
sigmoid output (one bit), as the original reports did; for more, mse compares softmax probabilities with the
one-hot target (the Brier score), and bce is refused since the classes exclude each other. A regression task
(adding: one real number) takes mse alone, on the raw output; the other losses are refused for it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnlab.errors import ConfigError
from rnnlab.tasks.base import IGNORE, Task


class Loss(nn.Module):
    name: str

    def for_task(self, task: Task) -> Loss:
        """The loss to train this task with: itself (loss=default picks the task's own)."""
        return self

    def num_outputs(self, num_classes: int) -> int:
        return num_classes

    def check(self, task: Task) -> None:
        """Raise ConfigError if this loss makes no sense for the task."""
        if task.regression:
            raise ConfigError(
                f"loss={self.name} compares classes, but {task.name} asks for a real number "
                "(a regression task): use loss=mse"
            )

    @staticmethod
    def predict(outputs: Tensor) -> Tensor:
        if outputs.shape[-1] == 1:
            return (outputs.squeeze(-1) > 0).long()
        return outputs.argmax(dim=-1)

    @staticmethod
    def probabilities(outputs: Tensor) -> Tensor:
        """(..., classes) probabilities, whatever the number of outputs."""
        if outputs.shape[-1] == 1:
            p = torch.sigmoid(outputs)
            return torch.cat([1 - p, p], dim=-1)
        return outputs.softmax(dim=-1)


def _scored(outputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """Flatten to (scored steps, outputs) and (scored steps,), dropping IGNORE targets."""
    keep = targets.reshape(-1) != IGNORE
    return outputs.reshape(-1, outputs.shape[-1])[keep], targets.reshape(-1)[keep]


class CrossEntropy(Loss):
    name = "cross_entropy"

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return F.cross_entropy(outputs.reshape(-1, outputs.shape[-1]), targets.reshape(-1), ignore_index=IGNORE)


class NLL(Loss):
    """Negative log-likelihood of log-softmax outputs (the LogSoftmax + NLLLoss pairing)."""

    name = "nll"

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        log_probs = F.log_softmax(outputs.reshape(-1, outputs.shape[-1]), dim=-1)
        return F.nll_loss(log_probs, targets.reshape(-1), ignore_index=IGNORE)


class MSE(Loss):
    name = "mse"
    regression = False  # set by check(): the task asks for a real number, not a class

    def num_outputs(self, num_classes: int) -> int:
        return 1 if num_classes <= 2 else num_classes

    def check(self, task: Task) -> None:
        self.regression = task.regression

    def predict(self, outputs: Tensor) -> Tensor:  # type: ignore[override]  # a method: it reads self.regression
        return outputs.squeeze(-1) if self.regression else Loss.predict(outputs)

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        if self.regression:
            return F.mse_loss(outputs.squeeze(-1), targets)
        outputs, targets = _scored(outputs, targets)
        if outputs.shape[-1] == 1:
            return F.mse_loss(torch.sigmoid(outputs.squeeze(-1)), targets.float())
        one_hot = F.one_hot(targets, outputs.shape[-1]).float()
        return (outputs.softmax(dim=-1) - one_hot).pow(2).sum(dim=-1).mean()


class BCE(Loss):
    name = "bce"

    def num_outputs(self, num_classes: int) -> int:
        return 1

    def check(self, task: Task) -> None:
        super().check(task)
        if task.num_classes != 2:
            raise ConfigError(
                f"loss=bce needs a task with two classes (one output bit), but {task.name} has "
                f"{task.num_classes} classes that exclude each other: use loss=cross_entropy, nll or mse"
            )

    def forward(self, outputs: Tensor, targets: Tensor) -> Tensor:
        outputs, targets = _scored(outputs, targets)
        return F.binary_cross_entropy_with_logits(outputs.squeeze(-1), targets.float())


class TaskDefault(Loss):
    """loss=default: no loss of its own, it becomes the task's (mse for a regression task, cross_entropy else)."""

    name = "default"

    def for_task(self, task: Task) -> Loss:
        return MSE() if task.regression else CrossEntropy()
