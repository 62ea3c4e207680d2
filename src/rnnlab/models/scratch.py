"""A tanh RNN in NumPy with a hand-written forward pass and backpropagation through time.

    h_t = tanh(x_t W_xh + h_{t-1} W_hh + b_h)        y_t = h_t W_hy + b_y

`forward` and `backward` are the whole algorithm; `loss_and_gradients` adds softmax cross-entropy for standalone
use (min-char-rnn style, with `clip`, `sgd` and `adagrad` updates). `ScratchRNN` plugs the same two functions
into the runner as a torch module: torch computes the loss, and the gradient of the outputs goes through the
hand-written BPTT (a custom autograd Function), so `model=scratch_rnn` trains with any loss and optimizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from rnnlab.errors import ConfigError

NAMES = ("W_xh", "W_hh", "b_h", "W_hy", "b_y")


@dataclass
class Cache:
    x: np.ndarray  # (n, T, I)
    h: np.ndarray  # (n, T + 1, H), h[:, 0] = the initial state (zeros)


def init_params(
    input_size: int, hidden_size: int, output_size: int, rng: np.random.Generator, bias: bool = True
) -> dict:
    scale_x, scale_h = 1 / np.sqrt(input_size), 1 / np.sqrt(hidden_size)
    params = {
        "W_xh": rng.uniform(-scale_x, scale_x, (input_size, hidden_size)),
        "W_hh": rng.uniform(-scale_h, scale_h, (hidden_size, hidden_size)),
        "W_hy": rng.uniform(-scale_h, scale_h, (hidden_size, output_size)),
    }
    if bias:
        params["b_h"] = np.zeros(hidden_size)
        params["b_y"] = np.zeros(output_size)
    return params


def forward(params: dict, x: np.ndarray, h0: np.ndarray | None = None) -> tuple[np.ndarray, Cache]:
    """x (n, T, I) -> outputs (n, T, O) and what backward needs; h0 (n, H) continues from a state (default 0)."""
    n, steps, _ = x.shape
    hidden = params["W_hh"].shape[0]
    h = np.zeros((n, steps + 1, hidden), dtype=x.dtype)
    if h0 is not None:
        h[:, 0] = h0
    b_h = params.get("b_h", 0.0)
    for t in range(steps):
        h[:, t + 1] = np.tanh(x[:, t] @ params["W_xh"] + h[:, t] @ params["W_hh"] + b_h)
    y = h[:, 1:] @ params["W_hy"] + params.get("b_y", 0.0)
    return y, Cache(x, h)


def backward(params: dict, cache: Cache, d_y: np.ndarray) -> dict:
    """Backpropagation through time: dL/d(outputs) (n, T, O) -> dL/d(each parameter)."""
    x, h = cache.x, cache.h
    steps = x.shape[1]
    grads = {name: np.zeros_like(value) for name, value in params.items()}
    states = h[:, 1:]
    grads["W_hy"] = np.einsum("nth,nto->ho", states, d_y)
    if "b_y" in params:
        grads["b_y"] = d_y.sum(axis=(0, 1))
    d_h_next = np.zeros_like(h[:, 0])
    for t in reversed(range(steps)):
        d_h = d_y[:, t] @ params["W_hy"].T + d_h_next  # from the output at t and from step t + 1
        d_pre = d_h * (1.0 - h[:, t + 1] ** 2)  # through tanh
        grads["W_xh"] += x[:, t].T @ d_pre
        grads["W_hh"] += h[:, t].T @ d_pre
        if "b_h" in params:
            grads["b_h"] += d_pre.sum(axis=0)
        d_h_next = d_pre @ params["W_hh"].T
    return grads


def loss_and_gradients(params: dict, x: np.ndarray, targets: np.ndarray) -> tuple[float, dict]:
    """Mean softmax cross-entropy over all steps, and its gradients (targets: (n, T) class indices)."""
    y, cache = forward(params, x)
    shifted = y - y.max(axis=-1, keepdims=True)
    probabilities = np.exp(shifted) / np.exp(shifted).sum(axis=-1, keepdims=True)
    n, steps = targets.shape
    picked = np.take_along_axis(probabilities, targets[..., None], axis=-1)[..., 0]
    loss = float(-np.log(picked).mean())
    d_y = probabilities.copy()
    np.put_along_axis(d_y, targets[..., None], np.take_along_axis(d_y, targets[..., None], -1) - 1.0, axis=-1)
    return loss, backward(params, cache, d_y / (n * steps))


def clip(grads: dict, limit: float) -> None:
    for g in grads.values():
        np.clip(g, -limit, limit, out=g)


def sgd(params: dict, grads: dict, lr: float) -> None:
    for name in params:
        params[name] -= lr * grads[name]


def adagrad(params: dict, grads: dict, memory: dict, lr: float, eps: float = 1e-8) -> None:
    for name in params:
        memory.setdefault(name, np.zeros_like(params[name]))
        memory[name] += grads[name] ** 2
        params[name] -= lr * grads[name] / np.sqrt(memory[name] + eps)


class _HandWrittenRNN(torch.autograd.Function):
    """Forward and backward in NumPy: torch only carries the numbers in and out."""

    @staticmethod
    def forward(ctx, x: Tensor, *weights: Tensor) -> Tensor:
        names = NAMES if len(weights) == 5 else ("W_xh", "W_hh", "W_hy")
        params = {name: w.detach().cpu().numpy() for name, w in zip(names, weights)}
        y, cache = forward(params, x.detach().cpu().numpy().astype(params["W_xh"].dtype))
        ctx.params, ctx.cache, ctx.names, ctx.device = params, cache, names, x.device
        return torch.from_numpy(y).to(x.device)

    @staticmethod
    def backward(ctx, d_y: Tensor):
        grads = backward(ctx.params, ctx.cache, d_y.detach().cpu().numpy().astype(ctx.params["W_xh"].dtype))
        return (None, *(torch.from_numpy(grads[name]).to(ctx.device) for name in ctx.names))


class ScratchRNN(nn.Module):
    """model=scratch_rnn: the NumPy RNN behind the runner's model interface (per-step tasks)."""

    name = "scratch_rnn"

    def __init__(
        self,
        input_size: int,
        output_size: int,
        per_step: bool,
        hidden_size: int = 50,
        bias: bool = True,
        seed: int | None = None,
        sequence_steps: int | None = None,
    ) -> None:  # (steps: for gated cells only)
        super().__init__()
        if not per_step:
            raise ConfigError(
                "model=scratch_rnn reads out at every step: use it with a per-step task "
                "(char_sequence, binary_addition)"
            )
        self.hidden_size = hidden_size
        if torch.get_default_device().type == "meta":  # the checks before a run: shapes only, no NumPy arrays
            shapes = {
                "W_xh": (input_size, hidden_size),
                "W_hh": (hidden_size, hidden_size),
                "W_hy": (hidden_size, output_size),
                **({"b_h": (hidden_size,), "b_y": (output_size,)} if bias else {}),
            }
            self.weights = nn.ParameterDict(
                {k: nn.Parameter(torch.empty(s, dtype=torch.float64)) for k, s in shapes.items()}
            )
            return
        if seed is None:  # drawn from torch's CPU generator, which torch.manual_seed(cfg.seed) set
            seed = int(torch.randint(0, 2**31 - 1, (), device="cpu").item())
        rng = np.random.default_rng(seed)
        params = init_params(input_size, hidden_size, output_size, rng, bias)
        # float64: the NumPy arithmetic, and the gradient checks against autograd, are exact to ~1e-12
        self.weights = nn.ParameterDict({k: nn.Parameter(torch.from_numpy(v)) for k, v in params.items()})

    def floats_per_step(self) -> int:
        """What a sequence keeps per step for backpropagation (runner/memory.py): the state and its activation."""
        return 3 * self.hidden_size

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        ordered = [self.weights[name] for name in NAMES if name in self.weights]
        return _HandWrittenRNN.apply(x.double(), *ordered).float()

    @torch.no_grad()
    def step(self, x: Tensor, state: np.ndarray | None = None) -> tuple[Tensor, np.ndarray]:
        """Outputs for x (n, steps, inputs) continuing from `state`, and the state after it: generation."""
        params = {name: value.detach().cpu().numpy() for name, value in self.weights.items()}
        y, cache = forward(params, x.detach().cpu().numpy().astype(params["W_xh"].dtype), state)
        return torch.from_numpy(y).float().to(x.device), cache.h[:, -1]
