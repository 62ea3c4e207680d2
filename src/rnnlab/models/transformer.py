"""model=transformer: a small causal self-attention stack, the reference line that Zoology (MQAR) and Mamba
(selective copying) draw beside the recurrent models.

    model = TransformerNet(input_size=48, output_size=16, per_step=True, hidden_size=64, num_layers=2, heads=4)
    outputs = model(x, lengths)                    # every step attends to itself and the steps before it
    outputs, cache = model.step(x_t[:, None])      # one step at a time with a key/value cache: the same numbers

The same residual blocks as minGRU, the LRU and S6 (models/residual.py): x = x + attention(LayerNorm(x)), then
x = x + MLP(LayerNorm(x)). Attention is torch's scaled_dot_product_attention (is_causal: a step never sees a later
one, so the padding after a sequence's end never reaches its readout); positions are rotary (RoPE, Su et al.
2021) on queries and keys, so a model tested at longer sequences than it trained on meets no unseen position
embedding. Any hidden_size works: each head has ceil(hidden_size / heads) dimensions (rounded up to even for the
rotation), projected back to hidden_size, so `model.params` can pick any width.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnlab.errors import require
from rnnlab.models.residual import ResidualNet

ROPE_BASE = 10_000.0


def rotate(x: Tensor, start: int = 0) -> Tensor:
    """Rotary position embedding of x (n, heads, steps, dims) for positions start, start + 1, ...: each pair of
    dimensions turned by an angle proportional to the position, at frequencies from 1 to 1/ROPE_BASE."""
    dims, steps = x.shape[-1], x.shape[-2]
    frequencies = ROPE_BASE ** (-torch.arange(0, dims, 2, device=x.device, dtype=torch.float32) / dims)
    angles = torch.arange(start, start + steps, device=x.device, dtype=torch.float32)[:, None] * frequencies
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    even, odd = x[..., 0::2], x[..., 1::2]
    return torch.stack([even * cos - odd * sin, even * sin + odd * cos], dim=-1).flatten(-2)


class CausalSelfAttention(nn.Module):
    floats_per_step = 8  # per unit: q, k, v (3), the attention output (1), its projection, softmax statistics

    def __init__(self, size: int, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.head_size = 2 * math.ceil(size / heads / 2)  # even: RoPE turns pairs of dimensions
        inner = heads * self.head_size
        self.qkv = nn.Linear(size, 3 * inner)
        self.out = nn.Linear(inner, size)

    def _heads(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        n, steps, _ = x.shape
        q, k, v = self.qkv(x).view(n, steps, 3, self.heads, self.head_size).permute(2, 0, 3, 1, 4)
        return q, k, v

    def _join(self, y: Tensor) -> Tensor:
        n, _, steps, _ = y.shape
        return self.out(y.transpose(1, 2).reshape(n, steps, self.heads * self.head_size))

    def forward(self, x: Tensor) -> Tensor:
        q, k, v = self._heads(x)
        return self._join(F.scaled_dot_product_attention(rotate(q), rotate(k), v, is_causal=True))

    def step(self, x: Tensor, cache: tuple[Tensor, Tensor] | None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """One step (x: n, size) attending to the cached keys and values of the steps before it."""
        q, k, v = self._heads(x[:, None])
        start = 0 if cache is None else cache[0].shape[2]
        k = rotate(k, start)
        if cache is not None:
            k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
        y = F.scaled_dot_product_attention(rotate(q, start), k, v)  # the newest step sees all the cache
        return self._join(y)[:, 0], (k, v)


class TransformerNet(ResidualNet):
    cell_class = CausalSelfAttention
    name = "transformer"

    def __init__(self, input_size: int, output_size: int, per_step: bool, heads: int = 4, **common: Any) -> None:
        require(heads >= 1, "model.heads", heads, "an integer >= 1")
        super().__init__(input_size, output_size, per_step, heads=heads, **common)
