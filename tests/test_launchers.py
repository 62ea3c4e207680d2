"""Sweeps as a user runs them, in a subprocess: the launchers (joblib here; submitit and Ray in make test-slow),
Optuna searches and their resume, a failing job, a launcher or sweeper whose extra is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ENV, command

FAST = ["debug=tiny", "logger=tensorboard"]


def rnnlab(*args: str, cwd) -> subprocess.CompletedProcess:
    return command("rnnlab", *args, cwd=cwd)


def job_dir(sweep: Path, num: int) -> Path:
    """A sweep job's dir: its number, then what varied in it (1_optimizer.lr=1e+30)."""
    (found,) = [p for p in sweep.iterdir() if p.name.split("_", 1)[0] == str(num)]
    return found


def job_number(path: Path) -> int:
    return int(path.name.split("_", 1)[0])


@pytest.mark.slow  # a whole sweep, twice: the slow tier (make test-slow)
def test_a_failing_job_does_not_stop_the_sweep_and_resume_runs_only_what_is_left(tmp_path, command_here):
    sweep = tmp_path / "sweep"
    args = [
        "-m",
        "task=binary_addition",
        "model=rnn",
        "model.nonlinearity=relu",
        "optimizer=sgd",
        "optimizer.lr=0.1,1e30,0.05",
        "trainer.clip_grad_norm=0",
        "trainer.max_steps=30",
        "logger=none",
        "task.val_size=32",
        "task.test_size=32",
        f"hydra.sweep.dir={sweep}",
    ]
    first = command_here("rnnlab", *args, cwd=tmp_path)
    assert first.returncode == 1
    statuses = {p.parent.name: json.loads(p.read_text())["status"] for p in sweep.glob("*/report.json")}
    # Each job's dir says what varied in it, and only that (the settings every job shares are left out).
    assert sorted(statuses) == ["0_optimizer.lr=0.1", "1_optimizer.lr=1e+30", "2_optimizer.lr=0.05"]
    assert statuses["0_optimizer.lr=0.1"] == "ok" and statuses["2_optimizer.lr=0.05"] == "ok"  # ran after the failure
    assert statuses["1_optimizer.lr=1e+30"].startswith("diverged: loss")
    assert f"1 of 3 jobs failed:\n  {sweep}/1_optimizer.lr=1e+30: diverged: loss" in first.stderr

    finished = {n: (job_dir(sweep, n) / "report.json").stat().st_mtime_ns for n in (0, 2)}
    again = command_here("rnnlab", *args, "sweep.resume=true", cwd=tmp_path)
    assert again.returncode == 1  # job 1 diverges again: it was re-run, the others were not
    assert "1 of 3 jobs failed" in again.stderr  # this sweep's failure alone (both sweeps ran in this process)
    assert {n: (job_dir(sweep, n) / "report.json").stat().st_mtime_ns for n in (0, 2)} == finished
    assert again.stdout.count("sweep.resume: done already in") == 2


@pytest.mark.slow  # a launcher: worker processes that each import torch (15-25 s on a 2-core machine)
def test_the_joblib_launcher_runs_jobs_in_parallel_processes(tmp_path, command_here):
    sweep = tmp_path / "sweep"
    result = command_here(
        "rnnlab",
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "task=binary_addition",
        "model.hidden_size=4,8",
        *FAST,
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    reports = [json.loads(p.read_text()) for p in sorted(sweep.glob("*/report.json"))]
    assert [r["params"] for r in reports] == sorted(r["params"] for r in reports) and len(reports) == 2
    assert all(r["status"] == "ok" for r in reports)
    assert "Joblib" in result.stdout + result.stderr


@pytest.mark.slow  # a sweeper of the optuna extra: make test-slow (and CI) run it
def test_an_optuna_search_goes_on_past_a_crashing_trial(tmp_path):
    extra = tmp_path / "conf" / "hparams_search"
    extra.mkdir(parents=True)
    (extra / "diverging.yaml").write_text(  # a grid sampler: both rates are tried, whatever the sampler's seed
        "# @package _global_\n"
        "defaults:\n  - override /task: index_recall\n  - override /hydra/sweeper: resumable_optuna\n"
        "  - override /hydra/sweeper/sampler: grid\n"
        "hydra:\n  sweeper:\n    direction: maximize\n    study_name: diverging\n    n_trials: 2\n    n_jobs: 1\n"
        "    params:\n      optimizer.lr: choice(1e30, 0.01)\n"
    )
    sweep = tmp_path / "search"
    result = rnnlab(
        "-m",
        "hparams_search=diverging",
        f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
        "trainer.max_steps=20",
        "model=rnn",
        "model.nonlinearity=relu",
        "optimizer=sgd",
        "trainer.clip_grad_norm=0",
        "task.val_size=32",
        "task.test_size=16",
        "logger=none",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    reports = [json.loads(p.read_text()) for p in sweep.glob("*/report.json")]
    assert len(reports) == 2, result.stderr[-2000:]  # every trial ran, the diverging one included
    assert sorted(r["status"].split(":")[0] for r in reports) == ["diverged", "ok"]
    assert (sweep / "optimization_results.yaml").exists()
    assert result.returncode == 1 and "jobs failed" in result.stderr


@pytest.mark.slow  # a launcher of an extra: make test-slow (and CI) run it
def test_the_submitit_local_launcher_runs_a_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    result = rnnlab(
        "-m",
        "hydra/launcher=submitit_local",
        "task=binary_addition",
        "model.hidden_size=4,8",
        *FAST,
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(json.loads(p.read_text())["status"] for p in sweep.glob("*/report.json")) == ["ok", "ok"]


def test_the_slurm_config_becomes_an_sbatch_script_with_what_the_user_set(tmp_path, monkeypatch):
    """Every key of conf/hydra/launcher/slurm.yaml must be one submitit takes (update_parameters refuses others);
    no cluster here, so a stand-in `srun` lets submitit's Slurm executor write the script it would submit."""
    import submitit
    from hydra import compose, initialize_config_module
    from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
    from omegaconf import OmegaConf

    (tmp_path / "srun").write_text("#!/bin/sh\n")
    (tmp_path / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with initialize_config_module("rnnlab.conf", version_base="1.3"):
        cfg = compose(
            "config",
            overrides=["hydra/launcher=slurm", "hydra.launcher.partition=gpu", "hydra.launcher.cpus_per_task=8"],
            return_hydra_config=True,
        )
    params = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    assert params.pop("_target_").endswith("SlurmLauncher")
    params.pop("submitit_folder")
    shared = set(OmegaConf.structured(BaseQueueConf).keys())  # the launcher's own mapping: others get slurm_
    executor = submitit.AutoExecutor(
        folder=tmp_path / "jobs", cluster="slurm", slurm_max_num_timeout=params.pop("max_num_timeout")
    )
    executor.update_parameters(**{k if k in shared else f"slurm_{k}": v for k, v in params.items()})
    script = executor._executor._make_submission_file_text("rnnlab", "uid")
    assert "#SBATCH --partition=gpu" in script and "#SBATCH --cpus-per-task=8" in script
    assert "#SBATCH --gpus-per-node=" in script  # device=auto finds CUDA in every job


SEARCH = ["hparams_search=recall_optuna", "debug=tiny", "logger=none"]


def _study(sweep: Path):
    import optuna

    return optuna.load_study(study_name="recall_optuna", storage=f"sqlite:///{sweep / 'optuna.db'}")


@pytest.mark.slow  # a sweeper of the optuna extra: make test-slow (and CI) run it
def test_a_resumed_optuna_search_runs_only_the_missing_trials(tmp_path):
    import optuna

    sweep = tmp_path / "search"
    first = rnnlab("-m", *SEARCH, "hydra.sweeper.n_trials=2", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    done = {n: (job_dir(sweep, n) / "report.json").stat().st_mtime_ns for n in (0, 1)}
    # A search stopped while its third trial ran: Optuna has it as RUNNING, with its parameters drawn.
    study = _study(sweep)
    stopped = study.ask()
    stopped.suggest_float("optimizer.lr", 0.001, 0.05, log=True)
    stopped.suggest_categorical("model.hidden_size", [4, 8, 16, 32])

    again = rnnlab(
        "-m", *SEARCH, "hydra.sweeper.n_trials=4", f"hydra.sweep.dir={sweep}", "sweep.resume=true", cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert (
        "2 trials of study recall_optuna finished, 1 stopped and asked again, 2 to run" in again.stdout + again.stderr
    )
    assert {n: (job_dir(sweep, n) / "report.json").stat().st_mtime_ns for n in (0, 1)} == done  # not run again
    assert sorted(job_number(p.parent) for p in sweep.glob("*/report.json")) == [0, 1, 3, 4]
    trials = _study(sweep).trials
    states = [t.state for t in trials]
    assert states.count(optuna.trial.TrialState.COMPLETE) == 4 and states.count(optuna.trial.TrialState.FAIL) == 1
    rerun = yaml_list(job_dir(sweep, 3) / ".hydra" / "overrides.yaml")
    assert f"model.hidden_size={stopped.params['model.hidden_size']}" in rerun  # the stopped trial, asked again
    assert f"optimizer.lr={stopped.params['optimizer.lr']}" in rerun
    # The sampler was reseeded: the new trial does not repeat the first trial's draw.
    assert (
        yaml_list(job_dir(sweep, 4) / ".hydra" / "overrides.yaml")[:2]
        != yaml_list(job_dir(sweep, 0) / ".hydra" / "overrides.yaml")[:2]
    )


def yaml_list(path: Path) -> list[str]:
    import yaml

    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize(
    "blocked, choice, extra",
    [
        ("hydra_plugins.hydra_ray_launcher", "hydra/launcher=ray", "ray"),
        ("hydra_plugins.hydra_submitit_launcher", "hydra/launcher=submitit_local", "slurm"),
        ("hydra_plugins.hydra_optuna_sweeper", "hparams_search=recall_optuna", "optuna"),
    ],
)
def test_a_launcher_or_sweeper_without_its_extra_is_one_line(tmp_path, blocked, choice, extra):
    # None in sys.modules: as if the extra were not installed
    result = command("rnnlab", "-m", choice, cwd=tmp_path, before=f"sys.modules[{blocked!r}] = None; ")
    assert result.returncode == 2
    assert f"needs the {extra} extra: pip install 'rnnlab[{extra}]'" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "outputs").exists()


@pytest.mark.slow  # a launcher of an extra: make test-slow (and CI) run it
def test_the_ray_launcher_runs_a_sweep_on_a_local_ray(tmp_path):
    sweep = tmp_path / "sweep"
    result = rnnlab(
        "-m",
        "hydra/launcher=ray",
        "hydra.launcher.ray.init.num_cpus=2",
        "task=binary_addition",
        "model.hidden_size=4,8",
        *FAST,
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    reports = [json.loads(p.read_text()) for p in sorted(sweep.glob("*/report.json"))]
    assert [r["status"] for r in reports] == ["ok", "ok"]
    assert "Ray Launcher is launching 2 jobs" in result.stdout + result.stderr
    assert "(_run_job pid=" in result.stdout + result.stderr  # the jobs ran in Ray's worker processes


@pytest.mark.slow  # a launcher of an extra: make test-slow (and CI) run it
def test_the_ray_launcher_joins_a_running_cluster(tmp_path):
    import socket

    with socket.socket() as s:  # a free port for this cluster's head
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ray = Path(sys.executable).parent / "ray"
    env = {**ENV, "HOME": str(tmp_path)}
    started = subprocess.run(
        [str(ray), "start", "--head", f"--port={port}", "--num-cpus=2", "--include-dashboard=false"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert started.returncode == 0, started.stderr[-2000:]
    try:
        sweep = tmp_path / "sweep"
        result = rnnlab(
            "-m",
            "hydra/launcher=ray",
            f"hydra.launcher.ray.init.address=127.0.0.1:{port}",
            "task=binary_addition",
            "model.hidden_size=4,8",
            *FAST,
            f"hydra.sweep.dir={sweep}",
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert "Connected to Ray cluster" in result.stdout + result.stderr
        assert sorted(json.loads(p.read_text())["status"] for p in sweep.glob("*/report.json")) == ["ok", "ok"]
    finally:
        subprocess.run([str(ray), "stop", "--force"], capture_output=True, timeout=120, env=env)


@pytest.mark.slow  # a sweeper of the optuna extra: make test-slow (and CI) run it
@pytest.mark.parametrize(
    "search", sorted(p.stem for p in (Path(__file__).parents[1] / "conf" / "hparams_search").glob("*.yaml"))
)
def test_every_search_config_runs_two_trials(tmp_path, search, tiny_mnist):
    sweep = tmp_path / "search"
    data = [f"task.root={tiny_mnist}", "task.download=false"] if "mnist" in search else []
    result = rnnlab(
        "-m",
        f"hparams_search={search}",
        "hydra.sweeper.n_trials=2",
        "trainer.max_steps=10",
        "task.val_size=32",
        "task.test_size=16",
        "logger=none",
        *data,
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(json.loads(p.read_text())["status"] for p in sweep.glob("*/report.json")) == ["ok", "ok"]
    assert (sweep / "optuna.db").exists() and (sweep / "optimization_results.yaml").exists()
