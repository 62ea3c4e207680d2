"""The training loop and evaluation.

    result = fit(Parts(task, model, loss_fn, optimizer, scheduler), trainer, device, seed, logger)
    # trainer: TrainerSettings (training/settings.py), the validated trainer group with its precision resolved
    metrics, predictions = evaluate(model, loss_fn, task, batch)      # training/evaluate.py

Synthetic tasks get a fresh batch every step from one seeded generator on the device, so a run is a function of
its seed. Training stops at max_steps, or early once the task's criterion holds: the most recent
`task.stop_window` training sequences all right (the 1997 LSTM paper's stopping rule). It also stops, with a
checkpoint, on SIGINT/SIGTERM, and without touching the last good checkpoint on a non-finite loss.
"""

from __future__ import annotations

import itertools
import math
import os
import signal
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from rnnlab.files import BEST, LAST
from rnnlab.models.losses import Loss
from rnnlab.reporting.logger import NullLogger
from rnnlab.tasks.base import COUNTS, Batch, Task, seeded
from rnnlab.training.checkpoints import Checkpoints, capture_rng, restore_rng
from rnnlab.training.evaluate import evaluate
from rnnlab.training.schedules import TimedSchedule
from rnnlab.training.settings import TrainerSettings
from rnnlab.training.state import RecentSequences, TrainState
from rnnlab.training.threads import ThreadPolicy


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
    stopped_by: str = ""  # max_steps, criterion, time budget, interrupted, diverged
    budget_s: float | None = None  # trainer.max_minutes: the seconds of the budget spent (every session)


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

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():  # Python delivers signals there only
            self._previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def train_step(
    model: nn.Module,
    loss_fn: Loss,
    optimizer,
    scheduler,
    batch: Batch,
    clip: float,
    autocast: torch.dtype | None = None,
) -> tuple[float, Tensor]:
    """One update on one batch: (the loss, the outputs). A non-finite loss returns before the update, so the
    weights (and so last.pt) stay good. `autocast` (bf16): the forward pass in that format, the loss in fp32."""
    with torch.autocast(batch.x.device.type, dtype=autocast) if autocast is not None else nullcontext():
        outputs = model(batch.x, batch.lengths)
    outputs = outputs.float()
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


class Parts(NamedTuple):
    """What a run trains: the task, the model, its loss, the optimizer and its schedule."""

    task: Task
    model: nn.Module
    loss_fn: Loss
    optimizer: torch.optim.Optimizer
    scheduler: Any  # torch.optim.lr_scheduler.LRScheduler


# Why a loop ends. A criterion, max_steps or time budget stop is a finished run ("ok"); the other two are not tested.
MAX_STEPS, CRITERION, INTERRUPTED, DIVERGED = "max_steps", "criterion", "interrupted", "diverged"
TIME_BUDGET = "time budget"  # trainer.max_minutes spent
FINISHED = (MAX_STEPS, CRITERION, TIME_BUDGET)


class Training:
    """One fit: the parts, where training stands (TrainState) and the checkpoints it writes."""

    def __init__(
        self,
        parts: Parts,
        trainer: TrainerSettings,
        device: torch.device,
        seed: int,
        logger: NullLogger,
        checkpoints: Checkpoints | None = None,
        threads: ThreadPolicy | None = None,
    ) -> None:
        self.parts, self.trainer, self.device, self.logger = parts, trainer, device, logger
        self.checkpoints, self.threads = checkpoints, threads
        self.generator = seeded(seed, device)
        self.val_set = parts.task.validation_set(device)
        self.state = TrainState(RecentSequences(parts.task.stop_window if trainer.early_stop else 0))
        self.started = time.perf_counter()
        self.val: dict | None = None
        self.diverged = ""  # the non-finite loss and its step
        self.timed = parts.scheduler if isinstance(parts.scheduler, TimedSchedule) else None  # trainer.max_minutes

    def restore(self, resume: dict[str, Any]) -> None:
        """Continue from a loaded last.pt: the same steps, batches and numbers as a run that never stopped."""
        p = self.parts
        p.model.load_state_dict(resume["model"])
        p.optimizer.load_state_dict(resume["optimizer"])
        p.scheduler.load_state_dict(resume["scheduler"])
        restore_rng(resume["rng"], self.generator)
        p.task.load_state_dict(resume["task"])
        self.state.load_state_dict(resume["trainer"], self.trainer.batch_size)
        if (
            self.state.finished
            and self.state.step < self.trainer.max_steps
            and not self.state.recent.all_right
            and self.timed is None
        ):
            self.state.finished = False  # it stopped at the old max_steps: train on to the new one

    def save_last(self) -> None:
        if self.checkpoints is not None:
            p = self.parts
            self.checkpoints.save(
                LAST,
                {
                    "model": p.model.state_dict(),
                    "optimizer": p.optimizer.state_dict(),
                    "scheduler": p.scheduler.state_dict(),
                    "rng": capture_rng(self.generator),
                    "task": p.task.state_dict(),
                    "trainer": self.state.state_dict(time.perf_counter() - self.started),
                },
            )

    def validate(self) -> None:
        """Validation metrics now; best.pt when the task's metric is the best yet."""
        p, step = self.parts, self.state.step
        self.val = _validate(p.model, p.loss_fn, p.task, self.val_set, self.logger, step)
        if self.val[p.task.metric] > self.state.best:
            self.state.best = self.val[p.task.metric]
            if self.checkpoints is not None:
                self.checkpoints.save(BEST, {"model": p.model.state_dict(), "step": step, "val": self.val})

    def step(self, step: int, bar) -> float | None:
        """One training step with its bookkeeping: the seconds of training work, or None on a non-finite loss."""
        p, trainer, state = self.parts, self.trainer, self.state
        tick = time.perf_counter()
        batch = p.task.make_batch(trainer.batch_size, self.generator, self.device)
        loss_value, outputs = train_step(
            p.model, p.loss_fn, p.optimizer, p.scheduler, batch, trainer.clip_grad_norm, trainer.autocast
        )
        if not math.isfinite(loss_value):
            self.diverged = f"loss {loss_value} at step {step}"
            return None
        work = time.perf_counter() - tick  # the training work itself; what follows is the runner's bookkeeping
        state.train_time += work
        state.sequences += len(batch)
        state.step = step
        predictions = p.loss_fn.predict(outputs.detach())
        state.recent.add(len(batch), int((~p.task.sequences_right(predictions, batch)).sum()))
        bar.update()
        if step % trainer.log_every == 0:
            _log_training(self.logger, bar, p.task, predictions, batch, loss_value, p.scheduler, state, step)
            if self.threads is not None:  # a large model: fewer threads while another process competes
                self.threads.adapt()
        return work

    def loop(self, interrupts: Interrupts) -> tuple[str, float]:
        """Steps until a stop: (why it stopped, the seconds of training work in this call)."""
        trainer, state, work_s = self.trainer, self.state, 0.0
        if state.finished:  # a resumed run whose training had ended: straight to the test
            return (CRITERION if state.recent.all_right else TIME_BUDGET if self.timed else MAX_STEPS), work_s
        if self.timed is not None:  # steps until the clock says stop: no step count
            self.timed.start()
            steps: Any = itertools.count(state.step + 1)
        else:
            steps = range(state.step + 1, trainer.max_steps + 1)
        bar = tqdm(
            total=None if self.timed else trainer.max_steps,
            initial=state.step,
            desc=self.parts.task.name,
            unit="step",
            disable=None if trainer.progress else True,
        )
        try:
            for step in steps:
                work = self.step(step, bar)
                if work is None:
                    return DIVERGED, work_s
                work_s += work
                if state.recent.all_right:
                    return CRITERION, work_s
                if step % trainer.eval_every == 0:
                    self.validate()
                if interrupts.signal is not None:
                    return INTERRUPTED, work_s
                if trainer.checkpoint_every and step % trainer.checkpoint_every == 0:
                    self.save_last()
                if self.timed is not None and self.timed.done:
                    return TIME_BUDGET, work_s
            return MAX_STEPS, work_s
        finally:
            bar.close()


def fit(
    parts: Parts,
    trainer: TrainerSettings,
    device: torch.device,
    seed: int,
    logger: NullLogger,
    checkpoints: Checkpoints | None = None,
    resume: dict[str, Any] | None = None,
    threads: ThreadPolicy | None = None,
) -> TrainResult:
    """Train until max_steps, the task's stop criterion, a signal or a non-finite loss; `resume` is a loaded
    last.pt to continue from; `threads` a ThreadPolicy that may change the thread count between steps."""
    training = Training(parts, trainer, device, seed, logger, checkpoints, threads)
    if resume is not None:
        training.restore(resume)
    parts.model.train()
    loop_started = time.perf_counter()
    with Interrupts() as interrupts:
        stop, work_s = training.loop(interrupts)
    loop_s = time.perf_counter() - loop_started
    budget_s = training.timed.elapsed() if training.timed is not None else None  # before the final validation
    state = training.state
    if stop in FINISHED:
        state.finished = True
        training.validate()
    if stop != DIVERGED:  # a non-finite loss leaves last.pt as it was: the last good weights
        training.save_last()
    status = {DIVERGED: f"diverged: {training.diverged}", INTERRUPTED: "interrupted"}.get(stop, "ok")
    return TrainResult(
        steps=state.step,
        sequences_seen=state.sequences,
        wall_s=state.wall_s + time.perf_counter() - training.started,
        samples_per_s=state.sequences / state.train_time if state.train_time > 0 else 0.0,
        loop_s=loop_s,
        work_s=work_s,
        stopped_early=stop == CRITERION,
        status=status,
        val=training.val,
        signal=interrupts.signal if stop == INTERRUPTED else None,
        best_val=state.best if math.isfinite(state.best) else None,
        stopped_by=stop,
        budget_s=budget_s,
    )


def _log_training(
    logger,
    bar,
    task: Task,
    predictions: Tensor,
    batch: Batch,
    loss_value: float,
    scheduler,
    state: TrainState,
    step: int,
) -> None:
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
