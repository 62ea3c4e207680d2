"""Shared fixtures: the real configs, composed with Hydra's compose API and shrunk for speed."""

from __future__ import annotations

import logging
import os

# One torch thread per test process, and the same for every subprocess a test starts (they inherit os.environ,
# or take ONE_THREAD into the env they build). Two threads on two cores run 10-100x slower as soon as anything
# else competes for the CPU (pytest itself, a second job, CI), and the tests' tiny models gain nothing from them.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
os.environ.update(ONE_THREAD)

import pytest  # noqa: E402
import torch  # noqa: E402
from hydra import compose, initialize_config_module  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

torch.set_num_threads(1)

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
