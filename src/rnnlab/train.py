"""The training loop and evaluation.

    result = fit(model, task, loss_fn, optimizer, scheduler, trainer_cfg, device, seed, logger)
    metrics, predictions = evaluate(model, loss_fn, task, batch)

Synthetic tasks get a fresh batch every step from one seeded generator on the device, so a run is a function of
its seed. Training stops at max_steps, or early once the task's criterion holds: the most recent
`task.stop_window` training sequences all right (the 1997 LSTM paper's stopping rule). It also stops, with a
checkpoint, on SIGINT/SIGTERM, and without touching the last good checkpoint on a non-finite loss.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from rnnlab.checkpoint import Checkpoints, capture_rng, restore_rng
from rnnlab.logger import NullLogger
from rnnlab.losses import Loss
from rnnlab.run_files import BEST, LAST
from rnnlab.tasks.base import COUNTS, Batch, Task, seeded


@dataclass
class TrainResult:
    steps: int
    sequences_seen: int
    wall_s: float
    samples_per_s: float  # the training work only (batch, forward, backward, step): no bookkeeping or logging
    stopped_early: bool
    status: str = "ok"  # or why training stopped short: "interrupted", "diverged: ..."
    val: dict[str, float] | None = None
    signal: int | None = None  # the signal that interrupted training
    loop_s: float = 0.0  # this call's training loop with its logging, progress bar and checks; no final validation
    work_s: float = 0.0  # the part of loop_s spent on the training work; loop_s / work_s - 1 is the runner's overhead
    best_val: float | None = None  # the best validation value of the task's metric (what best.pt holds)


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


class Interrupts:
    """SIGINT / SIGTERM: the first lets the current step finish and the loop stop cleanly (checkpoint, report);
    a second exits at once."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signal is not None:
            os._exit(128 + signum)
        self.signal = signum

    def __enter__(self) -> "Interrupts":
        if threading.current_thread() is threading.main_thread():  # Python delivers signals there only
            self._previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


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
    checkpoints: Checkpoints | None = None,
    resume: dict[str, Any] | None = None,
    threads=None,
) -> TrainResult:
    """Train until max_steps, the task's stop criterion, a signal or a non-finite loss; `resume` is a loaded
    last.pt to continue from (the same steps, batches and numbers as a run that never stopped); `threads` a
    ThreadPolicy that may change the thread count between steps."""
    generator = seeded(seed, device)
    val_set = task.validation_set(device)
    recent = RecentSequences(task.stop_window if trainer.early_stop else 0)
    counters = {"step": 0, "sequences": 0, "train_time": 0.0, "best": -math.inf, "finished": False}
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        scheduler.load_state_dict(resume["scheduler"])
        restore_rng(resume["rng"], generator)
        task.load_state_dict(resume["task"])
        counters = {"sequences": resume["trainer"]["step"] * trainer.batch_size, **resume["trainer"]}  # older last.pt
        for sequences, wrong in counters.pop("recent"):
            recent.add(sequences, wrong)

    def snapshot() -> dict[str, Any]:
        return {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": capture_rng(generator),
            "task": task.state_dict(),
            "trainer": {**counters, "wall_s": wall_before + time.perf_counter() - started,
                        "recent": [list(b) for b in recent.batches]},
        }

    def validate_and_keep_best(step: int) -> dict:
        metrics = _validate(model, loss_fn, task, val_set, logger, step)
        if metrics[task.metric] > counters["best"]:
            counters["best"] = metrics[task.metric]
            if checkpoints is not None:
                checkpoints.save(BEST, {"model": model.state_dict(), "step": step, "val": metrics})
        return metrics

    status, val, caught = "ok", None, None
    step = first = counters["step"]
    wall_before = counters.pop("wall_s", 0.0)  # the sessions before a resume: wall_s is the whole run's
    started = time.perf_counter()
    bar = tqdm(
        total=trainer.max_steps, initial=first, desc=task.name, disable=None if trainer.progress else True, unit="step"
    )
    model.train()
    loop_started, work_s = time.perf_counter(), 0.0
    with Interrupts() as interrupts:
        for step in range(first + 1, trainer.max_steps + 1) if not counters["finished"] else ():
            tick = time.perf_counter()
            batch = task.make_batch(trainer.batch_size, generator, device)
            outputs = model(batch.x, batch.lengths)
            loss = loss_fn(outputs, batch.y)
            loss_value = loss.item()
            if not math.isfinite(loss_value):  # before the update: the weights and last.pt stay good
                status = f"diverged: loss {loss_value} at step {step}"
                step -= 1
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if trainer.clip_grad_norm > 0:
                nn.utils.clip_grad_norm_(model.parameters(), trainer.clip_grad_norm)
            optimizer.step()
            scheduler.step()
            work = time.perf_counter() - tick  # the training work itself; what follows is the runner's bookkeeping
            counters["train_time"] += work
            counters["sequences"] += len(batch)  # a short last batch of an epoch counts as what it holds
            work_s += work
            predictions = loss_fn.predict(outputs.detach())
            wrong = int((~task.sequences_right(predictions, batch)).sum())
            counters["step"] = step
            bar.update()

            recent.add(len(batch), wrong)
            if step % trainer.log_every == 0:
                train_metrics = task.metrics(predictions, batch)
                logger.scalars(
                    {
                        "train/loss": loss_value,
                        **{f"train/{k}": v for k, v in train_metrics.items() if k not in COUNTS},
                        "train/lr": scheduler.get_last_lr()[0],
                        "train/samples_per_s": counters["sequences"] / counters["train_time"],
                    },
                    step,
                )
                bar.set_postfix(loss=f"{loss_value:.4f}", **{task.metric: f"{train_metrics[task.metric]:.3f}"})
                if threads is not None:  # a large model: fewer threads while another process competes
                    threads.adapt()
            if recent.all_right:
                break
            if step % trainer.eval_every == 0:
                val = validate_and_keep_best(step)
            if interrupts.signal is not None:
                caught = interrupts.signal
                status = "interrupted"
                break
            if checkpoints is not None and trainer.checkpoint_every and step % trainer.checkpoint_every == 0:
                checkpoints.save(LAST, snapshot())
    bar.close()
    loop_s = time.perf_counter() - loop_started
    if status == "ok":
        counters["finished"] = True
        val = validate_and_keep_best(step)
    if checkpoints is not None and not status.startswith("diverged"):
        checkpoints.save(LAST, snapshot())
    train_time = counters["train_time"]
    return TrainResult(
        steps=step,
        sequences_seen=counters["sequences"],
        wall_s=wall_before + time.perf_counter() - started,
        samples_per_s=counters["sequences"] / train_time if train_time > 0 else 0.0,
        loop_s=loop_s,
        work_s=work_s,
        stopped_early=recent.all_right,
        status=status,
        val=val,
        signal=caught,
        best_val=counters["best"] if math.isfinite(counters["best"]) else None,
    )


def _validate(model: nn.Module, loss_fn: Loss, task: Task, val_set: Batch, logger: NullLogger, step: int) -> dict:
    metrics, _ = evaluate(model, loss_fn, task, val_set)
    logger.scalars({f"val/{k}": v for k, v in metrics.items() if k not in COUNTS}, step)
    return metrics
