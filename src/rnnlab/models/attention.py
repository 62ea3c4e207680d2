"""Attention pooling over time for per-sequence models: where to look among the steps of a sequence.

    pool = build_attention("additive", state_size=32, input_size=8, heads=4, query="learned")
    context, weights = pool(states, inputs, final, mask)   # context (n, context_size), weights (n, heads, steps)

The readout sees the pooled context *and* the final state (RecurrentNet concatenates them), so attention adds to
the recurrent memory instead of replacing it; `inputs_only` is the exception, on purpose.

What a head pools at each step is that step's state *and its input*. With the state alone, an LSTM's heads had no
reason to look at the step that matters rather than any later one (the memory carries it on): on temporal order
they settled one step late or stayed spread, 0.25-1.00 on target over seeds 0-4. With the input beside the state,
the step itself is where the symbol is read most clearly: 0.98-1.00 at every seed, for additive and dot, and in
fewer training sequences (docs/results.md, Temporal order).

- additive (Bahdanau 2015): score_t = v . tanh(W k_t + U q), one score per head. The key k_t holds the state, the
  input and the step's position; the query q is learned per head, or made from the final state (query=final).
  Several heads (Lin et al. 2017, structured self-attention) can each find one of several steps that matter: one
  softmax pool averages the steps it finds and so loses their order. The position features let a head prefer an
  early or a late step, which a tanh RNN's state alone does not tell.
- dot (Luong 2015, scaled as in Vaswani et al. 2017): score_t = (W_q h_T) . k_t / sqrt(d), the final state as
  the query against every step's key (state, input and position, as for additive), a W_q per head.
- mean: the average of the true steps' states, no parameters (S4's and the LRU's readout for sequential MNIST).
- inputs_only (old name: report_input): the design of one of the original course reports, kept for a
  side-by-side: each one-hot input is
  scored against the final state, the scores are normalised as sigmoid(e_t) / sum_j sigmoid(e_j), and the readout
  sees only the weighted sum of the inputs (one head, whatever attention_heads says). A weighted sum of one-hot
  vectors cannot tell XY from YX (both are one X and one Y), so it cannot solve the temporal-order problem.

Padding (steps past a sequence's end) gets weight 0.

null=True (additive, dot) gives every head one more place to look: a learned "nothing here" slot whose value is
zero. A head that finds X in XY has no X to find in YY; without the slot its softmax must still put its weight on
some step, and it learns to park it on the start symbol, the one step that is the same in every sequence. With the
slot it can abstain instead, and the weights it returns over the true steps sum to 1 minus what it put there.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rnnlab.config.schemas import ATTENTION, attention_kind
from rnnlab.errors import ConfigError

TIME_SCALES = (1.0, 4.0, 16.0, 64.0, 256.0, 1024.0)  # steps; position features exp(-t / scale)


def position_features(steps: int, device: torch.device) -> Tensor:
    """(steps, len(TIME_SCALES)): smooth functions of the absolute step that tell early steps apart at any length."""
    t = torch.arange(steps, device=device, dtype=torch.float32)[:, None]
    return torch.exp(-t / torch.tensor(TIME_SCALES, device=device))


def _masked_softmax(scores: Tensor, mask: Tensor, null: Tensor | None = None) -> Tensor:
    """scores (n, heads, steps), mask (n, steps) -> weights that sum to 1 over each sequence's true steps; with
    `null` (n or 1, heads), the score of the empty slot, they sum to 1 minus the slot's share."""
    scores = scores.masked_fill(~mask[:, None, :], float("-inf"))
    if null is None:
        return scores.softmax(dim=-1)
    with_null = torch.cat([scores, null.expand(len(scores), -1)[..., None]], dim=-1)
    return with_null.softmax(dim=-1)[..., :-1]


def _pool(weights: Tensor, states: Tensor, inputs: Tensor) -> Tensor:
    """(n, heads * (state + input)): each head's weighted sum of the steps' states and inputs, side by side."""
    values = torch.cat([states, inputs], dim=-1)
    return torch.einsum("nht,ntf->nhf", weights, values).flatten(1)


class AdditiveAttention(nn.Module):
    def __init__(
        self, state_size: int, input_size: int, heads: int, query: str, null: bool = False, size: int | None = None
    ) -> None:
        super().__init__()
        size = size or state_size
        self.heads, self.size, self.query_kind = heads, size, query
        self.key = nn.Linear(state_size + input_size + len(TIME_SCALES), heads * size)
        self.query: nn.Parameter | nn.Linear
        if query == "learned":
            self.query = nn.Parameter(torch.zeros(heads, size))
        else:
            self.query = nn.Linear(state_size, heads * size, bias=False)
        # v starts at 0: every head begins as a plain average over the steps, and none starts saturated on one
        # step whose context never changes (the start symbol, whose key the position features make extreme).
        # Measured on temporal order, LSTM, seeds 0-1: attention on target 0.47-0.81 with v ~ N(0, 1/size),
        # 0.77-0.96 with v = 0.
        self.score = nn.Parameter(torch.zeros(heads, size))
        self.null = nn.Parameter(torch.zeros(heads, size)) if null else None  # the empty slot's key
        self.context_size = heads * (state_size + input_size)

    def forward(self, states: Tensor, inputs: Tensor, final: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        n, steps, _ = states.shape
        where = position_features(steps, states.device).expand(n, -1, -1)
        keys = self.key(torch.cat([states, inputs, where], dim=-1)).view(n, steps, self.heads, self.size)
        if isinstance(self.query, nn.Parameter):
            query = self.query
        else:
            query = self.query(final).view(n, 1, self.heads, self.size)
        scores = torch.einsum("nthd,hd->nht", torch.tanh(keys + query), self.score)
        null = None
        if self.null is not None:  # (1 or n, heads): the empty slot scored like a step
            null = (torch.tanh(self.null + query) * self.score).sum(-1).reshape(-1, self.heads)
        weights = _masked_softmax(scores, mask, null)
        return _pool(weights, states, inputs), weights


class DotAttention(nn.Module):
    def __init__(self, state_size: int, input_size: int, heads: int, null: bool = False) -> None:
        super().__init__()
        self.heads, self.size = heads, state_size
        self.key = nn.Linear(state_size + input_size + len(TIME_SCALES), heads * state_size)
        self.query = nn.Linear(state_size, heads * state_size, bias=False)  # one query per head, from h_T
        nn.init.zeros_(self.query.weight)  # every head starts as a plain average (see AdditiveAttention.score)
        self.null = nn.Parameter(torch.zeros(1, heads)) if null else None  # the empty slot's score, per head
        self.context_size = heads * (state_size + input_size)

    def forward(self, states: Tensor, inputs: Tensor, final: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        n, steps, _ = states.shape
        where = position_features(steps, states.device).expand(n, -1, -1)
        keys = self.key(torch.cat([states, inputs, where], dim=-1)).view(n, steps, self.heads, self.size)
        query = self.query(final).view(n, self.heads, self.size)
        scores = torch.einsum("nhd,nthd->nht", query, keys)
        weights = _masked_softmax(scores / math.sqrt(self.size), mask, self.null)
        return _pool(weights, states, inputs), weights


class MeanPooling(nn.Module):
    """The plain average of the true steps' states, no parameters: how S4 and the LRU read out sequential MNIST
    (Gu et al. 2022; Orvieto et al. 2023). Every step gets its gradient straight from the loss rather than through
    hundreds of steps of recurrence, so a causal model learns sooner per sequence than from its last step alone
    (sequential MNIST, minGRU: validation 79% after 500 steps against 70% after 800; docs/results.md), and it costs
    one average where additive attention over 784 steps halves a minGRU's rate."""

    def __init__(self, state_size: int) -> None:
        super().__init__()
        self.heads, self.context_size = 1, state_size
        self.weights_fixed = True  # the same weight on every true step: no attention figure, no attention_on_target

    def forward(self, states: Tensor, inputs: Tensor, final: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        weights = mask.to(states.dtype) / mask.sum(dim=-1, keepdim=True).to(states.dtype)
        return torch.einsum("nt,ntf->nf", weights, states), weights[:, None, :]


class InputsOnlyAttention(nn.Module):
    def __init__(self, state_size: int, input_size: int) -> None:
        super().__init__()
        self.project = nn.Linear(state_size, input_size)  # the final state in the inputs' space, to score them
        self.context_size = input_size
        self.replaces_final_state = True  # the readout sees the weighted inputs alone, as in the report

    def forward(self, states: Tensor, inputs: Tensor, final: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        scores = torch.sigmoid(torch.einsum("ni,nti->nt", self.project(final), inputs)) * mask
        weights = (scores / scores.sum(dim=-1, keepdim=True))[:, None, :]
        return torch.einsum("nht,nti->ni", weights, inputs), weights


def refuse_pooling_per_step(attention: str, per_step: bool) -> None:
    """Pooling makes one output of a sequence: a task with one output per step cannot use it."""
    if per_step and attention != "none":
        raise ConfigError(
            f"model.attention={attention} pools a whole sequence into one output, but this task needs "
            "one output per step: use model.attention=none"
        )


def build_attention(
    kind: str, state_size: int, input_size: int, heads: int, query: str, null: bool = False
) -> nn.Module:
    if kind == "additive":
        return AdditiveAttention(state_size, input_size, heads, query, null)
    if kind == "dot":
        return DotAttention(state_size, input_size, heads, null)
    if kind == "mean":
        return MeanPooling(state_size)
    if attention_kind(kind) == "inputs_only":
        return InputsOnlyAttention(state_size, input_size)
    raise ValueError(f"unknown attention {kind!r}: choose one of {', '.join(ATTENTION)}")


def joined_size(attention: nn.Module, state_size: int) -> int:
    """The width of what pool_and_join gives the readout."""
    context: int = attention.context_size  # type: ignore[assignment]  # every pooling module sets an int
    return context + (0 if getattr(attention, "replaces_final_state", False) else state_size)


def pool_and_join(
    attention: nn.Module, states: Tensor, inputs: Tensor, final: Tensor, lengths: Tensor
) -> tuple[Tensor, Tensor]:
    """What a per-sequence readout sees with attention: the pooled context beside the final state (the context
    alone for inputs_only), and the weights (n, heads, steps) for plots. Padding gets weight 0."""
    mask = torch.arange(states.shape[1], device=states.device) < lengths[:, None]
    context, weights = attention(states, inputs, final, mask)
    joined = context if getattr(attention, "replaces_final_state", False) else torch.cat([context, final], -1)
    return joined, weights
