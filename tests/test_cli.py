"""The rnnlab commands in a subprocess, as a user runs them: reports and TensorBoard events, one-line errors,
signals, rnnlab-eval."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ENV, command, entry_point

from rnnlab.cli.train import train

FAST = ["debug=tiny", "logger=tensorboard"]


def rnnlab(*args: str, cwd) -> subprocess.CompletedProcess:
    return command("rnnlab", *args, cwd=cwd)


def test_a_run_writes_its_report_and_tensorboard_events(tmp_path):
    result = rnnlab(
        "task=index_recall",
        "model=gru",
        "model.hidden_size=10",
        "task.position=2",
        "task.test_lengths=[4,40]",
        *FAST,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    (run_dir,) = (tmp_path / "outputs" / "index_recall").iterdir()  # default run dir, relative to the cwd
    report = json.loads((run_dir / "report.json").read_text())
    assert report["status"] == "ok" and report["task"] == "index_recall" and report["model"] == "gru"
    assert list(report["accuracy_by_length"]) == ["4", "40"]  # one per length asked for
    assert list(run_dir.glob("events.out.tfevents.*"))
    assert (run_dir / ".hydra" / "config.yaml").exists()
    assert (run_dir / "last.pt").exists() and (run_dir / "best.pt").exists()
    assert "test: acc=" in result.stdout + result.stderr
    assert "accuracy by length: 4: " in result.stdout + result.stderr


BAD_INPUTS = [
    (["model.hidden_size=0"], "model.hidden_size=0 is not allowed: an integer >= 1"),
    (["model.hidden_size=abc"], "model.hidden_size=abc is not allowed: expected an integer"),
    (["model.hidden_sise=3"], "model.hidden_sise is not a key of model: choose one of cell, hidden_size"),
    (["model=mamba"], "model=mamba is not an option: choose one of gru, lru, lstm, mingru, minlstm, rnn"),
    (["loss=hinge"], "loss=hinge is not an option: choose one of bce, cross_entropy, default, mse, nll"),
    (["model.num_layers=0"], "model.num_layers=0 is not allowed: an integer >= 1"),
    (["model.dropout=1.5"], "model.dropout=1.5 is not allowed: 0 <= dropout < 1"),
    (["model.bidirectional=maybe"], "model.bidirectional=maybe is not allowed: expected true or false"),
    (["optimizer.lr=-0.1"], "optimizer.lr=-0.1 is not allowed: a finite learning rate > 0"),
    (["trainer.batch_size=0"], "trainer.batch_size=0 is not allowed: an integer >= 1"),
    (["task.train_lengths=[9,3]"], "task.train_lengths=[9,3] is not allowed: need 1 <= min <= max"),
    (["task.train_lengths=5"], "task.train_lengths=5 is not allowed: expected a list"),
    (["task=index_recall", "task.position=7"], "task.position=7 is not allowed: 0 <= position < 3"),
    (["task=temporal_order", "task.variant=7"], "task.variant=7 is not allowed: choose one of 6a, 6b"),
    (["device=tpu"], "device=tpu is not allowed: auto, cpu, cuda or cuda:N"),
    (["threads=0"], "threads=0 is not allowed: auto or a number of threads >= 1"),
    (["study.metric=mse"], "study.metric=mse is not allowed: choose one of headline, loss"),
    (["threads=many"], "threads=many is not allowed: auto or a number of threads >= 1"),
    (["model=gru", "model.forget_bias=1"], "model.forget_bias=1 is not allowed: only the lstm cell"),
    (["model.hidden_size=[1"], "cannot read the override 'model.hidden_size=[1'"),
    (["-m", "model=rnn,mamba"], "model=mamba is not an option"),
    (["-m", "model.hidden_size=4,0"], "model.hidden_size=0 is not allowed"),
    (["-m", "model=lstm,scratch_rnn", "model.num_layers=2"], "model.num_layers is not a key of model: choose one"),
    # A mistake only in the jobs an experiment's hydra.sweeper.params make (it sweeps task.variant):
    (["-m", "experiment=temporal_order_models", "task=binary_addition"], "task.variant is not a key of task"),
    (["task=index_recall", "loss=bce"], "loss=bce needs a task with two classes"),
    (["-m", "task=binary_addition,temporal_order", "loss=bce"], "loss=bce needs a task with two classes"),
    (["task=binary_addition", "model.attention=additive"], "model.attention=additive pools a whole sequence"),
    (["task=binary_addition", "model=mingru", "model.attention=mean"], "model.attention=mean pools a whole sequence"),
    (["resume=true"], "resume=true: no last.pt in"),
    # Found only once torch is there, and still before Hydra writes anything:
    (["device=cuda:7"], "device=cuda:7: CUDA is not available"),
    (["-m", "device=cuda:7", "model=rnn,lstm"], "device=cuda:7: CUDA is not available"),
    (["task=char_sequence", "task.text=a"], "needs at least 2 characters"),
    (["task=mnist", "task.root=nowhere"], "nowhere/MNIST/raw/ and could not be downloaded"),
    # Removed keys, numbers out of range, keys no schema knows:
    (["~model"], "model cannot be removed (~model)"),
    (["~seed"], "seed cannot be removed (~seed)"),
    (["seed=99999999999999999999"], "seed=99999999999999999999 is not allowed: an integer from 0 to"),
    (["+trainer.max_step=3"], "trainer.max_step is not a key of trainer: choose one of batch_size, max_steps"),
    (["model=scratch_rnn", "task=mnist"], "In 'task_defaults/mnist': Key 'num_layers' not in 'ScratchRNNSchema'"),
    (["-m", "model.hidden_size=interval(1,4)"], "an interval is a range for a search to sample from"),
    (["-m", "--cfg", "job", "model=rnn,lstm"], "-m and --cfg cannot be combined"),
    (
        ["-m", "hydra.sweeper.params={model.hidden_size:'2,5'}"],
        "cannot be merged into the config at hydra.sweeper.params",
    ),
    # Sizes that cannot fit in memory, refused with an estimate instead of found by the allocator:
    (["model.hidden_size=10000000"], "PB of memory for the model's weights and optimizer state"),
    (["trainer.batch_size=1000000000"], "of memory for a training batch"),
    (["task.val_size=1000000000"], "of memory for the validation set"),
    (["task.test_lengths=[10000000]"], "of memory for the test set at length 10000000"),
]


@pytest.mark.parametrize("args,message", BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_a_mistake_is_one_line_exit_2_and_no_report(tmp_path, args, message, monkeypatch, capsys):
    """The rnnlab command's own function, in this process (a new interpreter per case would cost ~2 s of imports
    each; test_a_typo_is_answered_before_torch_is_imported and the signal tests start the real console script)."""
    monkeypatch.chdir(tmp_path)  # relative paths (task.root=nowhere, outputs/) land in the test's dir
    monkeypatch.setattr(
        sys, "argv", ["rnnlab", *args, f"hydra.run.dir={tmp_path}/run", f"hydra.sweep.dir={tmp_path}/sweep"]
    )
    with pytest.raises(SystemExit) as exit_code:
        train()
    out, err = capsys.readouterr()
    assert exit_code.value.code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnlab: error: "), err
    assert message in lines[0]
    assert "Traceback" not in err + out
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no run dir, no log, no .hydra/, no data dir


def test_full_error_shows_the_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "rnnlab", "model.hidden_size=0", f"hydra.run.dir={tmp_path}/run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**ENV, "HYDRA_FULL_ERROR": "1"},
        timeout=120,
    )
    assert result.returncode != 0 and "Traceback" in result.stderr


# SIGTERM takes the same path as SIGINT (one handler, its own exit code): it runs in make test-slow
@pytest.mark.parametrize(
    "signum,code", [(signal.SIGINT, 130), pytest.param(signal.SIGTERM, 143, marks=pytest.mark.slow)]
)
def test_a_signal_saves_last_pt_writes_an_interrupted_report_and_resume_finishes(tmp_path, command_here, signum, code):
    run_dir = tmp_path / "run"
    args = [
        "task=temporal_order",
        "model.hidden_size=8",
        "logger=none",
        "scheduler=constant",
        "trainer.max_steps=100000",
        "task.stop_window=0",
        "task.val_size=32",
        "task.test_size=32",
        "trainer.checkpoint_every=5",
        f"hydra.run.dir={run_dir}",
    ]
    process = subprocess.Popen(
        [*entry_point("rnnlab"), *args],
        cwd=tmp_path,
        env={**ENV, "HOME": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while not (run_dir / "last.pt").exists() and time.time() < deadline:  # the first 5 steps are done
        time.sleep(0.1)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    report = json.loads((run_dir / "report.json").read_text())
    assert report["status"] == "interrupted" and report["signal"] == signum
    assert 0 < report["train"]["steps"] < 100000
    assert (run_dir / "last.pt").exists()
    assert "resume=true" in stderr

    steps_before = report["train"]["steps"]
    finish = command_here(
        "rnnlab", *[a.replace("100000", str(steps_before + 5)) for a in args], "resume=true", cwd=tmp_path
    )
    assert finish.returncode == 0, finish.stderr
    report = json.loads((run_dir / "report.json").read_text())
    assert report["status"] == "ok" and report["train"]["steps"] == steps_before + 5
    assert report["test"]["n"] == 32


def test_rnnlab_eval_retests_with_other_lengths_and_refuses_bad_input(tmp_path, command_here):
    run_dir = tmp_path / "run"
    trained = command_here(
        "rnnlab",
        "task=binary_addition",
        "model.hidden_size=8",
        "debug=tiny",
        "logger=none",
        f"hydra.run.dir={run_dir}",
        cwd=tmp_path,
    )
    assert trained.returncode == 0, trained.stderr
    result = command_here(
        "rnnlab-eval", f"checkpoint={run_dir}", "task.test_lengths=[7,300]", f"out={tmp_path}/eval", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert list(report["bit_accuracy_by_length"]) == ["7", "300"]
    steps = json.loads((run_dir / "report.json").read_text())["train"]["steps"]
    assert report["checkpoint"] == str(run_dir / "last.pt") and report["step"] == steps  # the last.pt of the end
    assert report["run"].endswith("[evaluation of run/last.pt]")  # beside a sweep's jobs: which one it re-tested
    assert (tmp_path / "eval" / "bit_accuracy.png").exists()

    for args, message in [
        ([f"checkpoint={tmp_path}/nowhere"], "no such file"),
        ([f"checkpoint={run_dir}", "task.test_lengths=[0]"], "task.test_lengths=[0] is not allowed"),
        ([f"checkpoint={run_dir}", "task.colour=3"], "cannot apply task.colour=3"),
        ([], "checkpoint= is required"),
    ]:
        bad = command_here("rnnlab-eval", *args, cwd=tmp_path)
        assert bad.returncode == 2 and message in bad.stderr and "Traceback" not in bad.stderr, bad.stderr

    torn = tmp_path / "torn.pt"
    torn.write_bytes((run_dir / "last.pt").read_bytes()[:1000])
    bad = command_here("rnnlab-eval", f"checkpoint={torn}", cwd=tmp_path)
    assert bad.returncode == 2 and "is not a readable rnnlab checkpoint" in bad.stderr


@pytest.mark.parametrize("multirun", [False, True])
def test_an_output_dir_that_cannot_be_created_is_refused_up_front(tmp_path, command_here, multirun):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    result = command_here(
        "rnnlab", *(["-m", "model=rnn,gru"] if multirun else []), f"{key}={blocker}/run", cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"rnnlab: error: {key}={blocker}/run cannot be created: {blocker} is a file"


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    """One small finished run (in-process) for the rnnlab-eval and rnnlab-predict bad-input cases."""
    from conftest import compose_config

    from rnnlab.runner.run import run

    run_dir = tmp_path_factory.mktemp("trained") / "run"
    run(compose_config("debug=tiny", "logger=none", "task=binary_addition", "model.hidden_size=4"), run_dir)
    return run_dir


OTHER_BAD_INPUTS = [
    ("rnnlab-eval", ["seed=abc"], "seed=abc is not allowed: an integer"),
    ("rnnlab-eval", ["device=tpu"], "device=tpu is not allowed: auto, cpu, cuda or cuda:N"),
    ("rnnlab-eval", ["model.hidden_size=64"], "model.hidden_size=64: rnnlab-eval re-tests the saved model"),
    ("rnnlab-eval", ["task.test_lengths=abc"], "task.test_lengths=abc is not allowed: expected a list"),
    ("rnnlab-eval", ["out={file}"], "is a file: give a directory"),
    ("rnnlab-eval", ["checkpoint={other_pt}"], "is not an rnnlab checkpoint"),
    ("rnnlab-predict", ["inputs={file}", "device=tpu"], "device=tpu is not allowed"),
    ("rnnlab-predict", ["inputs={file}", "colour=red"], "unknown key colour"),
    ("rnnlab-report", ["{empty_report}"], None),  # listed as unreadable: exit 0, not a traceback
]


@pytest.mark.parametrize(
    "name,args,message", OTHER_BAD_INPUTS, ids=[f"{n} {' '.join(a)}" for n, a, _ in OTHER_BAD_INPUTS]
)
def test_every_command_answers_a_mistake_in_one_line_and_writes_nothing(
    tmp_path, trained_run, command_here, name, args, message
):
    import torch

    places = {"file": tmp_path / "a_file", "other_pt": tmp_path / "other.pt", "empty_report": tmp_path / "runs"}
    places["file"].write_text("x")
    torch.save({"some": "dict"}, places["other_pt"])
    (places["empty_report"] / "a").mkdir(parents=True)
    (places["empty_report"] / "a" / "report.json").write_text("[]")
    args = [a.format(**places) for a in args]
    if name != "rnnlab-report" and not any(a.startswith("checkpoint=") for a in args):
        args.insert(0, f"checkpoint={trained_run}")
    before = sorted(p for p in trained_run.rglob("*"))
    result = command_here(name, *args, cwd=tmp_path)
    assert "Traceback" not in result.stderr, result.stderr
    if message is None:
        assert result.returncode == 0 and "report.json is not an rnnlab report" in result.stdout
        return
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert sorted(p for p in trained_run.rglob("*")) == before  # no eval/ dir, nothing changed


def test_a_typo_is_answered_before_torch_is_imported(tmp_path):
    report = "import atexit, sys; atexit.register(lambda: print('torch imported:', 'torch' in sys.modules)); "
    result = command("rnnlab", "model.hidden_sise=3", cwd=tmp_path, before=report)
    assert result.returncode == 2 and "torch imported: False" in result.stdout, result.stdout + result.stderr
    loaded = command("rnnlab", "device=cuda:7", cwd=tmp_path, before=report)  # found only with torch: it loads
    assert loaded.returncode == 2 and "torch imported: True" in loaded.stdout


def test_our_hydra_plugins_load_without_loading_optuna(tmp_path):
    """Hydra's plugin scan imports every module under hydra_plugins/ in every command of a wheel install (and the
    rnnlab command registers ours for each sweep): importing optuna there cost 2.7-3.3 s a command."""
    pytest.importorskip("optuna")
    code = (
        "import sys; import hydra_plugins.rnnlab_basic.basic_sweeper as basic, "
        "hydra_plugins.rnnlab_optuna.resumable_optuna_sweeper as search; "
        "print(basic.BasicSweeper.__name__, search.ResumableOptunaSweeper.__name__, 'optuna' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=ENV, capture_output=True, text=True)
    assert result.stdout.split() == ["BasicSweeper", "ResumableOptunaSweeper", "False"], result.stderr


def test_help_lists_the_groups_and_the_config_the_overrides_compose(tmp_path, command_here):
    result = command_here("rnnlab", "--help", "model=gru", "model.hidden_size=7", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("rnnlab: train and test recurrent networks")
    assert "\nmodel: gru, lru, lstm, mingru, minlstm, rnn, s6, scratch_rnn, transformer\n" in result.stdout
    tasks = (
        "adding, binary_addition, char_sequence, copy_memory, index_recall, mnist, mqar, selective_copy, temporal_order"
    )
    assert f"\ntask: {tasks}\n" in result.stdout
    assert (
        "\nhydra/launcher: basic, joblib, ray, slurm, submitit_local, submitit_slurm\n" in result.stdout
    )  # not ray_aws
    assert "\nhydra/sweeper" not in result.stdout  # Hydra's other groups are --hydra-help's
    assert "\n  hidden_size: int = 7 " in result.stdout or "\n  hidden_size: int = 7\n" in result.stdout
    assert "  attention_heads: int = 4" in result.stdout and "each can find another step that matters" in result.stdout
    assert "\nschema" not in result.stdout and "\ntask_defaults:" not in result.stdout  # not options a user picks
    assert "  cell: gru\n  hidden_size: 7\n" in result.stdout
    assert list(tmp_path.iterdir()) == []  # help writes nothing
    typo = command_here("rnnlab", "--help", "model=gur", cwd=tmp_path)
    assert typo.returncode == 2 and "model=gur is not an option" in typo.stderr and typo.stderr.count("\n") == 1


@pytest.mark.slow  # Hydra's own --help takes 3-5 s on a 2-core machine
def test_help_is_what_hydra_itself_prints(tmp_path):
    """rnnlab answers --help itself (Hydra's own listing is 5x slower); the text must stay Hydra's, word for word, less
    the groups rnnlab composes itself (schema/*, task_defaults), which a user never picks, plus what rnnlab adds:
    the launchers among the groups, and the keys of the model and task chosen."""
    args = ["--help", "model=gru", "--resolve"]
    ours = command("rnnlab", *args, cwd=tmp_path)
    hydras = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; sys.argv = ['rnnlab', *{args!r}]; from rnnlab.cli.train import _train; _train()",
        ],
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ours.returncode == hydras.returncode == 0, ours.stderr + hydras.stderr
    not_picked = re.compile(r"^(schema/[\w/]+|schema|task_defaults|task_model_defaults): .*\n", re.M)
    assert not_picked.search(hydras.stdout) and not not_picked.search(ours.stdout)
    added = re.compile(r"^hydra/launcher: .*\n|^\n(model|task)=\w+ \(.*\):\n(  .*\n)+", re.M)
    assert added.search(ours.stdout)
    assert added.sub("", ours.stdout) == not_picked.sub("", hydras.stdout)
