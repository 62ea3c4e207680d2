"""The memory estimate that refuses sizes which cannot fit, before anything is allocated."""

from __future__ import annotations

import pytest
import torch
from conftest import CPU, compose_config
from torch import nn

from rnnlab.errors import ConfigError
from rnnlab.models.recurrent import RecurrentNet
from rnnlab.runner.memory import (
    COPIES_OF_WEIGHTS,
    FLOAT,
    WEIGHTS,
    check_memory,
    needs,
    saved_floats_per_step,
)
from rnnlab.runner.parts import build_parts


def _on_meta(**settings) -> RecurrentNet:
    with torch.device("meta"):
        return RecurrentNet(input_size=10, output_size=10, per_step=False, **settings)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_weights_are_counted_exactly_from_the_model_on_the_meta_device(cell):
    task, _, _ = build_parts(compose_config("task=index_recall"), CPU, weights=False)
    real = RecurrentNet(input_size=10, output_size=10, per_step=False, cell=cell, hidden_size=17, num_layers=2)
    weights = needs(task, _on_meta(cell=cell, hidden_size=17, num_layers=2), 10, 32)[WEIGHTS]
    assert weights == sum(p.numel() for p in real.parameters()) * FLOAT * COPIES_OF_WEIGHTS


def test_a_run_that_fits_passes_and_each_part_that_cannot_is_named():
    task, _, _ = build_parts(compose_config("task=index_recall"), CPU, weights=False)
    check_memory(task, _on_meta(hidden_size=32), 10, 32, CPU)  # the defaults fit
    with pytest.raises(ConfigError, match="for a training batch, more than the .* available on cpu"):
        check_memory(task, _on_meta(hidden_size=32), 10, 10**9, CPU)
    with pytest.raises(ConfigError, match="PB of memory for the model's weights and optimizer state"):
        check_memory(task, _on_meta(hidden_size=10**7), 10, 32, CPU)


class Loop(nn.Module):
    """A user's model without an estimate of its own: a tanh RNN written as a loop over steps."""

    def __init__(self, input_size: int, hidden: int) -> None:
        super().__init__()
        self.cell = nn.Linear(input_size + hidden, hidden)
        self.hidden = hidden

    def forward(self, x, lengths):
        h = x.new_zeros(x.shape[0], self.hidden)
        for step in x.unbind(1):
            h = torch.tanh(self.cell(torch.cat([step, h], -1)))
        return h


def test_a_model_without_its_own_estimate_is_measured_on_the_meta_device():
    with torch.device("meta"):
        model = Loop(input_size=7, hidden=50)
    # per step autograd keeps the concatenated input (7 + 50) and the tanh output (50); the weight it saves is
    # the model's own, counted once with the weights
    assert saved_floats_per_step(model, input_size=7) == 7 + 50 + 50
