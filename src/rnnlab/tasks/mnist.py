"""MNIST read by a recurrent network: one image row (28 pixels) per step, or one pixel per step.

    rnnlab task=mnist model=lstm task.root=../shared/data
    rnnlab task=mnist task.layout=pixels task.permute=true        # sequential / permuted MNIST (784 steps)

The files are torchvision's (`<root>/MNIST/raw/`, downloaded there when `task.download=true`). The 60,000
training images are split 50,000 / 10,000 into train and validation, stratified by class with a fixed seed; the
official 10,000 test images are the test set. Each split lives as one normalised tensor on the device and a batch
is a slice of a random permutation (an epoch without a DataLoader).
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from rnnlab.errors import ConfigError
from rnnlab.tasks.base import TRAINING_BATCH, VALIDATION_SET, Batch, Task, user_path

if TYPE_CHECKING:
    from PIL import Image

MEAN, STD = 0.1307, 0.3081
SIDE = 28
SPLIT_SEED = 20_231_123
PERMUTATION_SEED = 1_234_567
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _raw_dir(root: str | Path) -> Path:
    return Path(root) / "MNIST" / "raw"


@functools.lru_cache(maxsize=4)
def load_mnist(root: str, download: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """(train images uint8 (60000, 28, 28), train labels, test images, test labels) through torchvision.

    A missing, undownloadable or corrupt set is a ConfigError that says where the files belong."""
    from torchvision.datasets import (
        MNIST,  # imported here: it is slow to import and only this task needs it
    )

    where = _raw_dir(root)
    missing = [f for f in FILES if not (where / f).exists()]
    if missing and not download:
        raise ConfigError(
            f"task.root={root}: MNIST files missing in {where}/ ({', '.join(missing)}); put the four idx files "
            "there (torchvision layout) or set task.download=true"
        )
    new = next((d for d in reversed([where, *where.parents]) if not d.exists()), None)  # the first dir a download makes
    try:
        train = MNIST(root, train=True, download=download)
        test = MNIST(root, train=False, download=False)
    except ConfigError:
        raise
    except Exception as err:  # no network, a checksum that fails, a truncated or foreign file
        if new is not None:  # a download that failed leaves no directories (nor partial files) behind
            shutil.rmtree(new, ignore_errors=True)
        lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()] or [type(err).__name__]
        reason = " ".join(lines[:2]) if lines[0].endswith(":") else lines[0]  # "Error downloading x.gz:" says why next
        if missing:
            raise ConfigError(
                f"task.root={root}: MNIST is not in {where}/ and could not be downloaded ({reason}); "
                f"put {', '.join(FILES)} there"
            ) from None
        raise ConfigError(
            f"task.root={root}: the MNIST files in {where}/ are corrupt or truncated ({reason})"
        ) from None
    for name, images, labels in (("train", train.data, train.targets), ("test", test.data, test.targets)):
        if images.ndim != 3 or images.shape[1:] != (SIDE, SIDE) or len(images) != len(labels) or len(images) == 0:
            raise ConfigError(
                f"task.root={root}: the MNIST {name} files in {where}/ do not hold 28x28 images with one label each"
            )
        if labels.min() < 0 or labels.max() > 9:
            raise ConfigError(f"task.root={root}: the MNIST {name} labels in {where}/ are not digits 0-9")
    return train.data, train.targets, test.data, test.targets


def stratified_split(labels: Tensor, val_size: int, seed: int) -> tuple[Tensor, Tensor]:
    """Indices (train, val): every class keeps its share of the validation set (largest remainders)."""
    generator = torch.Generator().manual_seed(seed)
    counts = torch.bincount(labels, minlength=10)
    quota = counts.double() * val_size / len(labels)
    take = quota.floor().long()
    take[torch.argsort(quota - take, descending=True)[: val_size - int(take.sum())]] += 1
    order = torch.randperm(len(labels), generator=generator)
    order = order[torch.argsort(labels[order], stable=True)]  # grouped by class, random within each class
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(len(labels)) - starts[labels[order]]  # position of each index inside its class
    is_val = rank < take[labels[order]]
    return order[~is_val], order[is_val]


class MNIST(Task):
    name = "mnist"
    num_classes = 10
    per_step = False

    def __init__(self, root: str, download: bool, layout: str, permute: bool, **common: int) -> None:
        super().__init__(**common)
        self.root = user_path(str(root))
        self.download = download
        self.layout = layout
        if layout == "pixels":  # the anchors a comparison prints beside each model (S4 paper, Table 6)
            self.published = {"lstm": f"{'95.11' if permute else '98.9'}% (S4 paper, Table 6)"}
        self.permutation = (
            torch.randperm(SIDE * SIDE, generator=torch.Generator().manual_seed(PERMUTATION_SEED)) if permute else None
        )
        self.input_size = SIDE if layout == "rows" else 1
        self._splits: dict[str, tuple[Tensor, Tensor]] = {}
        self._device: torch.device | None = None
        self._order: Tensor | None = None  # this epoch's permutation of the training images
        self._offset = 0

    def encode(self, images: Tensor) -> Tensor:
        """Images (n, 28, 28), uint8 0-255 or float 0-1, to normalised model input in this task's layout."""
        x = images.float() / 255 if images.dtype == torch.uint8 else images.float()
        x = ((x - MEAN) / STD).reshape(len(x), SIDE * SIDE)
        if self.permutation is not None:
            x = x[:, self.permutation.to(x.device)]
        return x.reshape(len(x), SIDE, SIDE) if self.layout == "rows" else x.unsqueeze(-1)

    def _split(self, name: str, device: torch.device) -> tuple[Tensor, Tensor]:
        if self._device != device:
            train_x, train_y, test_x, test_y = load_mnist(self.root, self.download)
            if not 1 <= self.val_size < len(train_x):
                raise ConfigError(
                    f"task.val_size={self.val_size} is not allowed: 1 <= val_size < {len(train_x)} training images"
                )
            train_idx, val_idx = stratified_split(train_y, self.val_size, SPLIT_SEED)
            test_idx = torch.arange(min(self.test_size, len(test_x)))
            self._splits = {
                "train": (self.encode(train_x[train_idx].to(device)), train_y[train_idx].to(device)),
                "val": (self.encode(train_x[val_idx].to(device)), train_y[val_idx].to(device)),
                "test": (self.encode(test_x[test_idx].to(device)), test_y[test_idx].to(device)),
            }
            self._device = device
        return self._splits[name]

    def _batch(self, x: Tensor, y: Tensor) -> Batch:
        return Batch(x=x, y=y, lengths=torch.full((len(x),), x.shape[1], device=x.device))

    def check_data(self) -> None:
        load_mnist(self.root, self.download)  # cached: the run that follows reads the files no second time

    def steps(self, length: int | None = None) -> int:
        return SIDE if self.layout == "rows" else SIDE * SIDE

    def sets(self, batch_size: int) -> dict[str, tuple[int, int]]:
        steps = self.steps()  # the image files bound the splits (60,000 training, 10,000 test images)
        return {
            TRAINING_BATCH: (batch_size, steps),
            VALIDATION_SET: (min(self.val_size, 60_000), steps),
            "the test set": (min(self.test_size, 10_000), steps),
        }

    def make_batch(self, n: int, generator: torch.Generator, device: torch.device, length: int | None = None) -> Batch:
        x, y = self._split("train", device)
        if self._order is None or self._offset + n > len(x):  # a new epoch; its last partial batch is dropped
            self._order = torch.randperm(len(x), generator=generator, device=device)
            self._offset = 0
        index = self._order[self._offset : self._offset + n]
        self._offset += n
        return self._batch(x[index], y[index])

    def state_dict(self) -> dict:
        return {"order": self._order, "offset": self._offset}

    def load_state_dict(self, state: dict) -> None:
        self._order, self._offset = state["order"], state["offset"]

    def validation_set(self, device: torch.device) -> Batch:
        return self._batch(*self._split("val", device))

    def test_sets(self, device: torch.device) -> dict[str, Batch]:
        return {"all": self._batch(*self._split("test", device))}

    def images(self, batch: Batch) -> Tensor:
        """Model input back to (n, 28, 28) images in 0-1, for figures."""
        x = batch.x.reshape(len(batch), SIDE * SIDE)
        if self.permutation is not None:
            x = x[:, torch.argsort(self.permutation.to(x.device))]
        return (x * STD + MEAN).clamp(0, 1).reshape(-1, SIDE, SIDE)

    def describe(self, batch: Batch, predictions: Tensor, i: int) -> str:
        pred, true = int(predictions[i]), int(batch.y[i])
        return f"{'right' if pred == true else 'WRONG'} | test image {i}: predicted {pred} true {true}"

    def report_extras(self, predictions: Tensor, batch: Batch) -> tuple[dict, dict]:
        from rnnlab.reporting.figures import (  # matplotlib: the test phase alone needs it
            plot_confusion,
            plot_digits,
        )

        confusion = torch.zeros(10, 10, dtype=torch.long)
        confusion.index_put_(
            (batch.y.cpu(), predictions.cpu()), torch.ones(len(batch), dtype=torch.long), accumulate=True
        )
        per_class = [int(confusion[c, c]) / max(1, int(confusion[c].sum())) for c in range(10)]
        entries = {
            "per_class_accuracy": {str(c): acc for c, acc in enumerate(per_class)},
            "confusion_matrix": confusion.tolist(),
        }
        figures = {"confusion_matrix": plot_confusion(confusion.tolist())}
        wrong = (predictions != batch.y).nonzero().flatten()[:64]
        if len(wrong):
            shown = batch[wrong]
            figures["misclassified"] = plot_digits(
                self.images(shown).cpu().numpy(), predictions[wrong].tolist(), shown.y.tolist()
            )
        return entries, figures


# ---------------------------------------------------------------- a photo of a digit, as MNIST draws one

INK = 0.25  # after normalising to 0-1, pixels above this count as ink when cropping
BOX = 20  # the digit's larger side, as MNIST scaled its digits into 20 x 20 inside the 28 x 28 image


def prepare_digit(image: Image.Image) -> np.ndarray:
    """A photo or scan of one digit -> (28, 28) float32 in 0-1, white digit on black, MNIST-style (rnnlab-predict)."""
    from PIL import Image

    pixels = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    if np.median(border) > 0.5:  # light paper: make the ink the bright part, as in MNIST
        pixels, border = 1.0 - pixels, 1.0 - border
    background, top = float(np.median(border)), float(pixels.max())
    if top - background < 0.1:
        raise ValueError("no digit found (the image is nearly uniform)")
    pixels = np.clip((pixels - background) / (top - background), 0.0, 1.0)
    rows, cols = np.nonzero(pixels > INK)
    pixels = pixels[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    pixels[pixels < INK / 2] = 0.0  # paper texture and shadows are not ink
    height, width = pixels.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    digit = np.asarray(Image.fromarray(pixels, mode="F").resize(size, Image.Resampling.LANCZOS), dtype=np.float32)
    digit = np.clip(digit, 0.0, 1.0)
    canvas = np.zeros((SIDE, SIDE), dtype=np.float32)
    total = digit.sum()
    ys, xs = np.indices(digit.shape)
    centre_y, centre_x = (ys * digit).sum() / total, (xs * digit).sum() / total
    top_y = int(np.clip(round(SIDE / 2 - centre_y), 0, SIDE - digit.shape[0]))
    left_x = int(np.clip(round(SIDE / 2 - centre_x), 0, SIDE - digit.shape[1]))
    canvas[top_y : top_y + digit.shape[0], left_x : left_x + digit.shape[1]] = digit
    return canvas


def load_photo(path: Path) -> np.ndarray:
    """An image file -> prepare_digit's (28, 28) input: upright by its EXIF tag, transparency on white paper."""
    from PIL import Image, ImageOps

    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened)
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            image = Image.alpha_composite(paper, rgba)
        return prepare_digit(image)
