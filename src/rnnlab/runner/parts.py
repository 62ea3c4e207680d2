"""The objects of a run, built from its config alone, and the checks that need them: the device, the task x model x
loss combination, memory, precision, and the checkpoint a resumed run continues from.

    task, model, loss_fn = build_parts(cfg, device)            # weights=False: checks only, model on the meta device
    parts = build_run(cfg, device)                             # + optimizer and schedule
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from rnnlab.config.build import OWN, accepted, build, locate
from rnnlab.config.validate import check_device
from rnnlab.errors import ConfigError
from rnnlab.files import LAST, require_last_checkpoint
from rnnlab.models.losses import Loss
from rnnlab.runner.memory import check_memory
from rnnlab.runner.protocol import (
    LARGEST_TRIED,
    check_model_class,
    check_model_output,
    check_task,
)
from rnnlab.runner.width import fit_width
from rnnlab.tasks.base import Task
from rnnlab.training.checkpoints import load_checkpoint
from rnnlab.training.loop import Parts
from rnnlab.training.param_groups import param_groups
from rnnlab.training.precision import check_precision
from rnnlab.training.schedules import TimedSchedule


def resolve_device(name: str) -> torch.device:
    check_device(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device={name}: CUDA is not available on this machine; use device=auto or device=cpu")
        index = torch.device(name).index or 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device={name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return torch.device(name)


def build_parts(cfg: DictConfig, device: torch.device, weights: bool = True) -> tuple[Task, nn.Module, Loss]:
    """Task, model and loss from the config alone; raises ConfigError for combinations that make no sense, for a
    user's class that does not follow the protocol (runner/protocol.py) and for sizes that cannot fit in memory.
    weights=False checks all that and returns the model on the meta device (shapes, no memory). (No optimizer:
    building one imports torch._dynamo, 1.2 s, which a check of the command line need not pay.)"""
    task: Task = build(cfg.task)
    if not _own(cfg.task):
        check_task(task)
    task.check_model(cfg.model)
    loss_fn: Loss = build(cfg.loss).for_task(task)
    loss_fn.check(task)
    outputs = loss_fn.num_outputs(task.num_classes)
    model_cls = locate(cfg.model.get("_target_"), "model")
    # What the model takes from the task: its sizes, and, where its constructor declares it, the longest sequence
    # (chrono initialisation scales to it)
    shape = accepted(
        model_cls,
        {
            "input_size": task.input_size,
            "output_size": outputs,
            "per_step": task.per_step,
            "sequence_steps": task.steps(),
        },
        always=("input_size", "output_size", "per_step"),
    )
    check_model_class(model_cls)
    fit_width(cfg, model_cls, shape)  # model.params: the width nearest that many parameters
    with torch.device("meta"):  # the model's own checks and its size: shapes without memory
        on_meta = build(cfg.model, **shape)
    check_memory(task, on_meta, outputs, cfg.trainer.batch_size, device)  # before anything large is allocated
    check_precision(cfg.trainer.precision, cfg.model.get("cell"), device)
    if not weights:  # the check before a run: its output shapes on a CPU copy, unless too large to build for that
        if sum(p.numel() for p in on_meta.parameters()) <= LARGEST_TRIED:
            with torch.random.fork_rng(devices=[]):
                check_model_output(build(cfg.model, **shape), task, outputs, torch.device("cpu"))
        return task, on_meta, loss_fn
    torch.manual_seed(cfg.seed)  # model initialisation
    model = build(cfg.model, **shape).to(device)
    check_model_output(model, task, outputs, device)  # the run's own model: no second build
    return task, model, loss_fn


def _own(node: DictConfig) -> bool:
    return str(node.get("_target_", "")).startswith(OWN)


def build_run(cfg: DictConfig, device: torch.device) -> Parts:
    """All the objects of a run: build_parts, then the optimizer and its schedule."""
    task, model, loss_fn = build_parts(cfg, device)
    optimizer = build(cfg.optimizer)(param_groups(model, cfg.optimizer.lr))
    scheduler = build(cfg.scheduler)(optimizer)
    if cfg.trainer.get("max_minutes") is not None:  # the schedule spans the time budget, not the steps
        scheduler = TimedSchedule(scheduler, 60 * cfg.trainer.max_minutes)
    return Parts(task, model, loss_fn, optimizer, scheduler)


RESUME_MUST_MATCH = ("task", "model", "loss", "optimizer", "scheduler", "seed")
TRAINING_MUST_MATCH = ("batch_size", "clip_grad_norm", "early_stop", "max_minutes")


def check_weights_fit(model: nn.Module, saved: dict[str, Any], checkpoint: Path) -> None:
    """The checkpoint's weights fit the model built now (a user's class may have changed since): one line saying
    which tensors are missing, unexpected or of another shape."""
    now = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    then = {k: tuple(v.shape) for k, v in saved.items()}
    differences = [
        f"missing {', '.join(sorted(now.keys() - then.keys()))}" if now.keys() - then.keys() else "",
        f"unexpected {', '.join(sorted(then.keys() - now.keys()))}" if then.keys() - now.keys() else "",
        ", ".join(f"{k} {then[k]} now {now[k]}" for k in sorted(now.keys() & then.keys()) if now[k] != then[k]),
    ]
    if differences := [d for d in differences if d]:
        raise ConfigError(
            f"resume=true: the weights in {checkpoint} do not fit the model built now "
            f"({type(model).__name__}): {'; '.join(differences)}"
        )


def load_resume(cfg: DictConfig, run_dir: Path, model: nn.Module | None = None) -> dict[str, Any]:
    """The last.pt to continue from (resume=true), after checking it belongs to this config (and, given the model
    built now, that its weights fit it)."""
    require_last_checkpoint(run_dir)
    payload = load_checkpoint(run_dir / LAST)
    saved = payload["config"]
    trained, steps_then = payload["trainer"]["step"], saved.get("trainer", {}).get("max_steps")
    if cfg.trainer.max_steps < trained:
        raise ConfigError(
            f"resume=true: the run in {run_dir} has trained {trained:,} steps already, more than "
            f"trainer.max_steps={cfg.trainer.max_steps}: resume with trainer.max_steps >= {trained} "
            "(the same number, to finish it as it was)"
        )
    for key in RESUME_MUST_MATCH:
        node = cfg[key]
        current = OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else node
        if saved.get(key) != current:
            if (
                key == "scheduler"
                and cfg.trainer.max_steps != steps_then
                and saved[key].get("_target_") == cfg.scheduler.get("_target_")
            ):
                raise ConfigError(
                    f"resume=true with trainer.max_steps={cfg.trainer.max_steps} (the run had "
                    f"{steps_then}): its schedule spans trainer.max_steps, and would change mid-run; "
                    "resume with the same trainer.max_steps, or train on with scheduler=constant"
                )
            raise ConfigError(
                f"resume=true: {key} differs from the checkpoint's ({run_dir / LAST}); resume with the same {key}"
            )
    for key in TRAINING_MUST_MATCH:  # what the steps already taken were trained with, as the report records it
        if key in saved.get("trainer", {}) and saved["trainer"][key] != cfg.trainer[key]:
            raise ConfigError(
                f"resume=true: the run was trained with trainer.{key}={saved['trainer'][key]}; "
                f"resume with the same (not {cfg.trainer[key]})"
            )
    if model is not None:
        check_weights_fit(model, payload["model"], run_dir / LAST)
    return payload
