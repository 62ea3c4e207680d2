"""The training loop and evaluation.

    result = fit(model, task, loss_fn, optimizer, scheduler, trainer_cfg, device, seed, logger)
    metrics, predictions = evaluate(model, loss_fn, task, batch)

Synthetic tasks get a fresh batch every step from one seeded generator on the device, so a run is a function of
its seed. Training stops at max_steps, or early once the task's criterion holds: the most recent
`task.stop_window` training sequences all right (the 1997 LSTM paper's stopping rule).
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from rnnlab.logger import NullLogger
from rnnlab.losses import Loss
from rnnlab.tasks.base import Batch, Task, seeded


@dataclass
class TrainResult:
    steps: int
    sequences_seen: int
    wall_s: float
    samples_per_s: float  # training steps only: no evaluation, logging or progress bar
    stopped_early: bool
    status: str = "ok"  # or why training stopped short ("diverged: ...")
    val: dict[str, float] | None = None


class RecentSequences:
    """Tracks whether the most recent `size` training sequences were all right, one batch at a time."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.batches: deque[tuple[int, int]] = deque()  # (sequences, wrong) per batch
        self.count = 0
        self.wrong = 0

    def add(self, sequences: int, wrong: int) -> None:
        self.batches.append((sequences, wrong))
        self.count += sequences
        self.wrong += wrong
        # Keep just enough whole batches to cover `size` sequences.
        while self.batches and self.count - self.batches[0][0] >= self.size:
            n, w = self.batches.popleft()
            self.count -= n
            self.wrong -= w

    @property
    def all_right(self) -> bool:
        return self.size > 0 and self.count >= self.size and self.wrong == 0


@torch.no_grad()
def evaluate(model: nn.Module, loss_fn: Loss, task: Task, batch: Batch, chunk: int = 1000) -> tuple[dict, Tensor]:
    """Metrics (loss included) and predictions on a fixed set, in chunks to bound memory on long sequences."""
    was_training = model.training
    model.eval()
    predictions, loss_sum = [], 0.0
    for start in range(0, len(batch), chunk):
        part = batch[start : start + chunk]
        outputs = model(part.x, part.lengths)
        loss_sum += loss_fn(outputs, part.y).item() * len(part)
        predictions.append(loss_fn.predict(outputs))
    model.train(was_training)
    predictions = torch.cat(predictions)
    return {"loss": loss_sum / len(batch), **task.metrics(predictions, batch)}, predictions


def fit(
    model: nn.Module,
    task: Task,
    loss_fn: Loss,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    trainer,
    device: torch.device,
    seed: int,
    logger: NullLogger,
) -> TrainResult:
    generator = seeded(seed, device)
    val_set = task.validation_set(device)
    recent = RecentSequences(task.stop_window if trainer.early_stop else 0)
    train_time, step, status, val = 0.0, 0, "ok", None
    started = time.perf_counter()
    bar = tqdm(total=trainer.max_steps, desc=task.name, disable=None if trainer.progress else True, unit="step")
    model.train()
    for step in range(1, trainer.max_steps + 1):
        tick = time.perf_counter()
        batch = task.make_batch(trainer.batch_size, generator, device)
        outputs = model(batch.x, batch.lengths)
        loss = loss_fn(outputs, batch.y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if trainer.clip_grad_norm > 0:
            nn.utils.clip_grad_norm_(model.parameters(), trainer.clip_grad_norm)
        optimizer.step()
        scheduler.step()
        predictions = loss_fn.predict(outputs.detach())
        wrong = int((~task.sequences_right(predictions, batch)).sum())  # also waits for the step to finish
        train_time += time.perf_counter() - tick
        bar.update()

        loss_value = loss.item()
        if not math.isfinite(loss_value):
            status = f"diverged: loss {loss_value} at step {step}"
            break
        recent.add(len(batch), wrong)
        if step % trainer.log_every == 0:
            train_metrics = task.metrics(predictions, batch)
            logger.scalars(
                {
                    "train/loss": loss_value,
                    **{f"train/{k}": v for k, v in train_metrics.items() if k not in ("wrong", "n")},
                    "train/lr": scheduler.get_last_lr()[0],
                    "train/samples_per_s": step * trainer.batch_size / train_time,
                },
                step,
            )
            bar.set_postfix(loss=f"{loss_value:.4f}", **{task.metric: f"{train_metrics[task.metric]:.3f}"})
        if recent.all_right:
            break
        if step % trainer.eval_every == 0:
            val = _validate(model, loss_fn, task, val_set, logger, step)
    bar.close()
    if status == "ok":
        val = _validate(model, loss_fn, task, val_set, logger, step)
    return TrainResult(
        steps=step,
        sequences_seen=step * trainer.batch_size,
        wall_s=time.perf_counter() - started,
        samples_per_s=step * trainer.batch_size / train_time if train_time > 0 else 0.0,
        stopped_early=recent.all_right,
        status=status,
        val=val,
    )


def _validate(model: nn.Module, loss_fn: Loss, task: Task, val_set: Batch, logger: NullLogger, step: int) -> dict:
    metrics, _ = evaluate(model, loss_fn, task, val_set)
    logger.scalars({f"val/{k}": v for k, v in metrics.items() if k not in ("wrong", "n")}, step)
    return metrics
