"""The memory estimate that refuses sizes which cannot fit, before anything is allocated."""

from __future__ import annotations

import pytest
from conftest import CPU, compose_config
from omegaconf import OmegaConf

from rnnlab.errors import ConfigError
from rnnlab.models.recurrent import RecurrentNet
from rnnlab.runner.memory import check_memory, parameter_count
from rnnlab.runner.parts import build_parts


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, True), (3, False)])
def test_the_parameter_count_is_torchs(cell, layers, bidirectional):
    settings = dict(cell=cell, hidden_size=17, num_layers=layers, bidirectional=bidirectional)
    model = RecurrentNet(input_size=8, output_size=5, per_step=False, **settings)
    assert parameter_count(OmegaConf.create(settings), 8, 5) == sum(p.numel() for p in model.parameters())


def test_a_run_that_fits_passes_and_each_part_that_cannot_is_named():
    task, _, loss = build_parts(compose_config("task=index_recall"), CPU, weights=False)
    model = compose_config("task=index_recall").model
    check_memory(task, model, 10, 32, CPU)  # the defaults fit
    with pytest.raises(ConfigError, match="for a training batch, more than the .* available on cpu"):
        check_memory(task, model, 10, 10**9, CPU)
    huge = OmegaConf.merge(model, {"hidden_size": 10**7})
    with pytest.raises(ConfigError, match="PB of memory for the model's weights and optimizer state"):
        check_memory(task, huge, 10, 32, CPU)
