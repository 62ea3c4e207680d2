"""The residual stack the modern recurrent models share (minGRU, minLSTM, the LRU), as their papers build it:

    x = embed(inputs); each block: x = x + cell(LayerNorm(x)); x = x + MLP(LayerNorm(x)); readout(LayerNorm(x))

A cell maps a whole sequence (n, steps, size) to one of the same shape with one linear scan (models/scan.py), and
steps one at a time with `step(x_t, state)` for generation: both give the same numbers. The cells differ only in
how they make the scan's a_t and b_t; a model is `ResidualNet` with its cell class (see models/mingru.py), built
through the same `_target_` path as a user's own model.

- Causal by default: a step's state never sees later steps, so the padding after a sequence's end never reaches
  its readout. `bidirectional=true` adds a second cell per block that reads each sequence backwards from its own
  last true step (the padding stays behind it) and adds its output to the forward cell's.
- A per-sequence task reads out the last true step's features; `attention=additive|dot` pools over the steps
  first, as for RecurrentNet (models/attention.py).
"""

from __future__ import annotations

from typing import Any, Protocol, cast

import torch
from torch import Tensor, nn

from rnnlab.config.schemas import check_model_keys
from rnnlab.models.attention import (
    build_attention,
    joined_size,
    pool_and_join,
    refuse_pooling_per_step,
)
from rnnlab.models.scan import linear_scan


def reverse_within(x: Tensor, lengths: Tensor) -> Tensor:
    """Each sequence's true steps in reverse order, its padding left where it was (its own inverse)."""
    steps = torch.arange(x.shape[1], device=x.device)
    index = torch.where(steps < lengths[:, None], lengths[:, None] - 1 - steps, steps)
    return x.gather(1, index[..., None].expand_as(x))


class Cell(Protocol):
    """What a Block needs of its cell (an nn.Module): the whole sequence at once, and one step from a state."""

    floats_per_step: int  # what it keeps per step and unit for backpropagation (runner/memory.py)

    def __call__(self, x: Tensor) -> Tensor: ...

    def step(self, x: Tensor, h: Any) -> tuple[Tensor, Any]: ...


class ScanCell(nn.Module):
    """A cell whose recurrence is h_t = a_t * h_{t-1} + b_t with (a_t, b_t) = self.coefficients(x_t), and whose
    output is h: minGRU and minLSTM."""

    def coefficients(self, x: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        return linear_scan(*self.coefficients(x))

    def step(self, x: Tensor, h: Tensor | None) -> tuple[Tensor, Tensor]:
        a, b = self.coefficients(x)
        h = b if h is None else torch.addcmul(b, a, h)
        return h, h


class Block(nn.Module):
    def __init__(
        self,
        cell_class: type[nn.Module],
        size: int,
        mlp_ratio: int,
        dropout: float,
        bidirectional: bool,
        cell_keys: dict[str, Any],
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(size)
        self.cell = cast(Cell, cell_class(size, **cell_keys))
        self.backward_cell = cast(Cell, cell_class(size, **cell_keys)) if bidirectional else None
        self.norm2 = nn.LayerNorm(size) if mlp_ratio else None  # only in front of an MLP: unused weights otherwise
        self.mlp = (
            nn.Sequential(
                nn.Linear(size, mlp_ratio * size), nn.GELU(), nn.Linear(mlp_ratio * size, size), nn.Dropout(dropout)
            )
            if mlp_ratio
            else None
        )

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        normed = self.norm1(x)
        y = self.cell(normed)
        if self.backward_cell is not None:
            y = y + reverse_within(self.backward_cell(reverse_within(normed, lengths)), lengths)
        return self._feed_forward(x + y)

    def step(self, x: Tensor, h: Any) -> tuple[Tensor, Any]:
        y, h = self.cell.step(self.norm1(x), h)
        return self._feed_forward(x + y), h

    def _feed_forward(self, x: Tensor) -> Tensor:
        return x if self.mlp is None or self.norm2 is None else x + self.mlp(self.norm2(x))


class ResidualNet(nn.Module):
    cell_class: type[nn.Module]  # set by each model: MinGRU, MinLSTM, LRU
    name = "residual"

    def __init__(
        self,
        input_size: int,
        output_size: int,
        per_step: bool,
        hidden_size: int = 64,
        num_layers: int = 2,
        mlp_ratio: int = 2,
        dropout: float = 0.0,
        bidirectional: bool = False,
        attention: str = "none",
        attention_heads: int = 4,
        **cell_keys: Any,
    ) -> None:
        super().__init__()
        check_model_keys(
            "model.",
            hidden_size=hidden_size,
            num_layers=num_layers,
            mlp_ratio=mlp_ratio,
            attention_heads=attention_heads,
            dropout=dropout,
            attention=attention,
        )
        refuse_pooling_per_step(attention, per_step)
        self.per_step, self.hidden_size, self.bidirectional = per_step, hidden_size, bidirectional
        self.num_layers, self.mlp_ratio, self.attention_heads = num_layers, mlp_ratio, attention_heads
        self.embed = nn.Linear(input_size, hidden_size)
        self.blocks = nn.ModuleList(
            Block(self.cell_class, hidden_size, mlp_ratio, dropout, bidirectional, cell_keys) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(hidden_size)
        self.attention = None
        readout_size = hidden_size
        if attention != "none":
            self.attention = build_attention(attention, hidden_size, input_size, attention_heads, "learned", True)
            readout_size = joined_size(self.attention, hidden_size)
        self.readout = nn.Linear(readout_size, output_size)
        self.last_attention: Tensor | None = None  # weights of the latest forward pass, for plots

    def floats_per_step(self) -> int:
        """What a sequence keeps per step for backpropagation (runner/memory.py), per block: the norms, the cell's
        gates, scan and output, the MLP's hidden layer and its activation."""
        size, directions = self.hidden_size, 2 if self.bidirectional else 1
        cell_floats: int = self.cell_class.floats_per_step  # type: ignore[attr-defined]  # every Cell declares it
        return self.num_layers * size * (4 + directions * cell_floats + 2 * self.mlp_ratio)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        h = self.embed(x)
        for block in self.blocks:
            h = block(h, lengths)
        h = self.norm(h)
        if self.per_step:
            return self.readout(h)
        final = h[torch.arange(len(h), device=h.device), lengths - 1]  # each sequence's last true step
        if self.attention is not None:
            final, self.last_attention = pool_and_join(self.attention, h, x, final, lengths)
        return self.readout(final)

    def step(self, x: Tensor, state: list[Any] | None = None) -> tuple[Tensor, list[Any]]:
        """Per-step outputs for x (n, steps, inputs) continuing from `state` (None: the start), and the new state."""
        if self.bidirectional or not self.per_step:
            raise ValueError("step() generates one step at a time: a causal model with per-step outputs only")
        states = list(state) if state is not None else [None] * len(self.blocks)
        outputs = []
        for t in range(x.shape[1]):
            h = self.embed(x[:, t])
            for i, block in enumerate(cast(list[Block], self.blocks)):
                h, states[i] = block.step(h, states[i])
            outputs.append(self.readout(self.norm(h)))
        return torch.stack(outputs, 1), states
