"""The Linear Recurrent Unit (Orvieto et al. 2023, "Resurrecting Recurrent Neural Networks for Long Sequences"):
a complex diagonal recurrence h_t = lambda * h_{t-1} + gamma * (B x_t), read out as y_t = Re(C h_t) + D x_t.

    model = LRUNet(input_size=28, output_size=10, per_step=False, hidden_size=128, num_layers=2)

lambda = exp(-exp(nu) + i exp(theta)) (the exponential parametrisation: |lambda| < 1 whatever the optimiser does),
initialised uniformly on the ring r_min <= |lambda| <= r_max with phases in [0, max_phase]; gamma =
sqrt(1 - |lambda|^2), learned from there (the normalisation that keeps the state's scale at initialisation). The
recurrence is time-invariant: what the unit keeps does not depend on what it reads (unlike minGRU's gates), which
is what Mamba's selective-copy test separates. In the residual blocks of models/residual.py.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from rnnlab.errors import require
from rnnlab.models.residual import ResidualNet
from rnnlab.models.scan import linear_scan


class LRU(nn.Module):
    floats_per_step = 10  # per unit: B x (2), the state (2, complex), its conjugate-free readout parts (2), y, ...

    def __init__(self, size: int, r_min: float = 0.9, r_max: float = 0.999, max_phase: float = 2 * math.pi) -> None:
        super().__init__()
        u1, u2 = torch.rand(size), torch.rand(size)
        self.nu_log = nn.Parameter(torch.log(-0.5 * torch.log(u1 * (r_max**2 - r_min**2) + r_min**2)))
        self.theta_log = nn.Parameter(torch.log(max_phase * u2 + 1e-8))
        self.gamma_log = nn.Parameter(0.5 * torch.log(1 - torch.exp(-2 * torch.exp(self.nu_log.detach()))))
        self.B = nn.Linear(size, 2 * size, bias=False)  # real and imaginary parts, stacked
        self.C = nn.Linear(2 * size, size, bias=False)  # Re(C h) = C_re h_re - C_im h_im
        nn.init.normal_(self.B.weight, std=1 / math.sqrt(2 * size))
        nn.init.normal_(self.C.weight, std=1 / math.sqrt(size))
        self.D = nn.Parameter(torch.randn(size))

    def decay(self) -> Tensor:
        return torch.exp(torch.complex(-torch.exp(self.nu_log), torch.exp(self.theta_log)))

    def _input(self, x: Tensor) -> Tensor:
        real, imag = self.B(x).float().chunk(2, dim=-1)  # float32: the scan runs in complex64 under bf16 autocast
        return torch.complex(real, imag) * torch.exp(self.gamma_log)

    def _output(self, h: Tensor, x: Tensor) -> Tensor:
        return self.C(torch.cat([h.real, -h.imag], dim=-1)) + self.D * x

    def forward(self, x: Tensor) -> Tensor:
        return self._output(linear_scan(self.decay(), self._input(x)), x)

    def step(self, x: Tensor, h: Tensor | None) -> tuple[Tensor, Tensor]:
        b = self._input(x)
        h = b if h is None else self.decay() * h + b
        return self._output(h, x), h


class LRUNet(ResidualNet):
    cell_class = LRU
    name = "lru"

    def __init__(
        self,
        input_size: int,
        output_size: int,
        per_step: bool,
        r_min: float = 0.9,
        r_max: float = 0.999,
        max_phase: float = 6.283,
        recurrent_lr_scale: float = 0.5,
        **common: Any,
    ) -> None:
        require(0 < r_max <= 1, "model.r_max", r_max, "0 < r_max <= 1 (the largest |lambda|: at most 1, no growth)")
        require(0 <= r_min < r_max, "model.r_min", r_min, f"0 <= r_min < r_max (r_max={r_max})")
        require(max_phase > 0, "model.max_phase", max_phase, "a number > 0")
        require(recurrent_lr_scale > 0, "model.recurrent_lr_scale", recurrent_lr_scale, "a multiple of the lr > 0")
        super().__init__(input_size, output_size, per_step, r_min=r_min, r_max=r_max, max_phase=max_phase, **common)
        self.recurrent_lr_scale = recurrent_lr_scale

    def optimizer_groups(self) -> list[dict[str, Any]]:
        """The recurrence's own parameters (nu, theta, gamma) at a fraction of the rate and without weight decay, as
        the paper trains them (training/param_groups.py)."""
        recurrent = [p for name, p in self.named_parameters() if name.rsplit(".", 1)[-1] in RECURRENT]
        return [
            {
                "name": "recurrent (nu, theta, gamma)",
                "params": recurrent,
                "lr_scale": self.recurrent_lr_scale,
                "weight_decay": 0.0,
            }
        ]


RECURRENT = ("nu_log", "theta_log", "gamma_log")
