"""The linear recurrence h_t = a_t h_{t-1} + b_t alone, forward and backward, at pixel-MNIST shape (128 sequences x
784 steps x 128 units): rnnlab's scan (models/scan.py) beside the ways it could have been written.

    .venv/bin/python scripts/bench_scan.py          # prints seconds per forward + backward, best of 3
"""

from __future__ import annotations

import time

import torch

from rnnlab.models.scan import linear_scan, log_space_scan


def autograd_loop(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """A loop over `unbind` that autograd differentiates (a graph of `steps` nodes)."""
    h, out = torch.zeros_like(b[:, 0]), []
    for a_t, b_t in zip(a.unbind(1), b.unbind(1)):
        h = a_t * h + b_t
        out.append(h)
    return torch.stack(out, 1)


def scan_seconds(n: int = 128, steps: int = 784, size: int = 128, repeats: int = 3) -> dict[str, float]:
    torch.manual_seed(0)
    a = (torch.rand(n, steps, size) * 0.5 + 0.5).requires_grad_()
    b = torch.rand(n, steps, size).requires_grad_()
    ways = {
        "linear_scan (rnnlab: loop + hand-written backward)": lambda: linear_scan(a, b),
        "loop over unbind, autograd backward": lambda: autograd_loop(a, b),
        "log-space scan (Heinsen; minGRU's reference code)": lambda: log_space_scan(a.log(), b.log()),
    }
    seconds = {name: [] for name in ways}
    for _ in range(repeats):  # interleaved, so a slow moment of the machine does not pick one way
        for name, way in ways.items():
            start = time.perf_counter()
            way().sum().backward()
            seconds[name].append(time.perf_counter() - start)
    return {name: min(s) for name, s in seconds.items()}


if __name__ == "__main__":
    print(f"{torch.get_num_threads()} threads, 128 x 784 x 128, forward + backward, best of 3:")
    for name, s in scan_seconds().items():
        print(f"  {s:6.3f} s  {name}")
