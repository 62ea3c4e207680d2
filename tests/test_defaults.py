"""One source for each default: a built-in option's yaml and its class's constructor say the same, except where one
constructor serves several options whose yamls differ (listed below, each with why), so a class built directly
(tests, a notebook) behaves as the option does."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import rnnlab.conf
from conftest import compose_config
from omegaconf import OmegaConf

from rnnlab.config.build import constructor_parameters, locate

CONF = Path(rnnlab.conf.__file__).parent
OPTIONS = [(group, p.stem) for group in ("model", "task") for p in sorted((CONF / group).glob("*.yaml"))]
# Keys whose default cannot be one option's, because the constructor serves options that set them apart
SHARED = {
    "rnnlab.models.recurrent.RecurrentNet": {"cell", "forget_bias"},  # rnn, lstm and gru: the cell and lstm's bias 2
    "task": {"val_size", "test_size", "stop_window"},  # rnnlab.Task's: each task sizes its own sets and stop rule
}


@pytest.mark.parametrize("group,option", OPTIONS)
def test_an_options_yaml_and_its_constructor_agree_on_every_default(group, option):
    node = OmegaConf.to_container(compose_config(f"{group}={option}")[group], resolve=True)
    shared = SHARED.get(node["_target_"], set()) | (SHARED["task"] if group == "task" else set())
    differ = {
        p.name: (node[p.name], p.default)
        for p in constructor_parameters(locate(node["_target_"], group))
        if p.name in node
        and p.name not in shared
        and p.default is not inspect.Parameter.empty
        and p.default != node[p.name]
        and not (p.default is None and node[p.name] == [])
    }
    assert differ == {}, f"{group}={option}: yaml vs constructor {differ}"
