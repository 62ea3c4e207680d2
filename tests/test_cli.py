"""The rnnlab command in a subprocess, as a user runs it: reports and TensorBoard events, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

FAST = ["logger=tensorboard", "trainer.max_steps=20", "task.val_size=64", "task.test_size=32"]


def rnnlab(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rnnlab", *args], cwd=cwd, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    )


def test_a_run_writes_its_report_and_tensorboard_events(tmp_path):
    result = rnnlab("task=index_recall", "model=gru", "model.hidden_size=10", "task.position=2", *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "outputs" / "index_recall").iterdir()  # default run dir, relative to the cwd
    report = json.loads((run_dir / "report.json").read_text())
    assert report["status"] == "ok" and report["task"] == "index_recall" and report["model"] == "gru"
    assert list(report["accuracy_by_length"]) == ["3", "5", "10", "20", "50", "100"]
    assert list(run_dir.glob("events.out.tfevents.*"))
    assert (run_dir / ".hydra" / "config.yaml").exists()
    assert "test: acc=" in result.stdout + result.stderr
    assert "accuracy by length: 3: " in result.stdout + result.stderr


@pytest.mark.parametrize(
    "args,message",
    [
        (["model.hidden_size=0"], "model.hidden_size=0 is not allowed: an integer >= 1"),
        (["task=index_recall", "loss=bce"], "loss=bce needs a task with two classes"),
        (["task=temporal_order", "task.variant=7"], "task.variant=7 is not allowed: choose one of 6a, 6b"),
    ],
)
def test_a_mistake_is_one_line_exit_2_and_no_report(tmp_path, args, message):
    result = rnnlab(*args, f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"rnnlab: error: {result.stderr.split('error: ', 1)[1].strip()}"]
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "run" / "report.json").exists()


def test_an_unknown_option_lists_the_valid_ones(tmp_path):
    result = rnnlab("model=transformer", cwd=tmp_path)
    assert result.returncode != 0
    assert "Could not find 'model/transformer'" in result.stderr
    for option in ("gru", "lstm", "rnn"):
        assert option in result.stderr
    assert "Traceback" not in result.stderr
