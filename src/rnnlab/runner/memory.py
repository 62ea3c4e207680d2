"""Will a run fit in memory? An estimate from the config alone, checked before anything is allocated.

    check_memory(task, model_cfg, num_outputs, batch_size, device)   # ConfigError (one line) when it cannot fit

A size that cannot fit (model.hidden_size=10000000, trainer.batch_size=1000000000, task.test_lengths=[10000000])
would otherwise be found by the allocator, after minutes of training or at once with an unreadable traceback.
The estimate is an order of magnitude, not a promise: it counts the tensors that grow with the sizes (weights
and optimizer state, the data sets held, the activations one chunk of sequences keeps for backpropagation) and
refuses only runs that need more than the memory there is.
"""

from __future__ import annotations

import os

import torch

from rnnlab.errors import ConfigError
from rnnlab.tasks.base import TRAINING_BATCH, VALIDATION_SET, Task

FLOAT = 4  # bytes
GATES = {"rnn": 1, "gru": 3, "lstm": 4}  # weight blocks per layer of each cell (scratch_rnn: a tanh rnn)
EVAL_CHUNK = 1000  # sequences per forward pass in train.evaluate
COPIES_OF_WEIGHTS = 4  # the weights, their gradients, and Adam's two moments
WEIGHTS = "the model's weights and optimizer state"


def parameter_count(model_cfg, input_size: int, num_outputs: int) -> int:
    """The recurrent layers' and the readout's parameters, as torch counts them (attention adds a few per head)."""
    cell, hidden = model_cfg.get("cell", "rnn"), model_cfg.hidden_size
    layers, directions = model_cfg.get("num_layers", 1), 2 if model_cfg.get("bidirectional", False) else 1
    gates, count, size_in = GATES[cell] * hidden, 0, input_size
    for _ in range(layers):
        count += directions * (gates * (size_in + hidden) + 2 * gates)
        size_in = directions * hidden
    heads = model_cfg.get("attention_heads", 1) if model_cfg.get("attention", "none") != "none" else 0
    readout = size_in * (1 + heads)
    return count + heads * size_in * (size_in + input_size + 8) + readout * num_outputs + num_outputs


def floats_per_step(model_cfg, input_size: int, num_outputs: int) -> int:
    """What one sequence keeps per step for backpropagation: input, gates, cell and hidden state of every layer."""
    cell, hidden = model_cfg.get("cell", "rnn"), model_cfg.hidden_size
    directions = 2 if model_cfg.get("bidirectional", False) else 1
    per_layer = directions * hidden * (GATES[cell] + 2)
    attends = model_cfg.get("attention", "none") != "none"
    attention = model_cfg.get("attention_heads", 1) * directions * hidden if attends else 0
    return input_size + model_cfg.get("num_layers", 1) * per_layer + attention + num_outputs


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


def needs(task: Task, model_cfg, num_outputs: int, batch_size: int) -> dict[str, float]:
    """Bytes at the peak of each phase, by what dominates it."""
    weights = parameter_count(model_cfg, task.input_size, num_outputs) * FLOAT * COPIES_OF_WEIGHTS
    per_step = floats_per_step(model_cfg, task.input_size, num_outputs) * FLOAT
    sets = task.sets(batch_size)
    held = {what: n * steps * (task.input_size + 2) * FLOAT for what, (n, steps) in sets.items()}  # x, y, lengths
    tests = {what: size for what, size in held.items() if what not in (TRAINING_BATCH, VALIDATION_SET)}
    val = held[VALIDATION_SET]
    n, steps = sets[TRAINING_BATCH]
    phases = {
        WEIGHTS: weights,
        TRAINING_BATCH: weights + val + 2 * n * steps * per_step,  # forward activations and their gradients
        VALIDATION_SET: weights + val + min(EVAL_CHUNK, sets[VALIDATION_SET][0]) * steps * per_step,
    }
    for what, (n, steps) in sets.items():
        if what in tests:
            phases[what] = weights + sum(tests.values()) + min(EVAL_CHUNK, n) * steps * per_step
    return phases


SUGGESTIONS = {
    WEIGHTS: "a smaller model.hidden_size or model.num_layers",
    TRAINING_BATCH: "a smaller trainer.batch_size or shorter training sequences",
    VALIDATION_SET: "a smaller task.val_size",
}


def check_memory(task: Task, model_cfg, num_outputs: int, batch_size: int, device: torch.device) -> None:
    phases = needs(task, model_cfg, num_outputs, batch_size)
    # The weights are part of every phase: when they alone cannot fit, they are what to change.
    free = available_bytes(device)
    what, peak = (WEIGHTS, phases[WEIGHTS]) if phases[WEIGHTS] > free else max(phases.items(), key=lambda item: item[1])
    if peak > free:
        advice = SUGGESTIONS.get(what, "shorter task.test_lengths or a smaller task.test_size")
        raise ConfigError(f"this run needs about {show(peak)} of memory for {what}, more than the {show(free)} "
                          f"available on {device}: use {advice}")
