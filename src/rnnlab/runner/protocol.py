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
from rnnlab.errors import ConfigError
from rnnlab.tasks.base import Batch, Task, seeded

CHECK_STEPS = 5  # steps of the sequences a model is tried on
LARGEST_TRIED = 20_000_000  # parameters: a larger model is not built for real just to try its shapes
TASK_SIZES = {"name": str, "input_size": int, "num_classes": int, "per_step": bool}


def _name(obj_or_cls) -> str:
    cls = obj_or_cls if inspect.isclass(obj_or_cls) else type(obj_or_cls)
    target = f"{cls.__module__}.{cls.__qualname__}"
    return f"{target} ({where(target)})"


def check_task(task) -> None:
    """A user's task has the sizes and methods the runner calls, and its batches have the shapes they promise."""
    if not isinstance(task, Task):
        raise ConfigError(f"task {_name(task)} does not subclass rnnlab.Task: write class "
                          f"{type(task).__name__}(rnnlab.Task) (docs/extending.md)")
    for attribute, kind in TASK_SIZES.items():
        value = getattr(task, attribute, None)
        if not isinstance(value, kind) or (kind is int and (isinstance(value, bool) or value < 1)):
            raise ConfigError(f"task {_name(task)} must set {attribute} (a {kind.__name__}"
                              f"{' >= 1' if kind is int else ''}), got {value!r}")
    cpu = torch.device("cpu")
    try:
        batch = task.make_batch(2, seeded(0, cpu), cpu)
        steps = task.steps()
    except Exception as err:
        raise ConfigError(f"task {_name(task)}: make_batch(2, generator, device) failed: {type(err).__name__}: {err}") from None
    if not isinstance(batch, Batch):
        raise ConfigError(f"task {_name(task)}: make_batch must return an rnnlab.Batch(x, y, lengths), got {type(batch).__name__}")
    expected_y = (2, batch.x.shape[1]) if task.per_step else (2,)
    problems = [
        (tuple(batch.x.shape[::2]) != (2, task.input_size) or not batch.x.is_floating_point(),
         f"x must be float (n, steps, input_size={task.input_size}), got {batch.x.dtype} {tuple(batch.x.shape)}"),
        (tuple(batch.y.shape) != expected_y, f"y must be {'(n, steps)' if task.per_step else '(n,)'}, got {tuple(batch.y.shape)}"),
        (tuple(batch.lengths.shape) != (2,) or batch.lengths.dtype != torch.long,
         f"lengths must be long (n,), got {batch.lengths.dtype} {tuple(batch.lengths.shape)}"),
        (batch.x.shape[1] > steps, f"steps() says {steps} steps at most, but make_batch made {batch.x.shape[1]}"),
    ]
    if bad := next((message for wrong, message in problems if wrong), None):
        raise ConfigError(f"task {_name(task)}: make_batch: {bad}")


def check_model_class(model_cls: type) -> None:
    """The class is an nn.Module whose forward takes (x, lengths): checked before anything is built."""
    if not issubclass(model_cls, nn.Module):
        raise ConfigError(f"model {_name(model_cls)} is not a torch.nn.Module")
    try:
        inspect.signature(model_cls.forward).bind(None, "x", "lengths")
    except TypeError:
        raise ConfigError(f"model {_name(model_cls)}: forward must take (x, lengths), "
                          f"not {inspect.signature(model_cls.forward)}") from None


def check_model_output(model: nn.Module, task: Task, outputs: int, device: torch.device) -> None:
    """The model returns the shape the task reads, tried on two short sequences (in eval mode, without touching the
    random state the run goes on with)."""
    steps = max(1, min(CHECK_STEPS, task.steps()))
    x = torch.zeros(2, steps, task.input_size, device=device)
    lengths = torch.tensor([steps, max(1, steps - 1)], device=device)
    was_training = model.training
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), torch.no_grad():
        try:
            out = model.eval()(x, lengths)
        except Exception as err:
            raise ConfigError(f"model {_name(model)}: forward(x, lengths) failed on x {tuple(x.shape)}: "
                              f"{type(err).__name__}: {err}") from None
        finally:
            model.train(was_training)
    expected = (2, steps, outputs) if task.per_step else (2, outputs)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        what = "one output per step" if task.per_step else "one output per sequence"
        raise ConfigError(f"model {_name(model)}: forward returned {shape} for x {tuple(x.shape)}; "
                          f"{task.name} needs {what}: {expected} (n, {'steps, ' if task.per_step else ''}outputs)")
