"""The one model class: every cell x bidirectional x attention, readout shapes, padding that never leaks."""

from __future__ import annotations

import itertools

import pytest
import torch

from rnnlab.config.schemas import CELLS
from rnnlab.errors import ConfigError
from rnnlab.models.recurrent import RecurrentNet

ATTENTION = ["none", "additive", "dot", "mean", "inputs_only"]


def model(per_step=False, **kwargs):
    torch.manual_seed(0)
    return RecurrentNet(input_size=3, output_size=5, per_step=per_step, hidden_size=8, **kwargs).eval()


@pytest.mark.parametrize(
    "cell,bidirectional,attention,num_layers",
    list(itertools.product(CELLS, [False, True], ATTENTION, [1, 2])),
)
def test_per_sequence_output_shape(cell, bidirectional, attention, num_layers):
    net = model(
        cell=cell,
        bidirectional=bidirectional,
        attention=attention,
        num_layers=num_layers,
        dropout=0.1,
        attention_heads=3,
    )
    x = torch.randn(4, 7, 3)
    out = net(x, torch.tensor([7, 3, 5, 1]))
    assert out.shape == (4, 5)
    if attention == "none":
        assert net.last_attention is None
    else:  # (sequences, heads, steps); the report's design and the plain mean have one head
        assert net.last_attention.shape == (4, 1 if attention in ("inputs_only", "mean") else 3, 7)


@pytest.mark.parametrize("cell,bidirectional", list(itertools.product(CELLS, [False, True])))
def test_per_step_output_shape(cell, bidirectional):
    net = model(per_step=True, cell=cell, bidirectional=bidirectional)
    assert net(torch.randn(4, 7, 3), torch.tensor([7, 3, 5, 1])).shape == (4, 7, 5)


@pytest.mark.parametrize("cell,bidirectional,attention", list(itertools.product(CELLS, [False, True], ATTENTION)))
def test_padding_never_reaches_the_readout(cell, bidirectional, attention):
    """A short sequence gives the same output alone as inside a longer, garbage-padded batch."""
    net = model(cell=cell, bidirectional=bidirectional, attention=attention, attention_heads=2)
    short = torch.randn(1, 4, 3)
    alone = net(short, torch.tensor([4]))
    padded = torch.cat([short, 100 * torch.randn(1, 5, 3)], dim=1)
    long_one = torch.randn(1, 9, 3)
    together = net(torch.cat([padded, long_one]), torch.tensor([4, 9]))
    torch.testing.assert_close(together[0], alone[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "attention,query",
    [
        ("additive", "learned"),
        ("additive", "final"),
        ("dot", "learned"),
        ("mean", "learned"),
        ("inputs_only", "learned"),
    ],
)
def test_attention_weights_sum_to_one_over_the_true_steps(attention, query):
    net = model(attention=attention, attention_heads=2, attention_query=query, attention_null=False)  # no empty slot
    x = torch.randn(2, 6, 3)
    x[1, 2:] = 100.0  # garbage in the padding of the short sequence
    net(x, torch.tensor([6, 2]))
    weights = net.last_attention
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, weights.shape[1]))
    assert (weights[1, :, 2:] == 0).all() and (weights[1, :, :2] > 0).all()


@pytest.mark.parametrize("attention", ["additive", "dot"])
def test_each_head_pools_the_states_and_the_inputs_of_the_steps_it_attends(attention):
    from rnnlab.models.attention import build_attention

    pool = build_attention(attention, state_size=4, input_size=3, heads=2, query="learned", null=True)
    with torch.no_grad():  # heads that do not start as a plain average, so the weights below differ per step
        for p in pool.parameters():
            p.normal_()
    states, inputs = torch.randn(2, 5, 4), torch.randn(2, 5, 3)
    mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    context, weights = pool(states, inputs, states[:, -1], mask)
    assert context.shape == (2, 2 * (4 + 3)) == (2, pool.context_size)
    for head in range(2):
        pooled = context.view(2, 2, 7)[:, head]
        torch.testing.assert_close(pooled[:, :4], torch.einsum("nt,ntf->nf", weights[:, head], states))
        torch.testing.assert_close(pooled[:, 4:], torch.einsum("nt,ntf->nf", weights[:, head], inputs))


@pytest.mark.parametrize("attention", ["additive", "dot"])
def test_with_the_empty_slot_a_head_shares_its_weight_with_nothing_and_still_ignores_padding(attention):
    net = model(attention=attention, attention_heads=2, attention_null=True)
    with torch.no_grad():  # make the empty slot win: every head attends mostly to nothing
        if attention == "additive":
            net.attention.score.fill_(1.0)  # a step scores sum(tanh(key)) < 8 (size 8); the slot scores ~8
            net.attention.null.fill_(10.0)
        else:
            net.attention.null.fill_(20.0)
    x = torch.randn(2, 6, 3)
    x[1, 2:] = 100.0
    net(x, torch.tensor([6, 2]))
    weights = net.last_attention
    assert (weights.sum(-1) < 0.5).all() and (weights.sum(-1) > 0).all()
    assert (weights[1, :, 2:] == 0).all()


def test_mean_pooling_is_the_average_of_the_true_steps_states_beside_the_final_state():
    from rnnlab.models.attention import build_attention

    pool = build_attention("mean", state_size=4, input_size=3, heads=5, query="learned")
    assert not list(pool.parameters())  # nothing to learn: S4's and the LRU's readout
    states, mask = torch.randn(2, 6, 4), torch.tensor([[True] * 6, [True] * 2 + [False] * 4])
    context, weights = pool(states, torch.randn(2, 6, 3), states[:, -1], mask)
    torch.testing.assert_close(context, torch.stack([states[0].mean(0), states[1, :2].mean(0)]))
    assert weights.shape == (2, 1, 6) and (weights[1, 0, 2:] == 0).all()
    assert model(attention="mean").readout.in_features == 8 + 8


def test_the_readout_sees_the_context_beside_the_final_state_except_in_the_reports_design():
    hidden, inputs, heads = 8, 3, 3  # each head pools a state and an input
    assert model(attention="additive", attention_heads=heads).readout.in_features == heads * (hidden + inputs) + hidden
    assert model(attention="dot", attention_heads=1).readout.in_features == (hidden + inputs) + hidden
    assert model(attention="inputs_only").readout.in_features == inputs  # the weighted one-hot inputs alone


def test_the_reports_design_adds_no_order_beyond_the_final_state():
    """Given the same final state, XY and YX pool to the same context: the weighted sum of one-hot inputs knows
    which symbols came, not in which order."""
    x, y = torch.tensor([1.0, 0, 0]), torch.tensor([0, 1.0, 0])
    inputs = torch.stack([torch.stack([x, y]), torch.stack([y, x])])  # XY, YX
    mask = torch.ones(2, 2, dtype=torch.bool)
    final = torch.randn(1, 8).expand(2, -1)
    report = model(attention="report_input").attention  # the old name: still the same pooling
    context, _ = report(torch.randn(2, 2, 8), inputs, final, mask)
    torch.testing.assert_close(context[0], context[1])


def test_lstm_forget_gate_bias_is_set():
    net = model(cell="lstm", forget_bias=2.0)
    h = 8
    total = net.rnn.bias_ih_l0 + net.rnn.bias_hh_l0
    assert torch.allclose(total[h : 2 * h], torch.full((h,), 2.0))


def test_attention_is_refused_for_per_step_tasks():
    with pytest.raises(ConfigError, match="one output per step"):
        model(per_step=True, attention="additive")


def test_relu_rnn_runs_with_relu():
    net = model(cell="rnn", nonlinearity="relu")
    assert net.rnn.nonlinearity == "relu"
    x = torch.randn(2, 5, 3)
    states, _ = net.rnn(x)
    assert (states >= 0).all() and (states == 0).any()  # relu states: never negative, some cut to zero
    assert net(x, torch.tensor([5, 5])).shape == (2, 5)


def test_attention_learns_to_look_at_the_step_that_decides():
    """A toy problem: 4 symbols per step and a marker channel set at one random step; the class is the symbol
    at the marked step. After a few hundred steps of training, most attention weight sits on the marked step."""
    generator = torch.Generator().manual_seed(0)

    def batch(n: int = 64, steps: int = 12):
        symbols = torch.randint(0, 4, (n, steps), generator=generator)
        marked = torch.randint(0, steps, (n,), generator=generator)
        x = torch.cat([torch.nn.functional.one_hot(symbols, 4).float(), torch.zeros(n, steps, 1)], dim=-1)
        x[torch.arange(n), marked, 4] = 1.0
        return x, symbols[torch.arange(n), marked], marked, torch.full((n,), steps)

    torch.manual_seed(0)
    net = RecurrentNet(
        input_size=5, output_size=4, per_step=False, cell="rnn", hidden_size=8, attention="additive", attention_heads=1
    )
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(300):
        x, y, _, lengths = batch()
        loss = torch.nn.functional.cross_entropy(net(x, lengths), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    x, y, marked, lengths = batch(500)
    with torch.no_grad():
        accuracy = (net(x, lengths).argmax(-1) == y).float().mean()
    on_marked = net.last_attention[torch.arange(500), 0, marked].mean()
    assert on_marked > 0.7 and accuracy > 0.9  # chance: 1/12 of the weight, 25% accuracy


def test_attention_on_target_counts_what_the_heads_put_on_steps_not_what_went_to_the_empty_slot():
    """Two heads on temporal order: one all on X and Y, one on the empty slot (no weight on any step); then the
    second head looks at a wrong step instead. The share is 1.0, then 0.5."""
    from rnnlab.tasks.base import seeded
    from rnnlab.tasks.temporal_order import TemporalOrder
    from rnnlab.training.testing import attention_scores

    task = TemporalOrder(variant="6a", val_size=8, test_size=8, stop_window=0)
    batch = task.make_batch(8, seeded(0, torch.device("cpu")), torch.device("cpu"))
    target = task.relevant_steps(batch).float()  # (n, steps): 1 at the X/Y steps

    class Looking(torch.nn.Module):
        def __init__(self, second_head):
            super().__init__()
            self.second_head = second_head

        def forward(self, x, lengths):
            self.last_attention = torch.stack([target / target.sum(-1, keepdim=True), self.second_head], dim=1)
            return torch.zeros(len(x), 4)

    abstains = torch.zeros_like(target)
    wrong = torch.zeros_like(target)
    wrong[:, 0] = 1.0  # the start symbol, never X or Y
    assert attention_scores(Looking(abstains), task, batch)["attention_on_target"] == 1.0
    assert attention_scores(Looking(wrong), task, batch)["attention_on_target"] == 0.5
