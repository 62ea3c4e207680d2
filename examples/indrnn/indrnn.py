"""IndRNN (Li et al. 2018, "Independently Recurrent Neural Network"): each unit has one recurrent weight of its own
instead of a row of a matrix, h_t = relu(W x_t + u * h_{t-1} + b), so a unit's memory is set by |u| alone.

    cd examples/indrnn && rnnlab --config-dir conf model=indrnn task=index_recall
"""

import torch
from torch import nn


class IndRNN(nn.Module):
    def __init__(
        self,
        input_size: int,
        output_size: int,
        per_step: bool,
        hidden_size: int = 64,
        num_layers: int = 2,
        max_recurrent: float = 1.0,
    ):
        super().__init__()
        self.per_step, self.max_recurrent = per_step, max_recurrent
        sizes = [input_size] + [hidden_size] * num_layers
        self.inputs = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        # u in (0, max): every unit starts remembering, each over its own time scale
        self.recurrent = nn.ParameterList(
            nn.Parameter(torch.rand(hidden_size) * max_recurrent) for _ in range(num_layers)
        )
        self.readout = nn.Linear(hidden_size, output_size)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        for inputs, u in zip(self.inputs, self.recurrent):
            u = u.clamp(-self.max_recurrent, self.max_recurrent)  # |u| <= 1: states neither explode nor vanish fast
            drive, h, states = inputs(x), None, []  # every step's input term in one matrix product
            for d in drive.unbind(1):
                h = torch.relu(d if h is None else d + u * h)
                states.append(h)
            x = torch.stack(states, 1)
        if self.per_step:
            return self.readout(x)
        return self.readout(x[torch.arange(len(x)), lengths - 1])  # each sequence's last true step, not its padding
