"""The one model class: every cell x bidirectional x attention, readout shapes, padding that never leaks."""

from __future__ import annotations

import itertools

import pytest
import torch

from rnnlab.config import ConfigError
from rnnlab.models import RecurrentNet

CELLS = ["rnn", "lstm", "gru"]


def model(per_step=False, **kwargs):
    torch.manual_seed(0)
    return RecurrentNet(input_size=3, output_size=5, per_step=per_step, hidden_size=8, **kwargs).eval()


@pytest.mark.parametrize(
    "cell,bidirectional,attention,num_layers",
    list(itertools.product(CELLS, [False, True], ["none", "additive"], [1, 2])),
)
def test_per_sequence_output_shape(cell, bidirectional, attention, num_layers):
    net = model(cell=cell, bidirectional=bidirectional, attention=attention, num_layers=num_layers, dropout=0.1)
    x = torch.randn(4, 7, 3)
    out = net(x, torch.tensor([7, 3, 5, 1]))
    assert out.shape == (4, 5)
    assert (net.last_attention is not None) == (attention == "additive")


@pytest.mark.parametrize("cell,bidirectional", list(itertools.product(CELLS, [False, True])))
def test_per_step_output_shape(cell, bidirectional):
    net = model(per_step=True, cell=cell, bidirectional=bidirectional)
    assert net(torch.randn(4, 7, 3), torch.tensor([7, 3, 5, 1])).shape == (4, 7, 5)


@pytest.mark.parametrize(
    "cell,bidirectional,attention", list(itertools.product(CELLS, [False, True], ["none", "additive"]))
)
def test_padding_never_reaches_the_readout(cell, bidirectional, attention):
    """A short sequence gives the same output alone as inside a longer, garbage-padded batch."""
    net = model(cell=cell, bidirectional=bidirectional, attention=attention)
    short = torch.randn(1, 4, 3)
    alone = net(short, torch.tensor([4]))
    padded = torch.cat([short, 100 * torch.randn(1, 5, 3)], dim=1)
    long_one = torch.randn(1, 9, 3)
    together = net(torch.cat([padded, long_one]), torch.tensor([4, 9]))
    torch.testing.assert_close(together[0], alone[0], rtol=1e-5, atol=1e-5)


def test_attention_weights_cover_only_the_true_steps():
    net = model(attention="additive")
    net(torch.randn(2, 6, 3), torch.tensor([6, 2]))
    weights = net.last_attention
    torch.testing.assert_close(weights.sum(-1), torch.ones(2))
    assert (weights[1, 2:] == 0).all()


def test_lstm_forget_gate_bias_is_set():
    net = model(cell="lstm", forget_bias=2.0)
    h = 8
    total = net.rnn.bias_ih_l0 + net.rnn.bias_hh_l0
    assert torch.allclose(total[h : 2 * h], torch.full((h,), 2.0))


def test_attention_is_refused_for_per_step_tasks():
    with pytest.raises(ConfigError, match="one output per step"):
        model(per_step=True, attention="additive")


def test_relu_rnn_runs():
    net = model(cell="rnn", nonlinearity="relu")
    assert net.rnn.nonlinearity == "relu"
