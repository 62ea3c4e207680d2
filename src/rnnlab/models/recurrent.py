"""One recurrent model for every task: cell by name, layers, bidirectional, attention pooling, linear readout.

    model = RecurrentNet(input_size=2, output_size=1, per_step=True, cell="lstm", hidden_size=16)
    outputs = model(batch.x, batch.lengths)   # (n, steps, outputs) when per_step, else (n, outputs)

The task decides input_size, output_size and per_step; the config decides the rest. A per-sequence model reads
out at each sequence's true last step (for the backward direction: its first step, after the whole sequence),
and, with attention (src/rnnlab/models/attention.py), also pools all true steps. Padding never reaches a readout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnlab.config.schemas import CELLS
from rnnlab.errors import require_choice
from rnnlab.models.attention import (
    build_attention,
    joined_size,
    pool_and_join,
    refuse_pooling_per_step,
)

# The cell names are config.CELLS (what the schema accepts); each is torch's class of the same name in capitals.
# nn.RNN, nn.LSTM, nn.GRU: each takes (input_size, hidden_size, num_layers, ...); typed loosely, as RNNBase's own
# constructor begins with the mode
CELL_CLASSES: dict[str, Callable[..., nn.RNNBase]] = {name: getattr(nn, name.upper()) for name in CELLS}


class RecurrentNet(nn.Module):
    def __init__(
        self,
        input_size: int,
        output_size: int,
        per_step: bool,
        cell: str = "lstm",
        hidden_size: int = 32,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        dropout: float = 0.0,
        bidirectional: bool = False,
        attention: str = "none",
        attention_heads: int = 4,  # the defaults of conf/model/{rnn,lstm,gru}.yaml (tests/test_defaults.py)
        attention_query: str = "learned",
        attention_null: bool = True,
        forget_bias: float | str = 0.0,
        sequence_steps: int | None = None,
    ) -> None:
        super().__init__()
        require_choice("model.cell", cell, CELLS)  # the schema checked a config already; this is for direct use
        refuse_pooling_per_step(attention, per_step)
        extra = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        self.rnn = CELL_CLASSES[cell](
            input_size,
            hidden_size,
            num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,  # torch applies it between layers only
            **extra,
        )
        self.per_step = per_step
        self.hidden_size = hidden_size
        self.attention_heads = attention_heads
        features = hidden_size * (2 if bidirectional else 1)
        self.attention = None
        readout_size = features
        if attention != "none":
            self.attention = build_attention(
                attention, features, input_size, attention_heads, attention_query, attention_null
            )
            readout_size = joined_size(self.attention, features)
        self.dropout = nn.Dropout(dropout)
        self.readout = nn.Linear(readout_size, output_size)
        self.last_attention: Tensor | None = None  # weights of the latest forward pass, for plots
        if forget_bias == "chrono":
            self._set_chrono(sequence_steps or 100)
        elif cell == "lstm":
            self._set_forget_bias(float(forget_bias))  # a number, unless "chrono"

    def floats_per_step(self) -> int:
        """What a sequence keeps per step for backpropagation (runner/memory.py): every layer's gates, cell and
        hidden state, and the attention heads' pooled states."""
        gates = {"RNN_TANH": 1, "RNN_RELU": 1, "GRU": 3, "LSTM": 4}[self.rnn.mode]
        directions = 2 if self.rnn.bidirectional else 1
        heads = getattr(self.attention, "heads", 1) if self.attention is not None else 0  # inputs_only: one
        return self.rnn.num_layers * directions * self.hidden_size * (gates + 2) + heads * directions * self.hidden_size

    @property
    def name(self) -> str:
        return type(self.rnn).__name__.lower()

    def _set_forget_bias(self, value: float) -> None:
        # torch orders LSTM gates (input, forget, cell, output) and adds two bias vectors: put the whole
        # forget bias in one, so that the gate starts near sigmoid(value) and memory survives early training.
        h = self.hidden_size
        with torch.no_grad():
            for name, bias in self.rnn.named_parameters():
                if name.startswith("bias_ih"):
                    bias[h : 2 * h].fill_(value)
                elif name.startswith("bias_hh"):
                    bias[h : 2 * h].zero_()

    def _set_chrono(self, steps: int) -> None:
        """Chrono initialisation (Tallec & Ollivier 2018): gates that keep memory for T steps, T drawn per unit
        from U(1, steps - 1): the forget (lstm) or update (gru) bias log(T), the lstm's input bias -log(T). Memory
        then decays on every time scale up to the task's sequence length from the first step of training."""
        h = self.hidden_size
        keep = slice(h, 2 * h)  # lstm gates (input, forget, cell, output); gru gates (reset, update, new)
        with torch.no_grad():
            for name, bias in self.rnn.named_parameters():
                if name.startswith("bias_hh"):
                    bias[: 2 * h].zero_()
                elif name.startswith("bias_ih"):
                    log_t = torch.log(torch.empty(h).uniform_(1, max(steps - 1, 1 + 1e-6)))
                    bias[keep] = log_t
                    if self.rnn.mode == "LSTM":
                        bias[:h] = -log_t

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        n, steps, _ = x.shape
        # A unidirectional pass never sees the padding after a sequence's end before its readout, so it runs
        # unpacked (faster); a backward pass would start in the padding, so varying lengths are packed.
        if self.rnn.bidirectional and bool((lengths != steps).any()):
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            states, _ = pad_packed_sequence(self.rnn(packed)[0], batch_first=True, total_length=steps)
        else:
            states, _ = self.rnn(x)
        if self.per_step:
            return self.readout(self.dropout(states))
        final = self._last_states(states, lengths)
        if self.attention is not None:
            final, self.last_attention = pool_and_join(self.attention, states, x, final, lengths)
        return self.readout(self.dropout(final))

    def step(self, x: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """A per-step model's outputs for x (n, steps, inputs) continuing from `state` (None: the start), and the
        state after it: generation one character at a time, without reading the text so far again."""
        states, state = self.rnn(x, state)
        return self.readout(states), state

    def _last_states(self, states: Tensor, lengths: Tensor) -> Tensor:
        h = self.hidden_size
        last = (lengths - 1).view(-1, 1, 1).expand(-1, 1, h)
        forward = states[..., :h].gather(1, last).squeeze(1)
        if not self.rnn.bidirectional:
            return forward
        return torch.cat([forward, states[:, 0, h:]], dim=-1)  # the backward pass ends at step 0
