"""Every study in conf/experiment/ runs at toy size: its sweep is expanded with the CLI's own expansion and every
job runs in-process through run(), so each job writes its report. (test_launchers runs sweeps through the real command.)

Each job's config is Hydra's, through compose_jobs (the one the CLI checks sweeps with): the jobs that choose the same
config groups share one composition (0.35-0.9 s each on a 2-core machine, the larger half of this file's time)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import rnnlab.conf
import torch
import yaml
from hydra import compose, initialize_config_module
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from rnnlab.config.validate import validate
from rnnlab.runner.parts import build_parts
from rnnlab.runner.run import run
from rnnlab.sweeps.compose_jobs import compose_jobs, expand_jobs, swept_by_the_config

CONF = Path(rnnlab.conf.__file__).parent
EXPERIMENTS = CONF / "experiment"
TOY = [
    "logger=none",
    "trainer.progress=false",
    "trainer.max_steps=3",
    "trainer.max_minutes=null",
    "trainer.eval_every=2",
    "task.val_size=8",
    "task.test_size=8",
    "trainer.batch_size=8",
    "device=cpu",
]


def swept_params(name: str) -> dict:
    """The experiment's hydra.sweeper.params as its YAML writes them, over those of an experiment it builds on (a
    `defaults` entry naming another file of conf/experiment/)."""
    config = yaml.safe_load((EXPERIMENTS / f"{name}.yaml").read_text()) or {}
    params: dict = {}
    for entry in config.get("defaults", []):
        if isinstance(entry, str) and (EXPERIMENTS / f"{entry}.yaml").exists():
            params.update(swept_params(entry))
    return {**params, **config.get("hydra", {}).get("sweeper", {}).get("params", {})}


def expected_jobs(name: str) -> int:
    """The number of jobs the experiment's sweep makes, read from its YAML with Hydra's own override parser."""
    swept = swept_params(name)
    overrides = OverridesParser.create().parse_overrides([f"{key}={value}" for key, value in swept.items()])
    return math.prod(len(list(o.sweep_string_iterator())) for o in overrides)


# The three studies of every model (5 models x 3 tasks, x 784-step MNIST) take 10 s each as toy sweeps: the slow tier
SLOW_STUDIES = {
    "modern_vs_classic",
    "smnist_models",
    "pmnist_models",
    "compare_selective_copy",
    "compare_mqar",
    "compare_adding",
    "compare_smnist",
    "compare_smnist_cpu",
    "compare_mqar_gpu",
    "compare_selective_copy_gpu",
}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(p.stem, marks=pytest.mark.slow) if p.stem in SLOW_STUDIES else p.stem
        for p in sorted(EXPERIMENTS.glob("*.yaml"))
    ],
)
def test_every_experiment_runs_as_a_toy_sweep(name, tmp_path, tiny_mnist):
    extra = [f"task.root={tiny_mnist}", "task.download=false"] if "mnist" in name else []
    with initialize_config_module("rnnlab.conf", version_base="1.3"):
        study = compose("config", overrides=[f"experiment={name}"], return_hydra_config=True)
        jobs = expand_jobs(swept_by_the_config(study))
        configs = compose_jobs("config", [[f"experiment={name}", *TOY, *extra, *job] for job in jobs])
    assert len(jobs) == expected_jobs(name)
    kinds = set()
    for number, (job, cfg) in enumerate(zip(jobs, configs)):
        # Each kind of job (model class and cell, attention, task, loss) trains and tests; the others, which differ
        # only in sizes and values (hidden size, length, seed), are validated and built on the meta device.
        kind = (
            cfg.model._target_,
            cfg.model.get("cell"),
            cfg.model.get("attention"),
            cfg.task._target_,
            cfg.loss._target_,
        )
        if kind in kinds:
            validate(cfg)
            build_parts(cfg, torch.device("cpu"), weights=False)
        else:
            kinds.add(kind)
            report = run(cfg, tmp_path / str(number))
            assert report["status"] == "ok" and report["test"], job
        for override in OverridesParser.create().parse_overrides(job):  # it ran with its own swept values
            if "." in override.key_or_group:  # a value, not a group choice
                actual = OmegaConf.select(cfg, override.key_or_group)
                actual = OmegaConf.to_container(actual) if OmegaConf.is_config(actual) else actual
                assert actual == override.value(), override.input_line
