"""minGRU (Feng et al. 2024, "Were RNNs All We Needed?"): a GRU whose gate and candidate depend on the input alone,
so the recurrence h_t = (1 - z_t) * h_{t-1} + z_t * h~_t is linear in h and a whole sequence is one scan.

    model = MinGRUNet(input_size=28, output_size=10, per_step=False, hidden_size=128, num_layers=2)
    outputs = model(x, lengths)                   # the scan, in log space (Heinsen 2023), as the paper's code
    outputs, state = model.step(x_t[:, None])     # one step at a time, for generation: the same numbers

Stacked in residual blocks as in the paper: x + minGRU(LayerNorm(x)), then x + MLP(LayerNorm(x)). Built through the
same `_target_` path as a user's own model (conf/model/mingru.yaml names it; its keys are typed from this
constructor). Causal only: a step's state never sees later steps, so the padding after a sequence's end never
reaches its readout (the last true step).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _g(x: Tensor) -> Tensor:
    """The paper's positive activation for the candidate state (the log-space scan needs h~ > 0)."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def _log_g(x: Tensor) -> Tensor:
    return torch.where(x >= 0, torch.log(F.relu(x) + 0.5), -F.softplus(-x))


def log_space_scan(log_a: Tensor, log_b: Tensor) -> Tensor:
    """h_t = a_t h_{t-1} + b_t over dim 1 from h_0 = 0, for a, b > 0 given as logs (Heinsen's parallel scan)."""
    a_star = torch.cumsum(log_a, dim=1)
    return torch.exp(a_star + torch.logcumsumexp(log_b - a_star, dim=1))


class MinGRU(nn.Module):
    def __init__(self, size: int, hidden_size: int) -> None:
        super().__init__()
        self.gate_and_candidate = nn.Linear(size, 2 * hidden_size)
        self.out = nn.Linear(hidden_size, size)

    def forward(self, x: Tensor) -> Tensor:
        gate, candidate = self.gate_and_candidate(x).chunk(2, dim=-1)
        log_z, log_keep = -F.softplus(-gate), -F.softplus(gate)  # log z, log (1 - z)
        return self.out(log_space_scan(log_keep, log_z + _log_g(candidate)))

    def step(self, x: Tensor, h: Tensor | None) -> tuple[Tensor, Tensor]:
        gate, candidate = self.gate_and_candidate(x).chunk(2, dim=-1)
        z = torch.sigmoid(gate)
        h = z * _g(candidate) if h is None else (1 - z) * h + z * _g(candidate)
        return self.out(h), h


class Block(nn.Module):
    def __init__(self, size: int, hidden_size: int, dropout: float) -> None:
        super().__init__()
        self.norm1, self.cell = nn.LayerNorm(size), MinGRU(size, hidden_size)
        self.norm2 = nn.LayerNorm(size)
        self.mlp = nn.Sequential(nn.Linear(size, 4 * size), nn.GELU(), nn.Linear(4 * size, size), nn.Dropout(dropout))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.cell(self.norm1(x))
        return x + self.mlp(self.norm2(x))

    def step(self, x: Tensor, h: Tensor | None) -> tuple[Tensor, Tensor]:
        y, h = self.cell.step(self.norm1(x), h)
        x = x + y
        return x + self.mlp(self.norm2(x)), h


class MinGRUNet(nn.Module):
    name = "mingru"

    def __init__(self, input_size: int, output_size: int, per_step: bool, hidden_size: int = 64, num_layers: int = 2,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if hidden_size < 1 or num_layers < 1 or not 0 <= dropout < 1:
            raise ValueError("hidden_size and num_layers must be >= 1, 0 <= dropout < 1")
        self.per_step, self.hidden_size = per_step, hidden_size
        self.embed = nn.Linear(input_size, hidden_size)
        self.blocks = nn.ModuleList(Block(hidden_size, hidden_size, dropout) for _ in range(num_layers))
        self.norm = nn.LayerNorm(hidden_size)
        self.readout = nn.Linear(hidden_size, output_size)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        h = self.embed(x)
        for block in self.blocks:
            h = block(h)
        h = self.norm(h)
        if self.per_step:
            return self.readout(h)
        return self.readout(h[torch.arange(len(h), device=h.device), lengths - 1])  # each sequence's last true step

    def step(self, x: Tensor, state: list[Tensor] | None = None) -> tuple[Tensor, list[Tensor]]:
        """Per-step outputs for x (n, steps, inputs) continuing from `state` (None: the start), and the new state."""
        states = list(state) if state is not None else [None] * len(self.blocks)
        outputs = []
        for t in range(x.shape[1]):
            h = self.embed(x[:, t])
            for i, block in enumerate(self.blocks):
                h, states[i] = block.step(h, states[i])
            outputs.append(self.readout(self.norm(h)))
        return torch.stack(outputs, 1), states
