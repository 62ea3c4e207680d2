"""MNIST for the benchmark: the real files when found, else random images written as idx files, so that every
rnnlab row goes through the real loader and the runner; and the hand-written loop people compare against."""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

import numpy as np
import torch
from bench_machine import sync
from torch import nn

REPO = Path(__file__).resolve().parents[1]


def mnist_root() -> str | None:
    for root in (os.environ.get("RNNLAB_DATA"), "data", str(REPO.parent / "shared" / "data")):
        if root and (Path(root) / "MNIST" / "raw" / "train-images-idx3-ubyte").exists():
            return root
    return None


def random_mnist_root(root: Path) -> str:
    """Random 28x28 images and labels in the torchvision layout (60,000 + 10,000): MNIST's shapes and sizes."""
    from rnnlab.tasks.mnist import FILES

    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name, shape in zip(FILES, [(60000, 28, 28), (60000,), (10000, 28, 28), (10000,)]):
        array = rng.integers(0, 256 if len(shape) == 3 else 10, shape, dtype=np.uint8)
        header = struct.pack(">I", 0x0800 + len(shape)) + b"".join(struct.pack(">I", n) for n in shape)
        (raw / name).write_bytes(header + array.tobytes())
    return str(root)


def _dataset(root: str):
    from torchvision import datasets, transforms

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    return datasets.MNIST(root, train=True, download=False, transform=transform)


def dataloader_baseline(root: str, device: torch.device, batches: int, hidden: int = 128) -> float:
    """The loop people write by hand: torchvision Dataset + per-item transforms + DataLoader, one LSTM layer."""
    from torch.utils.data import DataLoader

    lstm, head = nn.LSTM(28, hidden, batch_first=True).to(device), nn.Linear(hidden, 10).to(device)
    optimizer = torch.optim.Adam([*lstm.parameters(), *head.parameters()], lr=2e-3)
    seen, start = 0, None
    for i, (x, y) in enumerate(DataLoader(_dataset(root), batch_size=128, shuffle=True, num_workers=0)):
        if i == 3:  # the first batches pay one-off costs
            sync(device)
            start, seen = time.perf_counter(), 0
        x, y = x.to(device).squeeze(1), y.to(device)
        loss = nn.functional.cross_entropy(head(lstm(x)[0][:, -1]), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen += len(x)
        if i == batches + 3:
            break
    sync(device)
    return seen / (time.perf_counter() - start)


def data_path_rates(root: str, device: torch.device, batches: int, task) -> tuple[float, float]:
    """Images/s of the data path alone: DataLoader with per-item transforms vs the rnnlab task's batches."""
    from torch.utils.data import DataLoader

    from rnnlab.tasks.base import seeded

    seen, start = 0, time.perf_counter()
    for i, (x, y) in enumerate(DataLoader(_dataset(root), batch_size=128, shuffle=True)):
        x, y = x.to(device), y.to(device)
        seen += len(x)
        if i == batches:
            break
    sync(device)
    loader = seen / (time.perf_counter() - start)
    generator = seeded(0, device)
    task.make_batch(128, generator, device)  # loads and places the split once, outside the timing
    seen, start = 0, time.perf_counter()
    for _ in range(batches * 10):
        seen += len(task.make_batch(128, generator, device))
    sync(device)
    return loader, seen / (time.perf_counter() - start)
