"""Evaluation on a fixed set (validation, each test set), in chunks sized to what the model holds per step.

    metrics, predictions = evaluate(model, loss_fn, task, batch)

A model whose outputs hold NaN or Inf on a fixed set fails the run (NonFiniteOutputs): an accuracy taken from the
argmax of NaN would be a number that means nothing.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.models.losses import Loss
from rnnlab.protocols import member
from rnnlab.tasks.base import Batch, Task

EVAL_CHUNK, EVAL_BYTES = 1000, 2 << 30


def eval_chunk(model: nn.Module, steps: int) -> int:
    """Sequences per forward pass when evaluating: EVAL_CHUNK, or fewer for a model that says what it holds per
    step (`floats_per_step()`) when that many would pass EVAL_BYTES: S6 at 784 steps and width 128 holds ~88 MB a
    sequence, so 1,000 at once would need ~88 GB."""
    own = member(model, "floats_per_step")
    if not callable(own):
        return EVAL_CHUNK
    return int(max(1, min(EVAL_CHUNK, EVAL_BYTES // max(1, steps * own() * 4))))


class NonFiniteOutputs(RuntimeError):
    """The model's outputs held NaN or Inf on a fixed set: its metrics would be an argmax of NaN, so the run fails."""


@torch.no_grad()
def evaluate(
    model: nn.Module, loss_fn: Loss, task: Task, batch: Batch, chunk: int | None = None
) -> tuple[dict, Tensor]:
    """Metrics (loss included) and predictions on a fixed set, in chunks to bound memory on long sequences."""
    was_training = model.training
    model.eval()
    chunk = chunk or eval_chunk(model, batch.x.shape[1])
    predictions, loss_sum = [], 0.0
    for start in range(0, len(batch), chunk):
        part = batch[start : start + chunk]
        outputs = model(part.x, part.lengths)
        if not torch.isfinite(outputs).all():
            raise NonFiniteOutputs(
                f"the model's outputs hold NaN or Inf in eval mode (validation or test, "
                f"{len(batch):,} sequences of {batch.x.shape[1]} steps): its metrics would mean nothing"
            )
        loss_sum += loss_fn(outputs, part.y).item() * len(part)
        predictions.append(loss_fn.predict(outputs))
    model.train(was_training)
    predicted = torch.cat(predictions)
    return {"loss": loss_sum / len(batch), **task.metrics(predicted, batch)}, predicted
