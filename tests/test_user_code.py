"""A user's code cannot break a run or lie in its record (reliability, round four): what it raises or exits with,
anywhere it runs, is that run's failure in one line; the up-front check tries what the run will do (training mode,
a backward pass, the longest length, every set the task draws); a refused resume leaves its dir as it was."""

from __future__ import annotations

import json
import sys
import zlib

import pytest
from test_run_dirs import snapshot

CLASSES = """
import sys
import torch
from torch import nn
from rnnlab import Batch, Task


class Base(nn.Module):
    def __init__(self, input_size, output_size, per_step, width: int = 4):
        super().__init__()
        self.rnn, self.out = nn.GRU(input_size, width, batch_first=True), nn.Linear(width, output_size)
        self.calls = 0

    def features(self, x, lengths):
        return self.rnn(x)[0][torch.arange(len(x)), lengths - 1]

    def forward(self, x, lengths):
        return self.out(self.features(x, lengths))


class TupleInTraining(Base):
    def forward(self, x, lengths):
        out = super().forward(x, lengths)
        return (out, None) if self.training else out


class Detached(Base):
    def forward(self, x, lengths):
        return super().forward(x, lengths).detach()


class NoParameters(nn.Module):
    def __init__(self, input_size, output_size, per_step):
        super().__init__()
        self.output_size = output_size

    def forward(self, x, lengths):
        return x.new_zeros(len(x), self.output_size)


class WrongPastFive(Base):
    def forward(self, x, lengths):
        out = super().forward(x, lengths)
        return out if x.shape[1] <= 5 else out[:, :1]


class LongOutput(Base):
    def forward(self, x, lengths):
        return super().forward(x, lengths).long()


class ExitsInConstructor(Base):
    def __init__(self, input_size, output_size, per_step, width: int = 4):
        sys.exit(3)


class ExitsWhileTraining(Base):
    def forward(self, x, lengths):
        if self.training and len(x) > 2:  # a training batch, not the check's two sequences
            self.calls += 1
            if self.calls == 5:
                sys.exit(0)
        return super().forward(x, lengths)


class NanWhenTesting(Base):
    def forward(self, x, lengths):
        out = super().forward(x, lengths)
        return out * float("nan") if not self.training and len(x) > 2 else out


class SaysText(Base):
    def floats_per_step(self):
        return "many"


class Labels(Task):
    name = "labels"
    input_size = 2
    num_classes = 3
    per_step = False

    def __init__(self, label: int = 1, length: int = 4, short_at: int = 0, floats: bool = False, **common):
        super().__init__(**common)
        self.label, self.length, self.short_at, self.floats = label, length, short_at, floats

    @property
    def test_lengths(self):
        return [4, 8]

    def make_batch(self, n, generator, device, length=None):
        steps = length or self.length
        if steps == self.short_at:
            raise ValueError(f"no sequences of {steps} steps")
        y = torch.full((n,), self.label, dtype=torch.float if self.floats else torch.long)
        lengths = torch.full((n,), steps if self.label >= 0 else 0)
        return Batch(torch.randn(n, steps, 2, generator=generator), y, lengths)

    def describe(self, batch, predictions, i):
        return ""

    def steps(self, length=None):
        return length or self.length
"""


@pytest.fixture
def user(tmp_path, request):
    """A dir with the classes above in a module of its own (each test imports it anew) and a conf dir naming them."""
    module = f"mine_{zlib.crc32(request.node.name.encode())}"
    (tmp_path / f"{module}.py").write_text(CLASSES)
    (tmp_path / f"{module}_exits.py").write_text("import sys\nsys.exit(0)\n")
    for group in ("model", "task"):
        (tmp_path / "conf" / group).mkdir(parents=True)
    names = [
        "TupleInTraining",
        "Detached",
        "NoParameters",
        "WrongPastFive",
        "LongOutput",
        "ExitsInConstructor",
        "ExitsWhileTraining",
        "NanWhenTesting",
        "Base",
        "SaysText",
    ]
    for name in names:
        keys = "" if name == "NoParameters" else "width: 4\n"
        (tmp_path / "conf" / "model" / f"{name.lower()}.yaml").write_text(f"_target_: {module}.{name}\n{keys}")
    (tmp_path / "conf" / "model" / "exits.yaml").write_text(f"_target_: {module}_exits.Model\n")
    (tmp_path / "conf" / "task" / "labels.yaml").write_text(
        f"_target_: {module}.Labels\nlabel: 1\nlength: 4\nshort_at: 0\nfloats: false\n"
    )
    yield tmp_path, module
    for name in (module, f"{module}_exits"):
        sys.modules.pop(name, None)


def _one_line(result, code: int, text: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, result.stderr
    assert len(lines) == 1 and "Traceback" not in result.stderr and "usage:" not in result.stderr, result.stderr
    assert text in lines[0], lines[0]


@pytest.mark.parametrize(
    "args,message",
    [
        (["model=exits"], "importing {dir}/{m}_exits.py failed: SystemExit(0): it called sys.exit()"),
        (["model=exitsinconstructor"], "{m}.ExitsInConstructor(...) in {dir}/{m}.py failed: SystemExit(3)"),
        (["model=tupleintraining"], "forward returned tuple for x (2, 110, 8) in training mode"),
        (["model=detached"], "forward's output in training mode has no gradient"),
        (["model=noparameters"], "has no parameters: the optimizer would have nothing to train"),
        (["model=wrongpastfive"], "forward returned (2, 1) for x (2, 110, 8) in training mode"),
        (["model=longoutput"], "forward returned torch.int64 in eval mode"),
        (["model=base", "task=labels", "task.label=5"], "y holds [5]: the classes are 0..2"),
        (["model=base", "task=labels", "task.floats=true"], "y must hold class indices (long), got torch.float32"),
        (["model=base", "task=labels", "task.label=-5"], "lengths must be 1 to the steps of x (4), got [0, 0]"),
        (
            ["model=base", "task=labels", "task.short_at=8"],
            "make_batch(2, generator, device, length=8) failed: ValueError: no sequences of 8 steps",
        ),
        (["model=saystext"], "floats_per_step() returned 'many'; it says how many floats one sequence keeps per step"),
        (["model=mingru", "+model.attention_heads=0"], "model.attention_heads=0 is not allowed: an integer >= 1"),
        (
            ["model=mingru", "task=mqar", "task.test_lengths=[-1]"],
            "task.test_lengths=[-1] is not allowed: lengths >= 1",
        ),
        (["model=mingru", "task=mqar", "task.train_lengths=[16,2]"], "task.train_lengths=[16,2] is not allowed"),
    ],
)
def test_what_the_run_would_fail_on_is_refused_up_front_in_one_line(user, command_here, args, message):
    here, module = user
    chosen = args if any(a.startswith("task=") for a in args) else [*args, "task=temporal_order"]
    result = command_here("rnnlab", "--config-dir", "conf", *chosen, "debug=tiny", "hydra.run.dir=run", cwd=here)
    _one_line(result, 2, message.format(m=module, dir=here))
    assert not (here / "run").exists()


def test_a_run_whose_code_exits_while_training_fails_in_one_line_and_its_dir_takes_the_corrected_command(
    user, command_here
):
    here, _ = user
    args = ["--config-dir", "conf", "task=temporal_order", "debug=tiny", "hydra.run.dir=run"]
    failed = command_here("rnnlab", *args, "model=exitswhiletraining", cwd=here)
    _one_line(failed, 1, "rnnlab: failed: SystemExit(0): it called sys.exit()")
    assert f"(the traceback is in {here / 'run' / 'rnnlab.log'})" in failed.stderr
    assert json.loads((here / "run" / "report.json").read_text())["status"].startswith("failed: SystemExit(0)")
    assert "Traceback" in (here / "run" / "rnnlab.log").read_text()
    fixed = command_here("rnnlab", *args, "model=base", cwd=here)  # the same dir: a fresh run replaces the failed one
    assert fixed.returncode == 0, fixed.stderr
    assert json.loads((here / "run" / "report.json").read_text())["status"] == "ok"


def test_nan_only_when_testing_is_a_failed_run_not_an_accuracy(user, command_here):
    here, _ = user
    result = command_here(
        "rnnlab",
        "--config-dir",
        "conf",
        "task=temporal_order",
        "model=nanwhentesting",
        "debug=tiny",
        "hydra.run.dir=run",
        cwd=here,
    )
    _one_line(result, 1, "rnnlab: failed: NonFiniteOutputs: the model's outputs hold NaN or Inf in eval mode")
    assert json.loads((here / "run" / "report.json").read_text())["status"].startswith("failed: NonFiniteOutputs")


def test_a_job_whose_code_exits_fails_alone_and_the_sweep_goes_on(user, command_here):
    here, _ = user
    result = command_here(
        "rnnlab",
        "-m",
        "--config-dir",
        "conf",
        "task=temporal_order",
        "model=exitswhiletraining,base",
        "debug=tiny",
        "hydra.sweep.dir=sweep",
        cwd=here,
    )
    assert result.returncode == 1, result.stderr
    reports = {
        job.name.split("_")[0]: json.loads((job / "report.json").read_text())
        for job in (here / "sweep").iterdir()
        if job.is_dir()
    }
    assert reports["0"]["status"].startswith("failed: SystemExit(0)") and reports["1"]["status"] == "ok"


def test_a_resume_refused_for_weights_that_no_longer_fit_leaves_the_dir_as_it_was(user, command_here):
    here, module = user
    args = ["--config-dir", "conf", "task=temporal_order", "model=base", "debug=tiny", "hydra.run.dir=run"]
    assert command_here("rnnlab", *args, cwd=here).returncode == 0
    before = snapshot(here / "run")
    source = here / f"{module}.py"
    source.write_text(
        CLASSES.replace(
            "self.rnn, self.out = nn.GRU(input_size, width, batch_first=True), nn.Linear(width,",
            "self.rnn, self.out = nn.GRU(input_size, 2 * width, batch_first=True), nn.Linear(2 * width,",
        )
    )
    sys.modules.pop(module, None)  # the user edited their class: import it anew
    result = command_here("rnnlab", *args, "resume=true", cwd=here)
    _one_line(result, 2, "resume=true: the weights in")
    assert (
        "do not fit the model built now (Base): " in result.stderr
        and "rnn.weight_hh_l0 (12, 4) now (24, 8)" in result.stderr
    )
    assert snapshot(here / "run") == before


def test_a_config_file_that_is_not_yaml_or_is_shadowed_or_not_looked_for_is_one_line(user, command_here):
    here, _ = user
    (here / "conf" / "model" / "broken.yaml").write_text("_target_: x.Y\ncell: [lstm\n")
    (here / "conf" / "model" / "lstm.yaml").write_text("_target_: rnnlab.models.recurrent.RecurrentNet\n")
    _one_line(
        command_here("rnnlab", "--config-dir", "conf", "model=broken", cwd=here),
        2,
        f"{here / 'conf' / 'model' / 'broken.yaml'}, line 3, column 1 is not valid YAML: expected ','",
    )
    _one_line(
        command_here("rnnlab", "--config-dir", "conf", "model=lstm", cwd=here),
        2,
        "conf/model/lstm.yaml is shadowed by rnnlab's own model=lstm (Hydra reads rnnlab's first): rename yours",
    )
    assert (
        command_here(
            "rnnlab", "--config-dir", "conf", "model=gru", "debug=tiny", "logger=none", "hydra.run.dir=run", cwd=here
        ).returncode
        == 0
    )  # a shadowed file the command does not use
    _one_line(
        command_here("rnnlab", "model=base", cwd=here),
        2,
        "model=base is not an option: choose one of gru, lru, lstm, mingru, minlstm, rnn, s6, scratch_rnn, "
        "transformer (conf/model/base.yaml is here: add --config-dir conf)",
    )


def test_an_interrupted_run_continues_with_the_printed_hint_alone(example, command_here, monkeypatch):
    """Overrides and a --config-dir of the user's: after Ctrl-C, `rnnlab resume=true hydra.run.dir=<dir>` (what the
    hint prints) reads them back from the run dir and ends with the numbers of a run that was never stopped."""
    from test_reliability import interrupt_at_training_step

    here = example("indrnn")
    command = [
        "--config-dir",
        "conf",
        "model=indrnn",
        "model.hidden_size=6",
        "task=binary_addition",
        "task.stop_window=0",
        "trainer.max_steps=40",
        "trainer.eval_every=10",
        "logger=none",
        "trainer.progress=false",
    ]
    whole = command_here("rnnlab", *command, "hydra.run.dir=whole", cwd=here)
    assert whole.returncode == 0, whole.stderr
    with monkeypatch.context() as patch:
        interrupt_at_training_step(patch, 15)
        stopped = command_here("rnnlab", *command, "hydra.run.dir=split", cwd=here)
    assert stopped.returncode == 130, stopped.stderr
    hint = stopped.stderr.strip().splitlines()[-1].split("continue with ", 1)[1]
    assert hint == f"resume=true hydra.run.dir={here / 'split'}"
    resumed = command_here("rnnlab", *hint.split(), cwd=here)
    assert resumed.returncode == 0, resumed.stderr
    reports = [json.loads((here / d / "report.json").read_text()) for d in ("whole", "split")]
    assert reports[1]["train"]["steps"] == 40 and reports[1]["test"] == reports[0]["test"]
    assert reports[1]["setup"]["model"]["hidden_size"] == 6  # the run's own overrides, read back
    more = command_here("rnnlab", *hint.split(), "model.hidden_size=7", cwd=here)  # what resume may not change
    _one_line(more, 2, "resume=true: model differs from the checkpoint's")


def test_resume_without_a_run_dir_names_the_newest_run_that_can_continue(tmp_path, command_here, monkeypatch):
    from test_reliability import interrupt_at_training_step

    with monkeypatch.context() as patch:
        interrupt_at_training_step(patch, 5)
        assert (
            command_here(
                "rnnlab", "trainer.progress=false", "logger=none", "hydra.run.dir=outputs/x/old", cwd=tmp_path
            ).returncode
            == 130
        )
    result = command_here("rnnlab", "resume=true", cwd=tmp_path)
    _one_line(
        result,
        2,
        "the newest run that can be continued is outputs/x/old: rnnlab resume=true hydra.run.dir=outputs/x/old",
    )


DEEP = """
import torch
from torch import nn


class Deep(nn.Module):
    def __init__(self, input_size, output_size, per_step, depth: int, sizes: list[int] = [4]):
        super().__init__()
        self.layer = nn.Linear(input_size, output_size)

    def forward(self, x, lengths):
        return self.layer(x[torch.arange(len(x)), lengths - 1])


class Loose(Deep):
    def __init__(self, input_size, output_size, per_step, **options):
        super().__init__(input_size, output_size, per_step, depth=1)
        self.options = options
"""


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ["model=deep"],
            "model.depth is required: Deep.__init__ in {dir}/{m}.py gives it no default; set +model.depth=",
        ),
        (
            ["model=deep", "model.depth=3", "model.sizes=[4,abc]"],
            "model.sizes[1]=abc is not allowed: expected an integer",
        ),
        (["model=system"], "model._target_=os.system: system in os is not a class"),
        (["model=lru", "model.r_max=1.5"], "model.r_max=1.5 is not allowed: 0 < r_max <= 1"),
        (["task=selective_copy", "task.length=0"], "task.length=0 is not allowed: steps T >= 1"),
    ],
)
def test_a_message_names_the_key_that_is_wrong(tmp_path, command_here, request, args, message):
    module = f"deep_{zlib.crc32(request.node.name.encode())}"
    (tmp_path / f"{module}.py").write_text(DEEP)
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "deep.yaml").write_text(f"_target_: {module}.Deep\nsizes: [4]\n")
    (tmp_path / "conf" / "model" / "system.yaml").write_text("_target_: os.system\n")
    result = command_here("rnnlab", "--config-dir", "conf", *args, "hydra.run.dir=run", cwd=tmp_path)
    sys.modules.pop(module, None)
    _one_line(result, 2, message.format(m=module, dir=tmp_path))
    assert not (tmp_path / "run").exists()


def test_a_constructor_that_takes_any_keyword_gets_its_yamls_keys(tmp_path, command_here):
    (tmp_path / "loose_models.py").write_text(DEEP)
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "loose.yaml").write_text("_target_: loose_models.Loose\nwidth: 3\n")
    result = command_here(
        "rnnlab",
        "--config-dir",
        "conf",
        "model=loose",
        "task=temporal_order",
        "debug=tiny",
        "logger=none",
        "hydra.run.dir=run",
        cwd=tmp_path,
    )
    sys.modules.pop("loose_models", None)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "run" / "report.json").read_text())["setup"]["model"]["width"] == 3


def test_rnnlab_eval_of_a_model_whose_code_exits_while_testing_fails_in_one_line(user, command_here):
    here, module = user
    trained = command_here(
        "rnnlab",
        "--config-dir",
        "conf",
        "task=temporal_order",
        "model=base",
        "debug=tiny",
        "logger=none",
        "hydra.run.dir=run",
        cwd=here,
    )
    assert trained.returncode == 0, trained.stderr
    source = here / f"{module}.py"  # the user's forward now exits when it meets a test set
    source.write_text(
        CLASSES.replace(
            "    def forward(self, x, lengths):\n        return self.out(",
            "    def forward(self, x, lengths):\n        if len(x) > 2: sys.exit(0)\n        return self.out(",
            1,
        )
    )
    sys.modules.pop(module, None)
    result = command_here("rnnlab-eval", f"checkpoint={here / 'run'}", "out=eval", cwd=here)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("rnnlab-eval: failed: SystemExit(0)")


def test_a_key_the_class_takes_is_accepted_without_a_plus_where_its_yaml_leaves_it_out(tmp_path, command_here):
    (tmp_path / "deep_models.py").write_text(DEEP)
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "deep.yaml").write_text("_target_: deep_models.Deep\nsizes: [4]\n")
    result = command_here(
        "rnnlab",
        "--config-dir",
        "conf",
        "model=deep",
        "model.depth=3",
        "task=temporal_order",
        "debug=tiny",
        "logger=none",
        "hydra.run.dir=run",
        cwd=tmp_path,
    )
    sys.modules.pop("deep_models", None)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "run" / "report.json").read_text())["setup"]["model"]["depth"] == 3
    typo = command_here("rnnlab", "--config-dir", "conf", "model=deep", "model.dpeth=3", cwd=tmp_path)
    _one_line(typo, 2, "model.dpeth is not a key of model: choose one of sizes")  # not a key the class takes


def test_a_key_a_recipe_file_sets_for_a_model_that_lacks_it_names_the_recipe(example, command_here):
    here = example("indrnn")
    (here / "conf" / "task_model_defaults").mkdir()
    (here / "conf" / "task_model_defaults" / "adding_indrnn.yaml").write_text(
        "# @package _global_\nmodel:\n  forget_bias: chrono\n"
    )
    result = command_here(
        "rnnlab", "--config-dir", "conf", "model=indrnn", "task=adding", "hydra.run.dir=run", cwd=here
    )
    _one_line(result, 2, "model.forget_bias is not a key of model")
    assert "(set by conf/task_model_defaults/adding_indrnn.yaml, a recipe for this task and model)" in result.stderr
