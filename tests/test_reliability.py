"""Checkpoints and resume, interruption, divergence, atomic writes: no finished result is ever lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
import torch
from conftest import ENV, TINY, entry_point

from rnnlab.errors import ConfigError
from rnnlab.files import write_json
from rnnlab.runner.run import run
from rnnlab.tasks.binary_addition import BinaryAddition
from rnnlab.training.checkpoints import load_checkpoint

RUN = (
    "task=binary_addition",
    "task.stop_window=0",
    "task.test_lengths=[8,30]",
    "model.num_layers=2",
    "model.dropout=0.2",
    "model.hidden_size=8",  # dropout draws from the torch RNG
    "trainer.max_steps=60",
    "trainer.eval_every=20",
    "trainer.checkpoint_every=0",
    "seed=5",
)


def interrupt_at_training_step(monkeypatch, step: int) -> None:
    """Send this process SIGINT while training step `step` runs (the first make_batch call is the validation set)."""
    calls = {"n": 0}
    real = BinaryAddition.make_batch

    def make_batch(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == step + 1:
            os.kill(os.getpid(), signal.SIGINT)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(BinaryAddition, "make_batch", make_batch)


def test_interrupted_and_resumed_run_ends_exactly_like_an_uninterrupted_one(tiny_config, tmp_path, monkeypatch):
    whole = run(tiny_config(*RUN), tmp_path / "whole")

    with monkeypatch.context() as patch:
        interrupt_at_training_step(patch, 25)
        stopped = run(tiny_config(*RUN), tmp_path / "split")
    assert stopped["status"] == "interrupted" and stopped["signal"] == signal.SIGINT
    assert stopped["train"]["steps"] == 25 and stopped["test"] == {}
    assert load_checkpoint(tmp_path / "split")["trainer"]["step"] == 25

    resumed = run(tiny_config(*RUN, "resume=true"), tmp_path / "split")
    assert resumed["status"] == "ok"
    assert resumed["train"]["steps"] == whole["train"]["steps"] == 60
    assert resumed["test"] == whole["test"]
    assert resumed["val"] == whole["val"]
    assert resumed["bit_accuracy_by_length"] == whole["bit_accuracy_by_length"]
    saved = [load_checkpoint(tmp_path / d)["model"] for d in ("whole", "split")]
    for name in saved[0]:
        assert torch.equal(saved[0][name], saved[1][name]), name


def test_resuming_a_finished_run_changes_nothing(tiny_config, tmp_path):
    first = run(tiny_config(*RUN), tmp_path)
    again = run(tiny_config(*RUN, "resume=true"), tmp_path)
    assert again["train"]["steps"] == first["train"]["steps"] and again["test"] == first["test"]


def test_resume_refuses_a_different_model(tiny_config, tmp_path):
    run(tiny_config(*RUN), tmp_path)
    with pytest.raises(ConfigError, match="resume=true: model differs from the checkpoint's"):
        run(tiny_config(*RUN, "model.hidden_size=9", "resume=true"), tmp_path)


def test_best_checkpoint_holds_the_best_validation_model(tiny_config, tmp_path):
    report = run(tiny_config(*RUN), tmp_path)
    best = load_checkpoint(tmp_path / "best.pt")
    assert best["val"]["bit_acc"] >= report["val"]["bit_acc"]
    assert best["step"] in (20, 40, 60)
    assert set(best["model"]) == set(load_checkpoint(tmp_path / "last.pt")["model"])


def test_divergence_keeps_the_last_good_checkpoint(tiny_config, tmp_path):
    cfg = tiny_config(
        "task=binary_addition",
        "model=rnn",
        "model.nonlinearity=relu",
        "optimizer=sgd",
        "optimizer.lr=1e30",
        "trainer.clip_grad_norm=0",
        "trainer.max_steps=50",
        "trainer.checkpoint_every=1",
    )
    report = run(cfg, tmp_path)
    assert report["status"].startswith("diverged: loss")
    assert json.loads((tmp_path / "report.json").read_text())["status"] == report["status"]
    last = load_checkpoint(tmp_path / "last.pt")
    assert last["trainer"]["step"] == report["train"]["steps"]
    assert all(torch.isfinite(p).all() for p in last["model"].values())


def test_a_failed_write_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "report.json"
    write_json(path, {"status": "ok"})

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        write_json(path, {"status": "half"})
    assert json.loads(path.read_text()) == {"status": "ok"}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temporary file left behind


def test_a_torn_checkpoint_is_never_read_as_valid(tiny_config, tmp_path):
    run(tiny_config(*RUN), tmp_path)
    data = (tmp_path / "last.pt").read_bytes()
    for cut in (0, 100, len(data) // 2, len(data) - 10):
        (tmp_path / "torn.pt").write_bytes(data[:cut])
        with pytest.raises(ConfigError, match="not a readable rnnlab checkpoint"):
            load_checkpoint(tmp_path / "torn.pt")


def test_a_save_killed_mid_write_leaves_no_temporary_file_behind_for_long(tmp_path):
    """kill -9 during a save leaves .last.pt.<random>.tmp; the next run in that dir (resume) clears it away."""
    from rnnlab.training.checkpoints import Checkpoints

    stale = tmp_path / ".last.pt.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    other = tmp_path / ".report.json.x.tmp"  # not a checkpoint's: left to its owner
    other.write_text("{")
    Checkpoints(tmp_path)
    assert not stale.exists() and other.exists()


def test_a_signal_while_testing_writes_an_interrupted_report(tiny_config, tmp_path, monkeypatch):
    """SIGINT between two test sets: no traceback, report.json says interrupted, resume=true then only tests."""
    from rnnlab.training import testing as scoring

    real = scoring.evaluate
    calls = []

    def evaluate_then_ctrl_c(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # as if the user pressed Ctrl-C during the first test set
        return real(*args, **kwargs)

    monkeypatch.setattr(scoring, "evaluate", evaluate_then_ctrl_c)
    cfg = tiny_config("task=index_recall")
    report = run(cfg, tmp_path)
    assert report["status"] == "interrupted" and report["signal"] == signal.SIGINT and report["test"] == {}
    assert json.loads((tmp_path / "report.json").read_text())["status"] == "interrupted"
    assert len(calls) == 1  # the other test sets were not scored

    monkeypatch.setattr(scoring, "evaluate", real)
    resumed = run(tiny_config("task=index_recall", "resume=true"), tmp_path)
    assert resumed["status"] == "ok" and resumed["train"]["steps"] == report["train"]["steps"]
    assert set(resumed["accuracy_by_length"]) == {"3", "5", "10", "20", "50", "100"}


def test_the_console_script_ends_a_finished_run_at_once_with_everything_written(tmp_path):
    """The command leaves without Python's module teardown (0.3-0.9 s with torch loaded, during which Ctrl-C
    killed the finished process by the signal): a SIGINT sent 0.3 s after its exit handlers ran finds no process,
    and the exit handlers' work (TensorBoard's last events, the log) is all on disk."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    kill_later = (
        "import atexit, os, subprocess; atexit.register(lambda: subprocess.Popen(['sh', '-c', "
        "f'sleep 0.3; kill -INT {os.getpid()} 2>/dev/null'], start_new_session=True)); "
    )
    args = ["task=index_recall", "debug=tiny", "trainer.max_steps=20", "hydra.run.dir=run"]
    process = subprocess.run(
        [*entry_point("rnnlab", kill_later), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**ENV, "HOME": str(tmp_path)},
    )
    assert process.returncode == 0, process.stderr
    time.sleep(0.5)  # the kill has been sent by now, and found nothing
    events = EventAccumulator(str(tmp_path / "run")).Reload()
    assert events.Scalars("train/loss")[-1].step == 20 and "test/acc" in events.Tags()["scalars"]
    assert "report: " in (tmp_path / "run" / "rnnlab.log").read_text().splitlines()[-1]


@pytest.mark.parametrize(
    "delay", [0.5, pytest.param(1.5, marks=pytest.mark.slow), pytest.param(3.0, marks=pytest.mark.slow)]
)
def test_ctrl_c_while_starting_exits_130_in_one_line_and_the_dir_takes_a_new_run(tmp_path, command_here, delay):
    """SIGINT while torch, NumPy and Hydra import (or the first checks run): no traceback, no half-imported module
    used later; whatever the start left in the run dir does not stop a new run there."""
    args = ["task=index_recall", *TINY, "hydra.run.dir=run"]
    process = subprocess.Popen(
        [*entry_point("rnnlab"), *args],
        cwd=tmp_path,
        env={**ENV, "HOME": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    finished = tmp_path / "run" / "report.json"
    if process.returncode == 0 or (finished.exists() and json.loads(finished.read_text())["status"] == "ok"):
        pytest.skip(f"the run had finished within {delay} s")  # (a signal after report.json: exit 130, run kept)
    assert process.returncode == 130, stderr
    last = stderr.strip().splitlines()[-1]
    assert "Traceback" not in stderr and last.startswith("rnnlab: "), stderr
    # A start as fast as today's reaches training within the later delays: the signal then interrupts the run,
    # which says so and continues with its hint (resume=true). One after training (testing, figures) says a last.pt
    # is continued with resume=true; a signal while starting leaves a dir a plain new run takes.
    saved = (tmp_path / "run" / "last.pt").exists()
    if saved and not last.startswith("rnnlab: interrupted at step"):
        assert "where the run dir holds a last.pt, resume=true continues from it" in last, stderr
    resumed = ["resume=true"] if saved else []
    again = command_here("rnnlab", *args, *resumed, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads((tmp_path / "run" / "report.json").read_text())["status"] == "ok"
