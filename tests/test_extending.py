"""A user's own model and task, from their own module and config dir, through every entry point: the examples in
examples/ as a user runs them (copied out of the repo, the command started in their dir), and the one-line errors
for a module or class that does not fit."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest
from conftest import TINY

from rnnlab.reporting.describe import hparams

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _report(run_dir: Path) -> dict:
    return json.loads((run_dir / "report.json").read_text())


def test_a_users_model_runs_evaluates_resumes_and_sweeps(example, command_here):
    here = example("indrnn")
    run = command_here(
        "rnnlab",
        "--config-dir",
        "conf",
        "model=indrnn",
        "model.hidden_size=12",
        "task=index_recall",
        *TINY,
        "hydra.run.dir=run",
        cwd=here,
    )
    assert run.returncode == 0, run.stderr
    report = _report(here / "run")
    assert report["status"] == "ok" and report["model"] == "indrnn"
    assert report["setup"]["model"] == {
        "name": "indrnn",
        "hidden_size": 12,
        "num_layers": 2,
        "max_recurrent": 1.0,
        "params": report["params"],
    }
    assert report["run"] == "index_recall · 2×indrnn h=12 · cross_entropy"
    columns = hparams(report["setup"])  # TensorBoard's HPARAMS row and rnnlab-report's columns
    assert columns["model.cell"] == "indrnn" and columns["model.hidden_size"] == 12
    too_big = command_here(
        "rnnlab",
        "--config-dir",
        "conf",
        "model=indrnn",
        "model.hidden_size=10000000",
        "task=index_recall",
        "hydra.run.dir=big",
        cwd=here,
    )
    assert too_big.returncode == 2 and "of memory for the model's weights" in too_big.stderr, too_big.stderr
    assert not (here / "big").exists()

    evaluated = command_here("rnnlab-eval", "checkpoint=run", "task.test_lengths=[7]", "out=eval", cwd=here)
    assert evaluated.returncode == 0, evaluated.stderr
    assert list(_report(here / "eval")["test_by_length"]) == ["7"]

    resumed = command_here(
        "rnnlab",
        "--config-dir",
        "conf",
        "model=indrnn",
        "model.hidden_size=12",
        "task=index_recall",
        *TINY,
        "hydra.run.dir=run",
        "resume=true",
        cwd=here,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert _report(here / "run")["status"] == "ok"

    sweep = command_here(
        "rnnlab",
        "-m",
        "--config-dir",
        "conf",
        "model=indrnn,gru",
        "task=index_recall",
        *TINY,
        "hydra.sweep.dir=sweep",
        cwd=here,
    )
    assert sweep.returncode == 0, sweep.stderr
    assert sorted(p.name for p in (here / "sweep").iterdir() if p.is_dir()) == ["0_model=indrnn", "1_model=gru"]
    finished = {p: p.stat().st_mtime_ns for p in (here / "sweep").glob("*/report.json")}
    again = command_here(
        "rnnlab",
        "-m",
        "--config-dir",
        "conf",
        "model=indrnn,gru",
        "task=index_recall",
        *TINY,
        "hydra.sweep.dir=sweep",
        "sweep.resume=true",
        cwd=here,
    )
    assert again.returncode == 0, again.stderr
    assert {p: p.stat().st_mtime_ns for p in (here / "sweep").glob("*/report.json")} == finished  # skipped, untouched
    assert sorted(p.name for p in (here / "sweep").iterdir() if p.is_dir()) == ["0_model=indrnn", "1_model=gru"]
    table = command_here("rnnlab-report", "sweep", cwd=here)
    assert table.returncode == 0, table.stderr
    summary = (here / "sweep" / "summary.md").read_text()
    assert "| indrnn |" in summary and "| gru |" in summary


def test_a_users_task_runs_with_the_bases_test_sets_by_length_and_sweeps(example, command_here):
    here = example("parity")
    run = command_here(
        "rnnlab",
        "--config-dir",
        "conf",
        "task=parity",
        "model=gru",
        *TINY,
        "trainer.max_steps=300",
        "hydra.run.dir=run",
        cwd=here,
    )
    assert run.returncode == 0, run.stderr
    report = _report(here / "run")
    assert report["task"] == "parity" and report["metric"] == "step_acc" and report["chance"] == 0.5
    assert list(report["test_by_length"]) == ["20", "50", "100"]
    assert report["test_by_length"]["20"]["step_acc"] > 0.6  # 300 steps of a GRU: well above guessing
    assert (here / "run" / "step_accuracy.csv").exists() and (here / "run" / "step_accuracy.png").exists()
    assert report["setup"]["task"]["train_lengths"] == [1, 20]

    sweep = command_here(
        "rnnlab",
        "-m",
        "--config-dir",
        "conf",
        "task=parity",
        "task.train_lengths=[1,5],[1,8]",
        *TINY,
        "hydra.sweep.dir=sweep",
        cwd=here,
    )
    assert sweep.returncode == 0, sweep.stderr
    assert command_here("rnnlab-report", "sweep", cwd=here).returncode == 0


BROKEN = """
import torch
from torch import nn
from rnnlab import Task


class WrongShape(nn.Module):
    def __init__(self, input_size, output_size, per_step, width: int = 4):
        super().__init__()
        self.layer = nn.Linear(input_size, output_size)

    def forward(self, x, lengths):
        return self.layer(x)  # one output per step, for a task that reads one per sequence


class Raises(nn.Module):
    def __init__(self, input_size, output_size, per_step, width: int = 4):
        super().__init__()
        if width < 1:
            raise ValueError("width must be >= 1")


class OneArgument(nn.Module):
    def __init__(self, input_size, output_size, per_step):
        super().__init__()

    def forward(self, x):
        return x


class NotATask:
    pass


class NoSizes(Task):
    def make_batch(self, n, generator, device, length=None):
        pass

    def describe(self, batch, predictions, i):
        return ""

    def steps(self, length=None):
        return 1


not_a_class = 3
"""


@pytest.mark.parametrize(
    "group,target,args,message",
    [
        (
            "model",
            "{m}.WrongShape",
            [],
            "model {m}.WrongShape ({dir}/{m}.py): forward returned (2, 5, 10) for x (2, 5, 10) in eval mode; "
            "index_recall needs one output per sequence: (2, 10)",
        ),
        ("model", "{m}.WrongShape", ["model.width=abc"], "model.width=abc is not allowed: expected an integer"),
        ("model", "{m}.WrongShape", ["model.widht=3"], "model.widht is not a key of model: choose one of width"),
        (
            "model",
            "{m}.Raises",
            ["model.width=0"],
            "{m}.Raises(...) in {dir}/{m}.py failed: ValueError: width must be >= 1",
        ),
        ("model", "{m}.OneArgument", [], "model {m}.OneArgument ({dir}/{m}.py): forward must take (x, lengths)"),
        ("model", "{m}.not_a_class", [], "model._target_={m}.not_a_class: not_a_class in {dir}/{m}.py is not a class"),
        ("model", "{m}.Missing", [], "model._target_={m}.Missing: {dir}/{m}.py has no Missing"),
        (
            "model",
            "elsewhere.Model",
            [],
            "model._target_=elsewhere.Model: no module elsewhere in {dir} or on PYTHONPATH",
        ),
        (
            "model",
            "{m}_syntax.Model",
            [],
            "model._target_={m}_syntax.Model: {dir}/{m}_syntax.py:1: '(' was never closed",
        ),
        ("task", "{m}.NotATask", [], "task {m}.NotATask ({dir}/{m}.py) does not subclass rnnlab.Task"),
        ("task", "{m}.NoSizes", [], "task {m}.NoSizes ({dir}/{m}.py) must set name (a str), got None"),
    ],
)
def test_a_module_or_class_that_does_not_fit_is_one_line_naming_its_file(
    tmp_path, command_here, request, group, target, args, message
):
    module = f"user_{zlib.crc32(request.node.name.encode())}"  # one module per case: each is imported anew
    (tmp_path / f"{module}.py").write_text(BROKEN)
    (tmp_path / f"{module}_syntax.py").write_text("print(\n")
    (tmp_path / "conf" / group).mkdir(parents=True)
    keys = "width: 4\n" if target.endswith("WrongShape") or target.endswith("Raises") else ""
    (tmp_path / "conf" / group / "mine.yaml").write_text(f"_target_: {target.format(m=module)}\n{keys}")
    chosen = ["model=mine", "task=index_recall"] if group == "model" else ["task=mine"]
    result = command_here("rnnlab", "--config-dir", "conf", *chosen, *args, "hydra.run.dir=run", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("rnnlab: error: " + message.format(m=module, dir=tmp_path)), lines[0]
    assert not (tmp_path / "run").exists()


def test_the_option_list_of_a_mistake_and_help_include_the_users_models(example, command_here):
    here = example("indrnn")
    mistake = command_here("rnnlab", "--config-dir", "conf", "model=mamba", cwd=here)
    assert mistake.returncode == 2
    assert (
        "model=mamba is not an option: choose one of gru, indrnn, lru, lstm, mingru, minlstm, rnn, s6, scratch_rnn, "
        "transformer" in mistake.stderr
    )
    shown = command_here("rnnlab", "--config-dir", "conf", "--help", cwd=here)
    assert "model: gru, indrnn, lru, lstm, mingru, minlstm, rnn, s6, scratch_rnn" in shown.stdout
    assert "schema" not in shown.stdout.split("== Config ==")[0] and "task_defaults:" not in shown.stdout
    assert "task_model_defaults:" not in shown.stdout
    keys = command_here("rnnlab", "--config-dir", "conf", "model=indrnn", "--help", cwd=here).stdout
    assert "model=indrnn (indrnn.IndRNN):\n  hidden_size: int = 64" in keys  # typed from the constructor
    assert "max_recurrent: float = 1.0" in keys and "recurrent weight is clipped" in keys  # the yaml's comment
    missing = command_here("rnnlab", "--config-dir", "nowhere", "model=indrnn", cwd=here)
    assert missing.returncode == 2 and "--config-dir nowhere: not a directory" in missing.stderr
