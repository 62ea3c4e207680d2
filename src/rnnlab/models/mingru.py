"""minGRU (Feng et al. 2024, "Were RNNs All We Needed?"): a GRU whose gate and candidate depend on the input alone,
so the recurrence h_t = (1 - z_t) * h_{t-1} + z_t * g(h~_t) is linear in h and a whole sequence is one scan.

    model = MinGRUNet(input_size=28, output_size=10, per_step=False, hidden_size=128, num_layers=2)
    outputs = model(x, lengths)                   # one linear scan per block (models/scan.py)
    outputs, state = model.step(x_t[:, None])     # one step at a time, for generation: the same numbers

In the paper's residual blocks (models/residual.py); conf/model/mingru.yaml names it by `_target_`, and its keys
are typed from the constructor, as a user's own model's are.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.models.residual import ResidualNet, ScanCell


def g(x: Tensor) -> Tensor:
    """The paper's positive activation for the candidate state (its log-space scan needs h~ > 0; kept so that the
    two scans model the same thing)."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


class MinGRU(ScanCell):
    floats_per_step = 7  # per unit: the projection (2), z, g(h~), a, b, h

    def __init__(self, size: int) -> None:
        super().__init__()
        self.gate_and_candidate = nn.Linear(size, 2 * size)

    def coefficients(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """a_t = 1 - z_t and b_t = z_t g(h~_t), in float32 (a bf16 scan drifts over hundreds of steps)."""
        gate, candidate = self.gate_and_candidate(x).float().chunk(2, dim=-1)
        z = torch.sigmoid(gate)
        return 1 - z, z * g(candidate)


class MinGRUNet(ResidualNet):
    cell_class = MinGRU
    name = "mingru"
