"""Checkpoints: everything a run needs to continue exactly where it stopped, written atomically.

    save_checkpoint(run_dir / "last.pt", payload)     # temp file + rename: a crash leaves the old file intact
    payload = load_checkpoint(path)                    # ConfigError (one line) for a missing or corrupt file

`last.pt` holds model, optimizer, scheduler, the trainer's counters and every random state (torch, CUDA, NumPy,
Python, the task's batch generator) plus the resolved config; `best.pt` holds the model with the best
validation metric. Files load with ``weights_only=True``: no pickled code runs on load.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnlab.errors import ConfigError
from rnnlab.files import BEST, LAST, write_atomic

FORMAT = 1


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, **payload}, buffer)
    write_atomic(path, buffer.getvalue())


@dataclass
class Checkpoints:
    """Where a run keeps its checkpoints; `extra` (the resolved config) goes into every file."""

    run_dir: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A save killed mid-write (kill -9, power) leaves its temporary file behind; the checkpoint it was to
        # replace is intact (saves rename a finished file into place), so the leftover is only clutter.
        for name in (LAST, BEST):
            for stale in Path(self.run_dir).glob(f".{name}.*.tmp"):
                stale.unlink(missing_ok=True)

    def save(self, name: str, payload: dict[str, Any]) -> None:
        save_checkpoint(Path(self.run_dir) / name, {**payload, **self.extra})


def resolve_checkpoint(path: str | Path) -> Path:
    """A run dir means its last.pt; a file means itself."""
    path = Path(path)
    if path.is_dir():
        path = path / LAST
    if not path.is_file():
        raise ConfigError(f"checkpoint={path}: no such file (give a run dir with a {LAST}, or a .pt file)")
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = resolve_checkpoint(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torn, truncated or foreign files all end here
        raise ConfigError(f"checkpoint={path} is not a readable rnnlab checkpoint: {type(err).__name__}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ConfigError(f"checkpoint={path} is not an rnnlab checkpoint (format {FORMAT})")
    if isinstance(payload.get("config"), dict):
        _follow_moves(payload["config"])
    return payload


# Classes that moved when the package was split into subpackages: a checkpoint saved before still loads.
MOVED = {
    "rnnlab.models.RecurrentNet": "rnnlab.models.recurrent.RecurrentNet",
    "rnnlab.scratch.ScratchRNN": "rnnlab.models.scratch.ScratchRNN",
    "rnnlab.schedules.HoldCosine": "rnnlab.training.schedules.HoldCosine",
    **{f"rnnlab.losses.{name}": f"rnnlab.models.losses.{name}" for name in ("CrossEntropy", "NLL", "MSE", "BCE")},
    **{f"rnnlab.logger.{name}": f"rnnlab.reporting.logger.{name}" for name in ("NullLogger", "TensorBoardLogger")},
}


def _follow_moves(config: dict) -> None:
    for node in config.values():
        if isinstance(node, dict) and node.get("_target_") in MOVED:
            node["_target_"] = MOVED[node["_target_"]]


def capture_rng(generator: torch.Generator) -> dict[str, Any]:
    state: Any = np.random.get_state()  # ('MT19937', keys, pos, has_gauss, cached_gaussian)
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [state[0], torch.from_numpy(state[1].copy()), *state[2:]],
        "python": random.getstate(),
        "task": generator.get_state(),
    }


def restore_rng(state: dict[str, Any], generator: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy(), *rest))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    generator.set_state(state["task"])
