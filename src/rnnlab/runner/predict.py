"""Predict digits in people's own images (photos, scans) with a model trained on the mnist task.

    rnnlab-predict checkpoint=outputs/mnist/2026-11-23_11-00-00 inputs='photos/*.jpg'

Each image is first turned upright by its EXIF orientation (phones store photos sideways with a tag) and a
transparent background becomes white paper. Then it goes through the recipe MNIST itself was made with:
grayscale; dark ink on light paper is inverted
to light ink on black; cropped to the digit; scaled to fit 20x20 keeping the aspect ratio; placed in 28x28 with
its centre of mass at the centre; normalised like the training data.
"""

from __future__ import annotations

import csv
import glob
import io
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from rnnlab.errors import ConfigError
from rnnlab.files import write_atomic
from rnnlab.tasks.mnist import MNIST, load_photo
from rnnlab.training.checkpoints import load_checkpoint

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def find_inputs(inputs: str) -> list[Path]:
    """A file, a directory (its image files) or a glob pattern -> sorted paths."""
    path = Path(inputs).expanduser()
    if path.is_dir():
        found = [p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    elif path.exists():
        found = [path]
    else:
        found = [Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file()]
    if not found:
        raise ConfigError(
            f"inputs={inputs}: no image files found (give a file, a directory or a glob like 'photos/*.jpg')"
        )
    return sorted(found)


@dataclass
class Prediction:
    path: Path
    digit: int | None = None
    probability: float | None = None
    error: str | None = None


def predict_files(checkpoint: str | Path, paths: list[Path], device: torch.device) -> list[Prediction]:
    from rnnlab.runner.parts import (
        build_parts,  # torch-heavy imports stay out of the CLI's start-up
    )

    payload = load_checkpoint(checkpoint)
    cfg_dict = payload["config"]
    if not cfg_dict["task"]["_target_"].endswith(".MNIST"):
        raise ConfigError(
            f"checkpoint={checkpoint} is a run of {cfg_dict['task']['_target_'].rsplit('.', 1)[-1]}; "
            "rnnlab-predict needs a run of the mnist task"
        )
    from omegaconf import OmegaConf

    task, model, loss_fn = build_parts(OmegaConf.create(cfg_dict), device)
    mnist = cast(MNIST, task)  # its _target_ was checked above
    model.load_state_dict(payload["model"])
    model.eval()
    results, images = [], []
    for path in paths:
        try:
            images.append(load_photo(path))
            results.append(Prediction(path))
        except Image.DecompressionBombError:  # PIL's guard against images that would fill the memory
            results.append(Prediction(path, error=f"too large to open (over {Image.MAX_IMAGE_PIXELS:,} pixels)"))
        except (UnidentifiedImageError, OSError, ValueError) as err:
            reason = "not a readable image" if isinstance(err, (UnidentifiedImageError, OSError)) else str(err)
            results.append(Prediction(path, error=reason))
    good = [r for r in results if r.error is None]
    if good:
        x = mnist.encode(torch.from_numpy(np.stack(images)).to(device))
        with torch.no_grad():
            probabilities = loss_fn.probabilities(model(x, torch.full((len(x),), x.shape[1], device=device)))
        best, digits = probabilities.max(dim=-1)
        for result, digit, probability in zip(good, digits.tolist(), best.tolist()):
            result.digit, result.probability = digit, probability
    return results


def write_predictions(path: Path, results: list[Prediction]) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["file", "digit", "probability", "error"])
    for r in results:
        writer.writerow(
            [
                str(r.path),
                "" if r.digit is None else r.digit,
                "" if r.probability is None else f"{r.probability:.4f}",
                r.error or "",
            ]
        )
    write_atomic(path, out.getvalue())
