"""minLSTM (Feng et al. 2024): forget and input gates from the input alone, normalised to sum to 1, so that
h_t = f'_t * h_{t-1} + i'_t * g(h~_t) is linear in h and a whole sequence is one scan (models/scan.py).

    model = MinLSTMNet(input_size=28, output_size=10, per_step=False, hidden_size=128, num_layers=2)

In the paper's residual blocks (models/residual.py), with the same step mode as model=mingru.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.models.mingru import g
from rnnlab.models.residual import ResidualNet, ScanCell


class MinLSTM(ScanCell):
    floats_per_step = 9  # per unit: the projection (3), f, i, g(h~), a, b, h

    def __init__(self, size: int) -> None:
        super().__init__()
        self.gates_and_candidate = nn.Linear(size, 3 * size)

    def coefficients(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """a_t = f_t / (f_t + i_t) and b_t = i_t / (f_t + i_t) * g(h~_t): the paper's time-independent scale."""
        forget, write, candidate = self.gates_and_candidate(x).float().chunk(3, dim=-1)
        forget, write = torch.sigmoid(forget), torch.sigmoid(write)
        total = forget + write
        return forget / total, write / total * g(candidate)


class MinLSTMNet(ResidualNet):
    cell_class = MinLSTM
    name = "minlstm"
