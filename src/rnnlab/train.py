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


@dataclass
class TrainState:
    """Where training stands: what last.pt keeps under "trainer", and what a resumed run continues from."""

    recent: RecentSequences  # the stop rule's window of recent training sequences
    step: int = 0  # steps done
    sequences: int = 0  # training sequences seen (a short last batch of an epoch counts as what it holds)
    train_time: float = 0.0  # seconds of training work (batch, forward, backward, update), every session
    wall_s: float = 0.0  # seconds of the sessions before this one
    best: float = -math.inf  # the best validation value of the task's metric (what best.pt holds)
    finished: bool = False  # training ended: a resume goes straight to the test

    def state_dict(self, session_s: float) -> dict[str, Any]:
        return {"step": self.step, "sequences": self.sequences, "train_time": self.train_time,
                "wall_s": self.wall_s + session_s, "best": self.best, "finished": self.finished,
                "recent": [list(b) for b in self.recent.batches]}

    def load_state_dict(self, saved: dict[str, Any], batch_size: int) -> None:
        self.step, self.best, self.finished = saved["step"], saved["best"], saved["finished"]
        self.train_time, self.wall_s = saved["train_time"], saved.get("wall_s", 0.0)
        self.sequences = saved.get("sequences", saved["step"] * batch_size)  # a last.pt from before it was counted
        for sequences, wrong in saved["recent"]:
            self.recent.add(sequences, wrong)


def train_step(model: nn.Module, loss_fn: Loss, optimizer, scheduler, batch: Batch, clip: float) -> tuple[float, Tensor]:
    """One update on one batch: (the loss, the outputs). A non-finite loss returns before the update, so the
    weights (and so last.pt) stay good."""
    outputs = model(batch.x, batch.lengths)
    loss = loss_fn(outputs, batch.y)
    loss_value = loss.item()
    if not math.isfinite(loss_value):
        return loss_value, outputs
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if clip > 0:
        nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    scheduler.step()
    return loss_value, outputs


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
    state = TrainState(RecentSequences(task.stop_window if trainer.early_stop else 0))
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        scheduler.load_state_dict(resume["scheduler"])
        restore_rng(resume["rng"], generator)
        task.load_state_dict(resume["task"])
        state.load_state_dict(resume["trainer"], trainer.batch_size)
    started = time.perf_counter()

    def save_last() -> None:
        if checkpoints is not None:
            checkpoints.save(LAST, {
                "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "rng": capture_rng(generator), "task": task.state_dict(),
                "trainer": state.state_dict(time.perf_counter() - started),
            })

    def validate_and_keep_best(step: int) -> dict:
        metrics = _validate(model, loss_fn, task, val_set, logger, step)
        if metrics[task.metric] > state.best:
            state.best = metrics[task.metric]
            if checkpoints is not None:
                checkpoints.save(BEST, {"model": model.state_dict(), "step": step, "val": metrics})
        return metrics

    status, val, caught = "ok", None, None  # status: ok, or why training stopped short
    first = state.step
    bar = tqdm(total=trainer.max_steps, initial=first, desc=task.name, disable=None if trainer.progress else True,
               unit="step")
    model.train()
    loop_started, work_s = time.perf_counter(), 0.0
    with Interrupts() as interrupts:
        for step in range(first + 1, trainer.max_steps + 1) if not state.finished else ():
            tick = time.perf_counter()
            batch = task.make_batch(trainer.batch_size, generator, device)
            loss_value, outputs = train_step(model, loss_fn, optimizer, scheduler, batch, trainer.clip_grad_norm)
            if not math.isfinite(loss_value):
                status = f"diverged: loss {loss_value} at step {step}"
                break
            work = time.perf_counter() - tick  # the training work itself; what follows is the runner's bookkeeping
            work_s += work
            state.train_time += work
            state.sequences += len(batch)
            state.step = step
            predictions = loss_fn.predict(outputs.detach())
            state.recent.add(len(batch), int((~task.sequences_right(predictions, batch)).sum()))
            bar.update()
            if step % trainer.log_every == 0:
                _log_training(logger, bar, task, predictions, batch, loss_value, scheduler, state, step)
                if threads is not None:  # a large model: fewer threads while another process competes
                    threads.adapt()
            if state.recent.all_right:
                break
            if step % trainer.eval_every == 0:
                val = validate_and_keep_best(step)
            if interrupts.signal is not None:
                status, caught = "interrupted", interrupts.signal
                break
            if trainer.checkpoint_every and step % trainer.checkpoint_every == 0:
                save_last()
    bar.close()
    loop_s = time.perf_counter() - loop_started
    if status == "ok":
        state.finished = True
        val = validate_and_keep_best(state.step)
    if not status.startswith("diverged"):
        save_last()
    return TrainResult(
        steps=state.step,
        sequences_seen=state.sequences,
        wall_s=state.wall_s + time.perf_counter() - started,
        samples_per_s=state.sequences / state.train_time if state.train_time > 0 else 0.0,
        loop_s=loop_s,
        work_s=work_s,
        stopped_early=state.recent.all_right,
        status=status,
        val=val,
        signal=caught,
        best_val=state.best if math.isfinite(state.best) else None,
    )


def _log_training(logger, bar, task: Task, predictions: Tensor, batch: Batch, loss_value: float, scheduler,
                  state: TrainState, step: int) -> None:
    metrics = task.metrics(predictions, batch)
    logger.scalars(
        {
            "train/loss": loss_value,
            **{f"train/{k}": v for k, v in metrics.items() if k not in COUNTS},
            "train/lr": scheduler.get_last_lr()[0],
            "train/samples_per_s": state.sequences / state.train_time,
        },
        step,
    )
    bar.set_postfix(loss=f"{loss_value:.4f}", **{task.metric: f"{metrics[task.metric]:.3f}"})


def _validate(model: nn.Module, loss_fn: Loss, task: Task, val_set: Batch, logger: NullLogger, step: int) -> dict:
    metrics, _ = evaluate(model, loss_fn, task, val_set)
    logger.scalars({f"val/{k}": v for k, v in metrics.items() if k not in COUNTS}, step)
    return metrics
