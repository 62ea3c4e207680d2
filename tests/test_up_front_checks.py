"""The up-front checks: no job writes over another, a resume never reports what it did not do, and every entry point
checks everything before it writes (one line, exit 2, nothing written or changed)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from conftest import TINY

RUN = ["task=index_recall", *TINY]


def _tree(path: Path) -> dict[str, int]:
    """Every file below `path` with its modification time: what a refused command must leave as it was."""
    return {str(p.relative_to(path)): p.stat().st_mtime_ns for p in sorted(path.rglob("*")) if p.is_file()}


def _one_line(result, *fragments: str) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize(
    "args,fragments",
    [
        (["-m", "model.hidden_size=2,3", "hydra.sweep.subdir=same"], ["jobs 0 and 1 of this sweep would both write"]),
        (["-m", "model.hidden_size=2,3", "hydra.sweep.subdir=${task.position}"], ["would both write"]),
        (["-m", "model.hidden_size=2,2"], ["jobs 0 and 1 of this sweep are the same run", "model.hidden_size=2"]),
        (["-m", "seed=1,1", "model=rnn,gru"], ["are the same run"]),
        (["scheduler=constant", "scheduler.factor=2"], ["scheduler.factor=2.0 is not allowed: a fraction"]),
        (["optimizer.lr=inf"], ["optimizer.lr=inf is not allowed: a finite learning rate"]),
        (["optimizer.lr=nan"], ["optimizer.lr=nan is not allowed"]),
        (["optimizer.weight_decay=inf"], ["optimizer.weight_decay=inf is not allowed"]),
        (["-m", "hydra/launcher=ray_aws"], ["hydra/launcher=ray_aws is not one rnnlab runs its jobs with"]),
        (["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=0"], ["hydra.launcher.n_jobs=0 is not allowed"]),
        (["-m", "hydra/launcher=ray", "hydra.launcher.ray.remote.num_cpus=-1"], ["num_cpus=-1 is not allowed"]),
        (["-m", "hydra/launcher=submitit_local", "hydra.launcher.nodes=0"], ["hydra.launcher.nodes=0 is not allowed"]),
        (
            ["-m", "hparams_search=recall_optuna", "hydra.sweeper.n_trials=0"],
            ["hydra.sweeper.n_trials=0 is not allowed"],
        ),
        (["-m", "hparams_search=recall_optuna", "hydra.sweep.subdir=same"], ["gives every job of the search one dir"]),
        (["hydra.run.dir=loop/run"], ["cannot be used", "Too many levels of symbolic links"]),
        (["-m", "hydra.sweep.dir=loop/sweep"], ["cannot be used", "Too many levels of symbolic links"]),
        ([f"hydra.run.dir={'x' * 300}/run"], ["is 300 bytes, more than the 255 a file name may have"]),
        (["hydra.run.dir=mine"], ["holds files that are not rnnlab's (notes.txt)"]),
        (["-m", "hydra.sweep.dir=mine"], ["holds files that are not rnnlab's (notes.txt)"]),
        (["hydra.run.dir=."], ["holds files that are not rnnlab's"]),
    ],
)
def test_a_mistake_found_up_front_writes_and_changes_nothing(tmp_path, command_here, args, fragments):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")  # a symlink loop
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("the user's own")
    multirun = "-m" in args
    where = (
        []
        if any(a.startswith(("hydra.run.dir", "hydra.sweep.dir")) for a in args)
        else [f"hydra.sweep.dir={tmp_path}/sw" if multirun else f"hydra.run.dir={tmp_path}/run"]
    )
    before = _tree(tmp_path)
    _one_line(command_here("rnnlab", *args, *RUN, *where, cwd=tmp_path), *fragments)
    assert _tree(tmp_path) == before and not (tmp_path / "sw").exists() and not (tmp_path / "run").exists()


def test_resume_trains_on_to_more_steps_and_refuses_fewer_and_a_schedule_that_would_change(tmp_path, command_here):
    args = [*RUN, "scheduler=constant", "hydra.run.dir=run"]
    assert command_here("rnnlab", *args, cwd=tmp_path).returncode == 0
    more = command_here("rnnlab", *args, "trainer.max_steps=35", "resume=true", cwd=tmp_path)
    assert more.returncode == 0, more.stderr
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["train"]["steps"] == report["setup"]["trainer"]["max_steps"] == 35  # trained on, and says so
    saved = _tree(tmp_path / "run")
    _one_line(
        command_here("rnnlab", *args, "trainer.max_steps=10", "resume=true", cwd=tmp_path),
        "has trained 35 steps already, more than trainer.max_steps=10",
    )
    # (a setting left out is the run's own, read back from its dir: another scheduler must be named)
    _one_line(
        command_here(
            "rnnlab", *RUN, "hydra.run.dir=run", "scheduler=cosine", "trainer.max_steps=35", "resume=true", cwd=tmp_path
        ),
        "scheduler differs",
    )
    _one_line(
        command_here("rnnlab", *args, "trainer.max_steps=40", "trainer.batch_size=8", "resume=true", cwd=tmp_path),
        "the run was trained with trainer.batch_size=32",
    )
    assert _tree(tmp_path / "run") == saved


def test_resuming_a_cosine_run_with_more_steps_says_why_it_cannot(tmp_path, command_here):
    assert command_here("rnnlab", *RUN, "hydra.run.dir=run", cwd=tmp_path).returncode == 0
    _one_line(
        command_here("rnnlab", *RUN, "hydra.run.dir=run", "trainer.max_steps=60", "resume=true", cwd=tmp_path),
        "its schedule spans trainer.max_steps",
        "scheduler=constant",
    )


def test_a_resumed_subset_of_a_sweep_makes_no_new_dir(tmp_path, command_here):
    sweep = ["-m", *RUN, "hydra.sweep.dir=sw"]
    assert command_here("rnnlab", *sweep, "model.hidden_size=2,5", cwd=tmp_path).returncode == 0
    jobs = {k: v for k, v in _tree(tmp_path / "sw").items() if "/" in k}
    again = command_here("rnnlab", *sweep, "model.hidden_size=2", "sweep.resume=true", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    # no stray dir for the job, the finished jobs untouched (the sweep's own multirun.yaml and lock are rewritten)
    assert {k: v for k, v in _tree(tmp_path / "sw").items() if "/" in k} == jobs


def test_a_corrupt_overrides_file_under_sweep_resume_is_named(tmp_path, command_here):
    sweep = ["-m", *RUN, "hydra.sweep.dir=sw", "model.hidden_size=2,5"]
    assert command_here("rnnlab", *sweep, cwd=tmp_path).returncode == 0
    (tmp_path / "sw" / "0_model.hidden_size=2" / ".hydra" / "overrides.yaml").write_text("[unclosed")
    _one_line(
        command_here("rnnlab", *sweep, "sweep.resume=true", cwd=tmp_path),
        "0_model.hidden_size=2/.hydra/overrides.yaml is missing or unreadable",
    )


@pytest.mark.parametrize(
    "args,fragments",
    [
        (["task=index_recall"], ["task=: rnnlab-eval re-tests the saved run with its own task"]),
        (["logger=none", "out=E"], ["logger=: rnnlab-eval re-tests the saved run with its own logger"]),
        (["trainer.batch_size=0"], ["trainer.batch_size: rnnlab-eval re-tests, it does not train"]),
        (["optimizer.lr=1"], ["optimizer.lr: rnnlab-eval re-tests, it does not train"]),
        (["logger.samples=-1"], ["logger.samples=-1 is not allowed: an integer >= 0"]),
        (["threads=0"], ["threads=0 is not allowed"]),
        (["task.val_size=0"], ["task.val_size=0 is not allowed"]),
        (["out=/proc/rnnlab-eval"], ["out=/proc/rnnlab-eval cannot be created"]),
        (["out=mine"], ["out=mine holds files that are not an evaluation's"]),
    ],
)
def test_rnnlab_eval_checks_every_key_and_leaves_nothing_behind(tmp_path, command_here, args, fragments):
    assert command_here("rnnlab", *RUN, "logger=tensorboard", "hydra.run.dir=run", cwd=tmp_path).returncode == 0
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("the user's own")
    before = _tree(tmp_path)
    _one_line(command_here("rnnlab-eval", "checkpoint=run", *args, cwd=tmp_path), *fragments)
    assert _tree(tmp_path) == before and not (tmp_path / "E").exists()


@pytest.mark.parametrize(
    "out,fragment", [("afile", "out=afile is a file"), ("/proc/rnnlab-predict", "cannot be created")]
)
def test_rnnlab_predict_checks_out_before_predicting(tmp_path, command_here, out, fragment):
    (tmp_path / "afile").write_text("not a dir")
    (tmp_path / "digit.png").write_bytes(b"")
    _one_line(
        command_here("rnnlab-predict", "checkpoint=nowhere", "inputs=digit.png", f"out={out}", cwd=tmp_path), fragment
    )
    assert not (tmp_path / "predictions.csv").exists()


def test_rnnlab_report_pools_what_is_finite_and_shows_a_nan(tmp_path, command_here):
    sweep = ["-m", *RUN, "hydra.sweep.dir=sw", "seed=0,1"]
    assert command_here("rnnlab", *sweep, cwd=tmp_path).returncode == 0
    nan_run = tmp_path / "sw" / "1_seed=1" / "report.json"
    report = json.loads(nan_run.read_text())
    report["test"] = {k: math.nan for k in report["test"]}
    nan_run.write_text(json.dumps(report))  # json writes NaN, as Python's json does for a float nan
    result = command_here("rnnlab-report", "sw", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "(n=1; 1 more: nan)" in result.stdout
    assert "2 runs (0 failed)" in result.stdout
    csv = (tmp_path / "sw" / "summary.csv").read_text()
    first_acc = float(json.loads((tmp_path / "sw" / "0_seed=0" / "report.json").read_text())["test"]["acc"])
    assert str(first_acc)[:6] in csv  # the mean over the finite value alone


def test_one_run_is_one_run_and_report_input_attention_is_sized_as_one_head(tmp_path, command_here):
    assert command_here("rnnlab", *RUN, "hydra.run.dir=run", cwd=tmp_path).returncode == 0
    assert "1 run (0 failed)" in command_here("rnnlab-report", "run", cwd=tmp_path).stdout
    heads = command_here(
        "rnnlab",
        "task=temporal_order",
        *TINY,
        "model.attention=report_input",
        "model.attention_heads=100000000",
        "hydra.run.dir=many",
        cwd=tmp_path,
    )
    assert heads.returncode == 0, heads.stderr  # report_input has one head, whatever attention_heads says


def test_a_resume_in_another_precision_says_so(tmp_path, command_here):
    import torch

    args = [*RUN, "scheduler=constant", "hydra.run.dir=run"]
    assert command_here("rnnlab", *args, cwd=tmp_path).returncode == 0
    last = tmp_path / "run" / "last.pt"
    payload = torch.load(last, weights_only=True)
    payload["precision"] = "bf16"  # as if trained where trainer.precision=auto chose bf16
    torch.save(payload, last)
    assert command_here("rnnlab", *args, "trainer.max_steps=25", "resume=true", cwd=tmp_path).returncode == 0
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["precision"] == "fp32" and report["precision_before_resume"] == "bf16"
    assert "(before the resume: bf16)" in (tmp_path / "run" / "report.md").read_text()
    assert os.path.getsize(last) > 0
