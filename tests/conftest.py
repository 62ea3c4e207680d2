"""Shared fixtures: the real configs, composed with Hydra's compose API and shrunk for speed."""

from __future__ import annotations

import logging

import pytest
from hydra import compose, initialize_config_module
from omegaconf import DictConfig

# Fast settings every test run starts from: tiny validation/test sets, no progress bar.
TINY = [
    "logger=none",
    "trainer.progress=false",
    "trainer.max_steps=20",
    "trainer.eval_every=10",
    "task.val_size=64",
    "task.test_size=32",
]


def compose_config(*overrides: str) -> DictConfig:
    with initialize_config_module("rnnlab.conf", version_base="1.3"):
        return compose("config", overrides=list(overrides))


@pytest.fixture
def tiny_config():
    """compose the real config with TINY settings plus the test's own overrides (which win)."""

    def make(*overrides: str) -> DictConfig:
        return compose_config(*TINY, *overrides)

    return make


@pytest.fixture(autouse=True)
def quiet_logs():
    logging.getLogger("rnnlab").setLevel(logging.WARNING)
