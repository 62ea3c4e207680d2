"""Hydra's private API, which rnnlab reaches through rnnlab.config.hydra_internals alone: each call as rnnlab makes
it. On a Hydra whose internals moved, this fails first and names the call (pyproject.toml pins hydra-core < 1.4)."""

from __future__ import annotations

import inspect
import subprocess
from pathlib import Path

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from rnnlab.config import hydra_internals as internals

SRC = Path(__file__).resolve().parents[1] / "src"


def test_only_one_module_imports_hydras_private_api():
    found = subprocess.run(
        ["grep", "-rln", "--include=*.py", "hydra._internal", str(SRC)], capture_output=True, text=True
    ).stdout.split()
    assert [Path(f).relative_to(SRC).as_posix() for f in found] == ["rnnlab/config/hydra_internals.py"]


def test_the_argument_parser_reads_argv_as_hydra_main_does():
    parsed, _ = internals.get_args_parser().parse_known_args(["-m", "--config-dir", "conf", "a=1", "b=2,3"])
    assert parsed.multirun and parsed.config_dir == "conf" and parsed.overrides == ["a=1", "b=2,3"]
    for flag in ("help", "hydra_help", "cfg", "info", "shell_completion", "run", "resolve"):
        assert hasattr(parsed, flag), flag
    assert "--config-dir" in internals.Hydra.format_args_help(internals.get_args_parser())


def test_the_search_path_and_the_main_hydra_are_made_as_rnnlab_makes_them():
    path = internals.create_automatic_config_search_path(None, "rnnlab.conf.rnnlab", None)
    assert ("main", "pkg://rnnlab.conf") in [(e.provider, e.path) for e in path.get_path()] and callable(path.prepend)
    assert callable(internals.Hydra.create_main_hydra2)


def test_a_jobs_dir_name_and_the_grid_are_hydras():
    parsed = OverridesParser.create().parse_overrides(["model=rnn,lstm", "seed=0,1", "x=1"])
    jobs = [job for batch in internals.BasicSweeper.split_arguments(parsed, None) for job in batch]
    assert jobs[:2] == [["model=rnn", "seed=0", "x=1"], ["model=rnn", "seed=1", "x=1"]] and len(jobs) == 4
    named = OverridesParser.create().parse_overrides(["model=rnn", "x=1", "seed=3"])
    assert internals.get_overrides_dirname(named, ["seed"], ",", "=") == "model=rnn,x=1"
    for method in ("sweep", "validate_batch_is_legal", "_parse_config", "setup"):
        assert callable(getattr(internals.BasicSweeper, method)), method


def test_overrides_apply_to_a_composed_config_with_hydras_own_function():
    cfg = OmegaConf.create({"model": {"hidden_size": 3}})
    overrides = OverridesParser.create().parse_overrides(["model.hidden_size=5"])
    internals.ConfigLoaderImpl._apply_overrides_to_config(overrides, cfg)
    assert cfg.model.hidden_size == 5
    assert list(inspect.signature(internals.ConfigLoaderImpl._apply_overrides_to_config).parameters)[:2] == [
        "overrides",
        "cfg",
    ]


def test_a_run_composes_its_config_twice_not_three_times(tmp_path, command_here, monkeypatch):
    """The up-front check composes the config and Hydra's run composes it; Hydra's get_mode, which composed it a
    third time to read hydra.mode, is answered from the check's config (config/hydra_internals.mode_known)."""
    from hydra._internal.hydra import Hydra

    composed = []
    real = Hydra.compose_config

    def counting(self, *args, **kwargs):
        composed.append(kwargs.get("run_mode"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Hydra, "compose_config", counting)
    result = command_here("rnnlab", "task=index_recall", "debug=tiny", "logger=none", "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(composed) == 2, composed
    assert Hydra.get_mode is not None and "mode_known" not in repr(Hydra.get_mode)  # put back after the run
    sweep = command_here(
        "rnnlab",
        "-m",
        "task=index_recall",
        "debug=tiny",
        "logger=none",
        "seed=0,1",
        "hydra.sweep.dir=sweep",
        cwd=tmp_path,
    )
    assert sweep.returncode == 0 and len(list((tmp_path / "sweep").glob("*/report.json"))) == 2, sweep.stderr
