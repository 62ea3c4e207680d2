"""Mamba's selective state space layer, S6 (Gu & Dao 2023, "Mamba: Linear-Time Sequence Modeling with Selective
State Spaces"), as the cell of the residual blocks the other modern models use (models/residual.py).

    model = S6Net(input_size=28, output_size=10, per_step=False, hidden_size=64, num_layers=2)

Mamba's mixer: x -> (u, z) of `expand` x width; u through a causal depthwise convolution and SiLU; then per channel
c and state n, h_t[c, n] = exp(dt_t[c] A[c, n]) h_{t-1}[c, n] + dt_t[c] B_t[n] u_t[c], y_t[c] = C_t . h_t[c] +
D[c] u_t[c], gated by SiLU(z) and projected back. dt, B and C are made from u_t: the step size and what is
written and read depend on the input, which is what makes it selective (the LRU's decay does not).

Why it is small here and slow at 784 steps: without Mamba's fused kernel, the state is expand x width x state_size
per sequence and step (models/selective_scan.py keeps it for the backward pass): 32x the width of a minGRU block at
the defaults. docs/results.md has the measurements.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnlab.errors import require
from rnnlab.models.residual import ResidualNet
from rnnlab.models.selective_scan import selective_scan


class S6(nn.Module):
    def __init__(
        self,
        size: int,
        state_size: int = 16,
        expand: int = 2,
        conv_kernel: int = 4,
        dt_min: float = 1e-3,
        dt_max: float = 0.1,
    ) -> None:
        super().__init__()
        inner, self.state_size, self.rank = expand * size, state_size, math.ceil(size / 16)
        self.in_proj = nn.Linear(size, 2 * inner)
        self.conv = nn.Conv1d(inner, inner, conv_kernel, groups=inner)  # causal: the steps before come as padding
        self.x_proj = nn.Linear(inner, self.rank + 2 * state_size, bias=False)  # dt (low rank), B, C from u
        self.dt_proj = nn.Linear(self.rank, inner)
        # Mamba's initialisation: step sizes log-uniform in [dt_min, dt_max] through softplus; A = -(1 .. N) (S4D-real)
        dt = torch.exp(torch.rand(inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # the inverse of softplus
        self.A_log = nn.Parameter(torch.log(torch.arange(1, state_size + 1, dtype=torch.float32)).repeat(inner, 1))
        self.D = nn.Parameter(torch.ones(inner))
        self.out_proj = nn.Linear(inner, size)

    def _projections(self, u: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """dt (..., inner) and B, C (..., N) from u, float32 (a bf16 scan drifts)."""
        dt, B, C = self.x_proj(u).float().split([self.rank, self.state_size, self.state_size], dim=-1)
        return F.softplus(self.dt_proj(dt).float()), B, C

    def _output(self, y: Tensor, u: Tensor, z: Tensor) -> Tensor:
        y = y + self.D * u.float()
        return self.out_proj((y * F.silu(z.float())).to(z.dtype))

    def forward(self, x: Tensor) -> Tensor:
        u, z = self.in_proj(x).chunk(2, dim=-1)
        kernel = self.conv.kernel_size[0]
        u = F.silu(self.conv(F.pad(u.transpose(1, 2), (kernel - 1, 0))).transpose(1, 2))
        dt, B, C = self._projections(u)
        return self._output(selective_scan(u.float(), dt, -torch.exp(self.A_log), B, C), u, z)

    def step(self, x: Tensor, state: tuple[Tensor, Tensor] | None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """One step: the state is the convolution's last inputs (n, kernel - 1, inner) and h (n, inner, N)."""
        u, z = self.in_proj(x).chunk(2, dim=-1)
        kernel = self.conv.kernel_size[0]
        window = torch.cat([state[0], u[:, None]], 1) if state is not None else F.pad(u[:, None], (0, 0, kernel - 1, 0))
        u = F.silu(self.conv(window.transpose(1, 2))[..., 0])
        dt, B, C = self._projections(u)
        a = torch.exp(dt[..., None] * -torch.exp(self.A_log))  # (n, inner, N)
        b = (dt * u.float())[..., None] * B[..., None, :]
        h = b if state is None else a * state[1] + b
        return self._output((h @ C[..., None])[..., 0], u, z), (window[:, 1:], h)


class S6Net(ResidualNet):
    cell_class = S6
    name = "s6"

    def __init__(
        self,
        input_size: int,
        output_size: int,
        per_step: bool,
        state_size: int = 16,
        expand: int = 2,
        conv_kernel: int = 4,
        mlp_ratio: int = 0,
        **common: Any,
    ) -> None:
        for key, value in (("state_size", state_size), ("expand", expand), ("conv_kernel", conv_kernel)):
            require(value >= 1, f"model.{key}", value, "an integer >= 1")
        super().__init__(
            input_size,
            output_size,
            per_step,
            state_size=state_size,
            expand=expand,
            conv_kernel=conv_kernel,
            mlp_ratio=mlp_ratio,
            **common,
        )
        self.state_size, self.expand = state_size, expand

    def optimizer_groups(self) -> list[dict[str, Any]]:
        """A (A_log) and the skip D without weight decay, as Mamba trains them (training/param_groups.py)."""
        kept = [p for name, p in self.named_parameters() if name.rsplit(".", 1)[-1] in ("A_log", "D")]
        return [{"name": "A and D", "params": kept, "weight_decay": 0.0}]

    def floats_per_step(self) -> int:
        """Per step and block: the norms, u and z and their convolution (4 x inner), dt, and a, b, h over every
        (channel, state) pair, the bulk of it."""
        inner, directions = self.expand * self.hidden_size, 2 if self.bidirectional else 1
        cell = inner * (5 + 3 * self.state_size)
        return self.num_layers * (4 * self.hidden_size + directions * cell + 2 * self.mlp_ratio * self.hidden_size)
