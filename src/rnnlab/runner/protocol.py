"""What a model and a task must do for the runner, checked before a run starts, so that a user's class that does not
fit is one line naming its file and what is wrong, not a traceback after minutes of training.

A model: an nn.Module built as Class(input_size=..., output_size=..., per_step=..., **its config keys) whose
forward(x, lengths) takes x float (n, steps, input_size) and lengths long (n,) and returns (n, steps, output_size)
when per_step, else (n, output_size). A task: a subclass of rnnlab.Task with its sizes, make_batch, steps and
describe (docs/extending.md).
"""

from __future__ import annotations

import inspect

import torch
from torch import nn

from rnnlab.config.build import where
from rnnlab.errors import USER_CODE_ERRORS, ConfigError, explain
from rnnlab.tasks.base import IGNORE, Batch, Task, seeded

CHECK_STEPS = 5  # steps of the short sequences a model is tried on (and at the longest length the run uses)
LARGEST_TRIED = 20_000_000  # parameters: a larger model is not built for real just to try its shapes
TASK_SIZES: dict[str, type] = {"name": str, "input_size": int, "num_classes": int, "per_step": bool}


def _name(obj_or_cls) -> str:
    cls = obj_or_cls if inspect.isclass(obj_or_cls) else type(obj_or_cls)
    target = f"{cls.__module__}.{cls.__qualname__}"
    return f"{target} ({where(target)})"


def check_task(task) -> None:
    """A user's task has the sizes and methods the runner calls, and its batches have the shapes they promise."""
    if not isinstance(task, Task):
        raise ConfigError(
            f"task {_name(task)} does not subclass rnnlab.Task: write class "
            f"{type(task).__name__}(rnnlab.Task) (docs/extending.md)"
        )
    for attribute, kind in TASK_SIZES.items():
        value = getattr(task, attribute, None)
        if not isinstance(value, kind) or (
            isinstance(value, int) and kind is int and (isinstance(value, bool) or value < 1)
        ):
            raise ConfigError(
                f"task {_name(task)} must set {attribute} (a {kind.__name__}"
                f"{' >= 1' if kind is int else ''}), got {value!r}"
            )
    cpu = torch.device("cpu")
    for length in [None, *task.test_lengths]:  # every set the run will draw: training, then each test length
        call = "make_batch(2, generator, device" + (f", length={length})" if length is not None else ")")
        try:
            batch = task.make_batch(2, seeded(0, cpu), cpu, *([length] if length is not None else []))
            steps = task.steps(length) if length is not None else task.steps()
        except USER_CODE_ERRORS as err:
            raise ConfigError(f"task {_name(task)}: {call} failed: {explain(err)}") from None
        if bad := _batch_problem(task, batch, steps):
            raise ConfigError(f"task {_name(task)}: {call}: {bad}")


def _batch_problem(task: Task, batch, steps: int) -> str | None:
    """What is wrong with a batch of two sequences, or None: shapes, types, lengths, finite inputs, targets the loss
    can take."""
    if not isinstance(batch, Batch):
        return f"make_batch must return an rnnlab.Batch(x, y, lengths), got {type(batch).__name__}"
    expected_y = (2, batch.x.shape[1]) if task.per_step else (2,)
    shapes = [
        (
            tuple(batch.x.shape[::2]) != (2, task.input_size) or not batch.x.is_floating_point(),
            f"x must be float (n, steps, input_size={task.input_size}), got {batch.x.dtype} {tuple(batch.x.shape)}",
        ),
        (
            tuple(batch.y.shape) != expected_y,
            f"y must be {'(n, steps)' if task.per_step else '(n,)'}, got {tuple(batch.y.shape)}",
        ),
        (
            tuple(batch.lengths.shape) != (2,) or batch.lengths.dtype != torch.long,
            f"lengths must be long (n,), got {batch.lengths.dtype} {tuple(batch.lengths.shape)}",
        ),
        (batch.x.shape[1] > steps, f"steps() says {steps} steps at most, but make_batch made {batch.x.shape[1]}"),
    ]
    if bad := next((message for wrong, message in shapes if wrong), None):
        return bad
    lengths, y = batch.lengths, batch.y
    scored = y != IGNORE
    values = [
        (
            ((lengths < 1) | (lengths > batch.x.shape[1])).any(),
            f"lengths must be 1 to the steps of x ({batch.x.shape[1]}), got {lengths.tolist()}",
        ),
        (not torch.isfinite(batch.x).all(), "x holds NaN or Inf"),
        (task.regression and not y.is_floating_point(), f"y must be float for a regression task, got {y.dtype}"),
        (
            not task.regression and y.is_floating_point(),
            f"y must hold class indices (long), got {y.dtype}: the loss takes integers 0..{task.num_classes - 1}",
        ),
        (
            not task.regression and ((y[scored] < 0) | (y[scored] >= task.num_classes)).any(),
            f"y holds {sorted(set(y[scored & ((y < 0) | (y >= task.num_classes))].tolist()))[:5]}: the classes are "
            f"0..{task.num_classes - 1} (num_classes={task.num_classes}), or IGNORE ({IGNORE}) for a step not scored",
        ),
        (task.regression and not torch.isfinite(y).all(), "y holds NaN or Inf"),
        (not scored.any(), f"nothing in the batch is scored: every y is IGNORE ({IGNORE})"),
    ]
    return next((message for wrong, message in values if wrong), None)


def check_model_class(model_cls: type) -> None:
    """The class is an nn.Module whose forward takes (x, lengths): checked before anything is built."""
    if not issubclass(model_cls, nn.Module):
        raise ConfigError(f"model {_name(model_cls)} is not a torch.nn.Module")
    try:
        inspect.signature(model_cls.forward).bind(None, "x", "lengths")
    except TypeError:
        raise ConfigError(
            f"model {_name(model_cls)}: forward must take (x, lengths), not {inspect.signature(model_cls.forward)}"
        ) from None


def check_model_output(model: nn.Module, task: Task, outputs: int, device: torch.device) -> None:
    """The model does what the run will ask of it, on two sequences: in training mode with a backward pass (the
    gradient reaches a parameter) at the longest length training or testing will use, and in eval mode, short and
    long. Without touching the random state or the weights and buffers the run goes on with."""
    if not any(True for _ in model.parameters()):
        raise ConfigError(f"model {_name(model)} has no parameters: the optimizer would have nothing to train")
    longest = max([task.steps(), *(task.steps(n) for n in task.test_lengths)])
    short = max(1, min(CHECK_STEPS, task.steps()))
    saved = {k: v.detach().clone() for k, v in model.state_dict().items()}  # a train-mode pass moves BatchNorm's
    was_training = model.training
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        try:
            for steps, training in ((short, False), (longest, True), (longest, False)):
                _try_forward(model, task, outputs, device, steps, training)
        finally:
            model.load_state_dict(saved)
            model.zero_grad(set_to_none=True)
            model.train(was_training)


def _try_forward(model: nn.Module, task: Task, outputs: int, device: torch.device, steps: int, training: bool) -> None:
    x = torch.zeros(2, steps, task.input_size, device=device)
    lengths = torch.tensor([steps, max(1, steps - 1)], device=device)
    mode = "training" if training else "eval"
    try:
        with torch.set_grad_enabled(training):
            out = model.train(training)(x, lengths)
    except USER_CODE_ERRORS as err:
        raise ConfigError(
            f"model {_name(model)}: forward(x, lengths) in {mode} mode failed on x {tuple(x.shape)}: {explain(err)}"
        ) from None
    expected = (2, steps, outputs) if task.per_step else (2, outputs)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        what = "one output per step" if task.per_step else "one output per sequence"
        raise ConfigError(
            f"model {_name(model)}: forward returned {shape} for x {tuple(x.shape)} in {mode} mode; "
            f"{task.name} needs {what}: {expected} (n, {'steps, ' if task.per_step else ''}outputs)"
        )
    if not out.is_floating_point():
        raise ConfigError(
            f"model {_name(model)}: forward returned {out.dtype} in {mode} mode; the loss needs real "
            "floating-point outputs"
        )
    if not training:
        return
    if not out.requires_grad:
        raise ConfigError(
            f"model {_name(model)}: forward's output in training mode has no gradient (detached, or "
            "computed without its parameters): training would change nothing"
        )
    try:
        out.float().sum().backward()
    except USER_CODE_ERRORS as err:
        raise ConfigError(
            f"model {_name(model)}: the backward pass failed on x {tuple(x.shape)}: {explain(err)}"
        ) from None
    if all(p.grad is None for p in model.parameters()):
        raise ConfigError(f"model {_name(model)}: no gradient reaches any parameter: training would change nothing")
