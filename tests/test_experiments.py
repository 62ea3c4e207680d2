"""Every study in conf/experiment/ runs as a multirun at toy size through the real CLI: each job writes its report."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser

import rnnlab.conf
from test_mnist import FILES, digit_images, write_idx

EXPERIMENTS = Path(rnnlab.conf.__file__).parent / "experiment"
TOY = ["logger=none", "trainer.max_steps=3", "trainer.eval_every=2", "task.val_size=8", "task.test_size=8"]


def expected_jobs(name: str) -> int:
    """The number of jobs the experiment's sweep makes, read with Hydra's own override parser."""
    config = yaml.safe_load((EXPERIMENTS / f"{name}.yaml").read_text()) or {}
    swept = config.get("hydra", {}).get("sweeper", {}).get("params", {})
    overrides = OverridesParser.create().parse_overrides([f"{key}={value}" for key, value in swept.items()])
    return math.prod(len(list(o.sweep_string_iterator())) for o in overrides)


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mnist")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    labels = np.arange(100) % 10
    for images_file, labels_file in (FILES[:2], FILES[2:]):
        write_idx(raw / images_file, digit_images(labels, rng))
        write_idx(raw / labels_file, labels)
    return root


@pytest.mark.parametrize("name", sorted(p.stem for p in EXPERIMENTS.glob("*.yaml")))
def test_every_experiment_runs_as_a_toy_multirun(name, tmp_path, tiny_mnist):
    extra = [f"task.root={tiny_mnist}", "task.download=false"] if name.startswith("mnist") else []
    code = "import sys; from rnnlab.cli import train; sys.argv[0] = 'rnnlab'; train()"
    result = subprocess.run(
        [sys.executable, "-c", code, "-m", f"experiment={name}", *TOY, *extra, f"hydra.sweep.dir={tmp_path}"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    reports = [json.loads(p.read_text()) for p in tmp_path.glob("*/report.json")]
    assert len(reports) == expected_jobs(name)
    assert all(r["status"] == "ok" and r["test"] for r in reports)
