"""Comparisons a reviewer accepts: each model at its validation-chosen setting over seeds (rnnlab-report), matched
parameter counts (model.params), a wall-clock budget (trainer.max_minutes), a model's own learning rates, and the
whole path sweep -> rnnlab-report -> sweep.resume -> rnnlab-report."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import torch
import yaml

from rnnlab.reporting.comparison import compare, rows_of, study_of
from rnnlab.reporting.sweep_runs import collect
from rnnlab.runner.parts import build_parts, build_run
from rnnlab.runner.run import run
from rnnlab.training.schedules import TimedSchedule

CPU = torch.device("cpu")
STUDY = {"compare": "model", "tune": ["optimizer.lr"]}
BUILT_IN = ["rnn", "lstm", "gru", "mingru", "minlstm", "lru", "s6", "transformer", "scratch_rnn"]


def fake_job(
    sweep: Path,
    number: int,
    model: str,
    lr: float,
    seed: int,
    val: float,
    test: float,
    task: str = "mqar",
    chance: float = 0.0625,
    loss: float | None = None,
    study: dict | None = None,
) -> None:
    """A finished job as rnnlab writes it: overrides and a report.json with its setup."""
    overrides = [f"model={model}", f"optimizer.lr={lr}", f"seed={seed}", f"task={task}"]
    job = sweep / f"{number}_{','.join(overrides)}"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    setup = {
        "task": {"name": task},
        "model": {"name": model, "hidden_size": 8, "params": 1000},
        "loss": "cross_entropy",
        "optimizer": {"name": "adam", "lr": lr, "weight_decay": 0.0},
        "scheduler": "CosineAnnealingLR",
        "trainer": {"batch_size": 32, "max_steps": 100},
        "seed": seed,
    }
    report = {
        "status": "ok",
        "task": task,
        "model": model,
        "metric": "acc",
        "chance": chance,
        "params": 1000,
        "setup": setup,
        "study": study or STUDY,
        "budget": {"kind": "steps", "steps": 100},
        "published": {"transformer": "~100% (Zoology)"},
        "val": {"acc": val, **({"loss": loss} if loss is not None else {})},
        "best_val": val,
        "test": {"acc": test},
        "test_by_length": {"2": {"acc": test}, "8": {"acc": test / 2}},
        "train": {"steps": 100, "wall_s": 1.0},
    }
    (job / "report.json").write_text(json.dumps(report))


def make_study(sweep: Path) -> None:
    """Two models x three rates x two seeds on two tasks. The GRU is best at 3e-3 on validation but best at 1e-2 on
    the test: the choice must follow validation. The RNN stays at chance at every rate on mqar."""
    number = 0
    for task in ("mqar", "selective_copy"):
        for model, scores in (
            ("gru", {0.01: (0.5, 0.95), 0.003: (0.8, 0.7), 0.001: (0.6, 0.6)}),
            ("rnn", {0.01: (0.07, 0.06), 0.003: (0.06, 0.07), 0.001: (0.065, 0.06)}),
        ):
            for lr, (val, test) in scores.items():
                for seed in (0, 1):
                    bump = 0.3 if task == "selective_copy" and model == "rnn" else 0.0
                    fake_job(sweep, number, model, lr, seed, val + bump + 0.01 * seed, test + 0.02 * seed, task)
                    number += 1


def test_each_model_is_chosen_on_validation_never_the_test_and_a_grid_at_chance_is_named(tmp_path):
    make_study(tmp_path)
    runs = collect([tmp_path])
    assert study_of(runs) == {**STUDY, "metric": "headline"}  # runs from before study.metric: the task's metric
    tables = {t.context["task"]: t for t in compare(runs, STUDY)}
    assert set(tables) == {"mqar", "selective_copy"}  # a table per task
    gru, rnn = tables["mqar"].rows
    assert (gru.compared, gru.chosen.values["optimizer.lr"]) == ("gru", 0.003)  # val 0.8 beats test 0.95 at 1e-2
    assert [r.report["setup"]["seed"] for r in gru.chosen.runs] == [0, 1]
    assert rnn.grid_at_chance and not gru.grid_at_chance
    assert not tables["selective_copy"].rows[1].grid_at_chance  # there the rnn rose above chance
    header, rows = rows_of(tables["mqar"])
    assert header[:5] == ["model", "chosen optimizer.lr", "params", "seeds", "val/acc"]
    assert "test/acc@2" in header and "test/acc@8" in header
    test = rows[0][header.index("test/acc")]
    assert test.startswith("0.7100 ± ")  # the mean of the chosen setting's seeds (0.70, 0.72) with its interval
    assert rows[1][header.index("grid")] == "3 settings, all at chance"


def test_a_study_that_chooses_on_the_loss_takes_the_lowest(tmp_path):
    """Adding's accuracy within 0.04 saturates at 100%; its MSE (the loss) still tells the rates apart."""
    study = {**STUDY, "metric": "loss"}
    for number, (lr, acc, loss) in enumerate(((0.01, 1.0, 9e-6), (0.003, 1.0, 7e-6), (0.001, 0.99, 4e-5))):
        fake_job(tmp_path, number, "transformer", lr, 0, acc, acc, "adding", loss=loss, study=study)
    runs = collect([tmp_path])
    assert study_of(runs) == study
    (table,) = compare(runs, study_of(runs))
    assert table.rows[0].chosen.values["optimizer.lr"] == 0.003
    header, rows = rows_of(table)
    assert header[4] == "val/loss" and rows[0][4].startswith("7.00e-06")
    (headline,) = compare(runs, STUDY)  # 1e-2 and 3e-3 tie at 100%: the lower validation loss, 3e-3
    assert headline.rows[0].chosen.values["optimizer.lr"] == 0.003
    assert headline.rows[0].chosen.runs[0].report["val"]["loss"] == 7e-6


def test_runs_that_declare_different_selection_metrics_make_no_comparison(tmp_path):
    fake_job(tmp_path, 0, "gru", 0.01, 0, 0.9, 0.9, loss=0.1)  # from before study.metric: agrees with either
    fake_job(tmp_path, 1, "gru", 0.003, 0, 0.8, 0.8, loss=0.2, study={**STUDY, "metric": "loss"})
    assert study_of(collect([tmp_path]))["metric"] == "loss"
    fake_job(tmp_path, 2, "gru", 0.001, 0, 0.7, 0.7, loss=0.3, study={**STUDY, "metric": "headline"})
    assert study_of(collect([tmp_path])) is None


def _tiny_adding_study(tmp_path, command_here, rates: str, *extra: str) -> tuple[dict, dict, float]:
    """A two-stage study of the GRU on a tiny adding task: (val acc, val loss) by rate at seed 0, and the rate the
    sweeper ran at seed 1. Seeded: the same numbers on every run of one machine."""
    sweep = tmp_path / "sweep"
    # The rates below were picked for a tie and for a disagreement under the plain cosine: no warm-up here
    args = ["-m", "experiment=compare_adding", "debug=tiny", "logger=none", "task.length=10", "model=gru"]
    args.append("scheduler.warmup=0")
    result = command_here(
        "rnnlab", *args, f"optimizer.lr={rates}", "seed=0,1", *extra, f"hydra.sweep.dir={sweep}", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    reports = [json.loads(p.read_text()) for p in sweep.glob("*/report.json")]
    first = [r for r in reports if r["setup"]["seed"] == 0]
    acc = {r["setup"]["optimizer"]["lr"]: r["val"]["acc"] for r in first}
    loss = {r["setup"]["optimizer"]["lr"]: r["val"]["loss"] for r in first}
    (second,) = [r["setup"]["optimizer"]["lr"] for r in reports if r["setup"]["seed"] == 1]
    runs = collect([sweep])
    (table,) = compare(runs, study_of(runs))
    assert table.rows[0].chosen.values["optimizer.lr"] == second  # rnnlab-report chooses as the sweeper did
    return acc, loss, second


def test_the_sweeper_runs_the_seeds_of_the_rate_with_the_lowest_validation_loss(tmp_path, command_here):
    acc, loss, second = _tiny_adding_study(tmp_path, command_here, "0.005,0.02", "study.metric=loss")
    assert second == min(loss, key=loss.get) != max(acc, key=acc.get)  # the headline would have chosen the other


def test_a_tie_on_the_headline_goes_to_the_lower_validation_loss(tmp_path, command_here):
    acc, loss, second = _tiny_adding_study(tmp_path, command_here, "0.03,0.02")
    assert acc[0.03] == acc[0.02] and loss[0.02] < loss[0.03]  # the first rate would win a tie without the loss
    assert second == 0.02


def test_rnnlab_report_prints_the_comparison_first_and_writes_it_as_csv_and_latex(tmp_path, command_here):
    make_study(tmp_path / "sweep")
    result = command_here("rnnlab-report", str(tmp_path / "sweep"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.index("## Comparison") < out.index("## Every run (the whole grid)")
    assert "### task=mqar, budget=100 steps: each model at its best optimizer.lr on validation acc" in out
    assert "~100% (Zoology)" not in out  # the published anchor goes to the model it names (no transformer here)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "sweep" / "comparison.csv").read_text())))
    chosen = {(r["context"], r["compared"], r["column"]): r for r in rows}
    assert chosen[("task=mqar, budget=100 steps", "gru", "val/acc")]["chosen"] == "optimizer.lr=0.003"
    assert "\\pm" in (tmp_path / "sweep" / "comparison.tex").read_text()


@pytest.mark.parametrize("model", BUILT_IN)
def test_model_params_sets_every_built_in_model_within_5_percent_of_the_budget(tiny_config, model):
    cfg = tiny_config("task=mqar", f"model={model}", "model.params=50000")
    task, _, _ = build_parts(cfg, CPU, weights=False)  # the check a command line gets: it fits the width
    parts = build_run(cfg, CPU)
    count = sum(p.numel() for p in parts.model.parameters())
    assert abs(count - 50_000) <= 2_500, (model, cfg.model.hidden_size, count)
    assert parts.model is not None and "params" not in str(type(parts.model).__init__)


def test_a_budget_that_is_not_a_count_is_one_line(tmp_path, command_here):
    result = command_here("rnnlab", "model.params=0", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode == 2 and "model.params=0 is not allowed" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "run").exists()


def test_a_budget_for_a_model_that_builds_at_no_width_says_why(tmp_path, command_here):
    """r_min >= r_max refuses every width: the one line gives the constructor's reason, not only the widths."""
    args = ["model=lru", "model.params=50000", "model.r_min=0.999", f"hydra.run.dir={tmp_path / 'run'}"]
    result = command_here("rnnlab", *args, cwd=tmp_path)
    assert result.returncode == 2 and "builds at no width" in result.stderr, result.stderr
    assert "model.r_min" in result.stderr and "r_min < r_max" in result.stderr and "Traceback" not in result.stderr


def test_a_time_budget_ends_training_and_its_schedule_with_the_clock(tiny_config, tmp_path):
    report = run(
        tiny_config("task=adding", "trainer.max_minutes=0.02", "trainer.max_steps=3", "trainer.eval_every=1000"),
        tmp_path,
    )
    train = report["train"]
    assert report["status"] == "ok" and train["stopped_by"] == "time budget"
    assert train["steps"] > 3  # max_steps is no limit under a time budget
    assert 1.2 <= train["budget_s"] < 1.2 + 1.0  # within a step or so of 1.2 s
    assert report["budget"] == {"kind": "time", "minutes": 0.02}
    assert "- budget: 0.02 minutes of training" in (tmp_path / "report.md").read_text()


def test_a_timed_schedule_is_where_the_share_of_the_budget_spent_puts_it():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    timed = TimedSchedule(torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=1000), budget_s=100.0)
    for spent, rate in ((0.0, 1.0), (50.0, 0.5), (100.0, 0.0), (150.0, 0.0)):
        timed.spent = spent
        timed.step()
        assert optimizer.param_groups[0]["lr"] == pytest.approx(rate, abs=1e-6)
    restored = TimedSchedule(torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=1000), budget_s=100.0)
    timed.spent = 30.0
    restored.load_state_dict(timed.state_dict())  # last.pt keeps the seconds spent: a resume spends the rest
    assert restored.elapsed() == pytest.approx(30.0, abs=0.1)


def test_the_lru_trains_its_recurrence_at_its_own_rate_without_weight_decay(tiny_config, tmp_path):
    parts = build_run(tiny_config("task=adding", "model=lru", "optimizer.lr=0.004", "optimizer.weight_decay=0.1"), CPU)
    groups = {g["name"]: g for g in parts.optimizer.param_groups}
    recurrent = groups["recurrent (nu, theta, gamma)"]
    assert recurrent["lr"] == pytest.approx(0.002) and recurrent["weight_decay"] == 0.0
    assert groups["default"]["lr"] == pytest.approx(0.004) and groups["default"]["weight_decay"] == 0.1
    names = {id(p): n for n, p in parts.model.named_parameters()}
    assert {names[id(p)].rsplit(".", 1)[-1] for p in recurrent["params"]} == {"nu_log", "theta_log", "gamma_log"}
    parts.optimizer.step()
    parts.scheduler.step()  # the schedule scales each group from its own rate
    assert groups["default"]["lr"] / recurrent["lr"] == pytest.approx(2.0)
    report = run(tiny_config("task=adding", "model=lru", "model.hidden_size=8"), tmp_path)
    assert "lr x 0.5, no weight decay" in report["optimizer_groups"][0]
    assert "optimizer group recurrent (nu, theta, gamma)" in (tmp_path / "report.md").read_text()


def test_sweep_then_report_then_resume_then_report(tmp_path, command_here):
    """rnnlab-report's own files (summary.tex, comparison.csv ...) are rnnlab's: the sweep resumes beside them."""
    sweep = tmp_path / "sweep"
    args = [
        "-m",
        "experiment=compare_selective_copy",
        "debug=tiny",
        "logger=none",
        "task.length=8",
        "model=gru,transformer",
        "optimizer.lr=0.01",
        "seed=0",
        f"hydra.sweep.dir={sweep}",
    ]
    first = command_here("rnnlab", *args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    report = command_here("rnnlab-report", str(sweep), cwd=tmp_path)
    assert report.returncode == 0 and "## Comparison" in report.stdout, report.stderr
    assert (sweep / "summary.tex").exists() and (sweep / "comparison.tex").exists()
    again = command_here("rnnlab", *args, "sweep.resume=true", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("sweep.resume: done already in") == 2
    assert command_here("rnnlab-report", str(sweep), cwd=tmp_path).returncode == 0


USER_MODELS = """
import torch
from torch import nn


class Wide(nn.Module):
    width_key = "channels"

    def __init__(self, input_size, output_size, per_step, channels: int = 4):
        super().__init__()
        self.rnn, self.out = nn.GRU(input_size, channels, batch_first=True), nn.Linear(channels, output_size)

    def forward(self, x, lengths):
        return self.out(self.rnn(x)[0][torch.arange(len(x)), lengths - 1])


class Fixed(Wide):
    width_key = "hidden_size"

    def __init__(self, input_size, output_size, per_step, depth: int = 1):
        super().__init__(input_size, output_size, per_step)
"""


def test_a_users_model_is_sized_by_its_width_key_or_refused_in_one_line(tmp_path, command_here):
    (tmp_path / "widths.py").write_text(USER_MODELS)
    (tmp_path / "conf" / "model").mkdir(parents=True)
    (tmp_path / "conf" / "model" / "wide.yaml").write_text("_target_: widths.Wide\nchannels: 4\n")
    (tmp_path / "conf" / "model" / "fixed.yaml").write_text("_target_: widths.Fixed\ndepth: 1\n")
    wide = command_here(
        "rnnlab",
        "--config-dir",
        "conf",
        "model=wide",
        "+model.params=3000",
        "task=temporal_order",
        "debug=tiny",
        "logger=none",
        "hydra.run.dir=wide",
        cwd=tmp_path,
    )
    assert wide.returncode == 0, wide.stderr
    report = json.loads((tmp_path / "wide" / "report.json").read_text())
    assert abs(report["params"] - 3000) <= 150 and report["setup"]["model"]["channels"] > 4
    fixed = command_here(
        "rnnlab",
        "--config-dir",
        "conf",
        "model=fixed",
        "+model.params=3000",
        "task=temporal_order",
        "hydra.run.dir=fixed",
        cwd=tmp_path,
    )
    assert (
        fixed.returncode == 2
        and "model.params=3000: Fixed" in fixed.stderr
        and "no width key hidden_size" in fixed.stderr
    )
    assert "Traceback" not in fixed.stderr and not (tmp_path / "fixed").exists()


def test_report_names_the_recipe_files_a_run_composed(tmp_path, command_here):
    result = command_here(
        "rnnlab", "task=adding", "model=lru", "debug=tiny", "logger=none", "hydra.run.dir=run", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "run" / "report.json").read_text())["recipes"] == [
        "conf/task_model_defaults/adding_lru.yaml"
    ]
    assert "- recipes applied: conf/task_model_defaults/adding_lru.yaml" in (tmp_path / "run" / "report.md").read_text()


def test_mqars_floor_is_the_plateau_of_a_model_that_binds_no_key():
    """Answering each query with the sequence's most frequent value: what every model scored on the 8,000-step
    plateau (measured 0.53 / 0.335 / 0.262 / 0.193 at P = 2/4/8/16, 0.236 on validation)."""
    from rnnlab.tasks.mqar import MQAR

    task = MQAR(train_lengths=[2, 16], test_lengths=[2, 4, 8, 16])
    assert task.mode_level(2) == pytest.approx(1 - 0.5 * 15 / 16, abs=0.01)  # two values: right unless they differ
    assert [round(task.mode_level(p), 2) for p in (4, 8, 16)] == pytest.approx([0.34, 0.26, 0.19], abs=0.015)
    assert task.floor == pytest.approx(0.236, abs=0.01) and task.floor > task.chance


def test_a_grid_on_the_floor_is_named_so(tmp_path):
    for number, (model, val) in enumerate((("gru", 0.24), ("gru", 0.23), ("lstm", 0.65), ("lstm", 0.24))):
        fake_job(tmp_path, number, model, 0.01 * (number % 2 + 1), 0, val, val)
        report = json.loads((next(tmp_path.glob(f"{number}_*")) / "report.json").read_text())
        (next(tmp_path.glob(f"{number}_*")) / "report.json").write_text(json.dumps({**report, "floor": 0.236}))
    (table,) = compare(collect([tmp_path]), STUDY)
    header, rows = rows_of(table)
    grid = {row[0]: row[header.index("grid")] for row in rows}
    assert grid == {"gru": "2 settings, all at the floor", "lstm": "2 settings"}
