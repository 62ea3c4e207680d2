"""Will a run fit in memory? An estimate from the config and the model built on torch's meta device (shapes without
memory), checked before anything is allocated.

    check_memory(task, model_on_meta, num_outputs, batch_size, device)   # ConfigError (one line) when it cannot fit

A size that cannot fit (model.hidden_size=10000000, trainer.batch_size=1000000000, task.test_lengths=[10000000])
would otherwise be found by the allocator, after minutes of training or at once with an unreadable traceback.
The estimate is an order of magnitude, not a promise: it counts the tensors that grow with the sizes (weights
and optimizer state, exactly; the data sets held; the activations one chunk of sequences keeps for
backpropagation, which a model may say itself or which is measured on the meta device) and refuses only runs that
need more than the memory there is.
"""

from __future__ import annotations

import os

import torch
from torch import nn

from rnnlab.config.build import where
from rnnlab.errors import ConfigError
from rnnlab.protocols import member
from rnnlab.tasks.base import TRAINING_BATCH, VALIDATION_SET, Task
from rnnlab.training.evaluate import eval_chunk

FLOAT = 4  # bytes
COPIES_OF_WEIGHTS = 4  # the weights, their gradients, and Adam's two moments
WEIGHTS = "the model's weights and optimizer state"
PROBE_STEPS = (2, 4)  # sequence lengths a model without its own estimate is measured at, on the meta device


def saved_floats_per_step(model: nn.Module, input_size: int) -> float:
    """What one sequence keeps per step for backpropagation, measured: a forward pass on torch's meta device (shapes,
    no memory) at two short lengths, counting the tensors autograd saves, less the weights it saves a view of."""
    weights = {id(p) for p in model.parameters()}

    def saved(steps: int) -> int:
        total = 0

        def pack(t: torch.Tensor) -> torch.Tensor:
            nonlocal total
            if id(t) not in weights and id(t._base) not in weights:
                total += t.numel()
            return t

        x = torch.empty(1, steps, input_size, device="meta", requires_grad=True)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model(x, torch.full((1,), steps, dtype=torch.long, device="meta"))
        return total

    try:
        short, long = (saved(n) for n in PROBE_STEPS)
    except Exception:  # an operation without a meta kernel: count the weights alone
        return 0.0
    return max(long - short, 0) / (PROBE_STEPS[1] - PROBE_STEPS[0])


def floats_per_step(model: nn.Module, input_size: int, num_outputs: int) -> float:
    """Per sequence and step: the input, the output, and what the model keeps for backpropagation (its own
    floats_per_step() where it has one, rnnlab's models do, else measured)."""
    own = member(model, "floats_per_step")
    inside = own() if callable(own) else saved_floats_per_step(model, input_size)
    if isinstance(inside, bool) or not isinstance(inside, (int, float)) or not inside >= 0:
        cls = type(model)
        raise ConfigError(
            f"model {cls.__module__}.{cls.__qualname__} ({where(f'{cls.__module__}.{cls.__qualname__}')}): "
            f"floats_per_step() returned {inside!r}; it says how many floats one sequence keeps per step, "
            "a number >= 0"
        )
    return input_size + inside + num_outputs


def available_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f)
        return int(info["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):  # not Linux: the physical memory
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def show(nbytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if nbytes < 1000 or unit == "PB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000
    return ""


def needs(task: Task, model: nn.Module, num_outputs: int, batch_size: int) -> dict[str, float]:
    """Bytes at the peak of each phase, by what dominates it; `model` may live on the meta device."""
    weights = sum(p.numel() for p in model.parameters()) * FLOAT * COPIES_OF_WEIGHTS
    per_step = floats_per_step(model, task.input_size, num_outputs) * FLOAT
    sets = task.sets(batch_size)
    held = {what: n * steps * (task.input_size + 2) * FLOAT for what, (n, steps) in sets.items()}  # x, y, lengths
    tests = {what: size for what, size in held.items() if what not in (TRAINING_BATCH, VALIDATION_SET)}
    val = held[VALIDATION_SET]
    n, steps = sets[TRAINING_BATCH]
    phases = {
        WEIGHTS: weights,
        TRAINING_BATCH: weights + val + 2 * n * steps * per_step,  # forward activations and their gradients
        VALIDATION_SET: weights + val + _chunk_bytes(model, *sets[VALIDATION_SET], per_step),
    }
    for what, (n, steps) in sets.items():
        if what in tests:  # evaluated in chunks as training/loop.py's evaluate does
            phases[what] = weights + sum(tests.values()) + _chunk_bytes(model, n, steps, per_step)
    return phases


def _chunk_bytes(model: nn.Module, n: int, steps: int, per_step: float) -> float:
    """One evaluation pass: the chunk of sequences training/loop.py's evaluate runs at once."""
    return min(eval_chunk(model, steps), n) * steps * per_step


SUGGESTIONS = {
    WEIGHTS: "a smaller model.hidden_size or model.num_layers",
    TRAINING_BATCH: "a smaller trainer.batch_size or shorter training sequences",
    VALIDATION_SET: "a smaller task.val_size",
}


def check_memory(task: Task, model: nn.Module, num_outputs: int, batch_size: int, device: torch.device) -> None:
    phases = needs(task, model, num_outputs, batch_size)
    # The weights are part of every phase: when they alone cannot fit, they are what to change.
    free = available_bytes(device)
    what, peak = (WEIGHTS, phases[WEIGHTS]) if phases[WEIGHTS] > free else max(phases.items(), key=lambda item: item[1])
    if peak > free:
        advice = SUGGESTIONS.get(what, "shorter task.test_lengths or a smaller task.test_size")
        raise ConfigError(
            f"this run needs about {show(peak)} of memory for {what}, more than the {show(free)} "
            f"available on {device}: use {advice}"
        )
