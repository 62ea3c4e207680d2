"""rnnlab-report on fixture sweeps: one row per setting (mean ± std over seeds), constants above the table, failed
jobs listed, plain numbers in the CSV, evaluations left out, plots written."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import yaml


def fake_run(path: Path, overrides: list[str], report: dict | None) -> None:
    (path / ".hydra").mkdir(parents=True)
    (path / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    if report is not None:
        (path / "report.json").write_text(json.dumps(report))


def report(acc: float, status: str = "ok", cell: str = "lstm", hidden: int = 4, seed: int = 0) -> dict:
    setup = {
        "task": {"name": "binary_addition", "train_lengths": [1, 20], "test_lengths": [10, 100]},
        "model": {"name": cell, "cell": cell, "hidden_size": hidden, "params": 10 * hidden},
        "loss": "cross_entropy",
        "optimizer": {"name": "adam", "lr": 0.01, "weight_decay": 0.0},
        "scheduler": "CosineAnnealingLR",
        "trainer": {"batch_size": 32, "max_steps": 100},
        "seed": seed,
    }
    return {
        "status": status,
        "model": cell,
        "metric": "bit_acc",
        "params": 10 * hidden,
        "chance": 0.5,
        "setup": setup,
        "test": {"bit_acc": acc, "seq_acc": acc / 2},
        "best_val": acc,
        "train": {"steps": 100, "wall_s": 1.5},
        "bit_accuracy_by_length": {"10": acc, "100": acc * 0.9},
        "test_by_length": {"10": {"bit_acc": acc, "seq_acc": acc / 2}, "100": {"bit_acc": acc * 0.9, "seq_acc": 0.0}},
    }


def make_sweep(sweep: Path) -> None:
    job = 0
    for cell in ("rnn", "lstm"):
        for hidden in (2, 5):
            for seed in (0, 1):
                acc = {"rnn": 0.5, "lstm": 0.7}[cell] + 0.05 * hidden + 0.01 * seed
                overrides = [f"model={cell}", f"model.hidden_size={hidden}", f"seed={seed}"]
                fake_run(
                    sweep / f"{job}_{','.join(sorted(overrides))}",
                    overrides,
                    report(acc, cell=cell, hidden=hidden, seed=seed),
                )
                job += 1
    fake_run(
        sweep / f"{job}_model=gru",
        ["model=gru", "model.hidden_size=2", "seed=0"],
        report(0.0, "diverged: loss nan at step 7"),
    )
    fake_run(sweep / f"{job + 1}_model=gru", ["model=gru", "model.hidden_size=5", "seed=0"], None)
    # rnnlab-eval's re-test of a job is not one more run of the sweep
    eval_dir = sweep / "0_model.hidden_size=2,model=rnn,seed=0" / "eval" / "2026-11-23_10-00-00"
    eval_dir.mkdir(parents=True)
    (eval_dir / "report.json").write_text(json.dumps(report(0.1)))


def test_a_sweep_becomes_one_table_with_seeds_pooled_and_failures_listed(tmp_path, command_here):
    sweep = tmp_path / "sweep"
    make_sweep(sweep)
    result = command_here("rnnlab-report", str(sweep), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table = (sweep / "summary.md").read_text()
    lines = table.splitlines()
    assert lines[0] == f"# 10 runs in {sweep}"
    # What every run shares is said once; what differs are the columns.
    assert (
        "Same in every run: task=binary_addition, task.train_lengths=[1,20]" in table and "optimizer.lr=0.01" in table
    )
    header = next(line for line in lines if line.startswith("| run"))
    assert header == (
        "| run | model.cell | model.hidden_size | params | test/bit_acc | test/seq_acc | test/bit_acc@100 "
        "| best val/bit_acc | train steps | train s | seeds |"
    )
    # The run column names the run dirs, as TensorBoard names the runs with --logdir on the sweep; runs pooled over
    # seeds by what their dirs share and their job numbers.
    row = next(line for line in lines if line.startswith("| model.hidden_size=5,model=lstm (jobs 6-7) |"))
    # mean and 95% interval of 0.95 and 0.96: t(1) = 12.706 x std 0.00707 / sqrt(2)
    assert "| lstm | 5 | 50 | 0.9550 ± 0.0635 |" in row
    assert "| 0.8595 ± 0.0572 |" in row  # at the longest length, 0.9 x
    assert "the mean ± the 95% confidence interval (Student's t over the seeds)" in table
    assert sum(1 for line in lines if line.startswith("| ") and "model=" in line and "| run" not in line) == 4
    assert "Failed runs (2):" in table and "diverged: loss nan at step 7" in table and "did not finish" in table
    assert "eval" not in table

    rows = list(csv.DictReader((sweep / "summary.csv").open()))
    assert len(rows) == 4 and rows[0]["model.cell"] == "rnn" and rows[0]["params"] == "20"
    assert float(rows[3]["test/bit_acc"]) == 0.955 and abs(float(rows[3]["test/bit_acc std"]) - 0.00707) < 1e-4
    assert abs(float(rows[3]["test/bit_acc ci95"]) - 0.06353) < 1e-4 and rows[3]["test/bit_acc n"] == "2"
    tex = (sweep / "summary.tex").read_text()  # for a paper: booktabs, the best mean of each metric in bold
    assert "\\toprule" in tex and "\\bottomrule" in tex and "\\textbf{0.9550 $\\pm$ 0.0635}" in tex
    assert rows[3]["train steps"] == "100"  # plain numbers: no thousands separators, no ±
    for plot in ("metric_vs_hidden_size.png", "accuracy_by_length.png"):
        assert (sweep / plot).read_bytes()[:4] == b"\x89PNG"
    assert "10 runs (2 failed)" in result.stdout and "summary.tex" in result.stdout


def test_bad_dirs_are_one_line_errors(tmp_path, command_here):
    missing = command_here("rnnlab-report", str(tmp_path / "nope"), cwd=tmp_path)
    assert missing.returncode == 2 and "not a directory" in missing.stderr and "Traceback" not in missing.stderr
    empty = command_here("rnnlab-report", str(tmp_path), cwd=tmp_path)
    assert empty.returncode == 2 and "no runs" in empty.stderr


def test_runs_without_a_recorded_setup_are_read_from_their_overrides(tmp_path, command_here):
    old = {
        "status": "ok",
        "model": "lstm",
        "metric": "bit_acc",
        "test": {"bit_acc": 0.6},
        "train": {"steps": 9, "wall_s": 1},
    }
    fake_run(tmp_path / "a" / "0", ["model.hidden_size=4"], old)
    fake_run(tmp_path / "a" / "1", ["model.hidden_size=8"], {**old, "test": {"bit_acc": 0.8}})
    fake_run(tmp_path / "b" / "0", ["optimizer.lr=0.1"], {**old, "test": {"bit_acc": 0.7}})
    result = command_here("rnnlab-report", str(tmp_path / "a"), str(tmp_path / "b"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table = (tmp_path / "a" / "summary.md").read_text()
    header = next(line for line in table.splitlines() if line.startswith("| run"))
    assert header.startswith("| run | model.hidden_size | optimizer.lr |") and "| 0 | 4 |  |  | 0.6000" in table
    assert f"| {tmp_path / 'b' / '0'} |  | 0.1 |" in table  # a run outside the first dir: its full path
    assert (tmp_path / "a" / "metric_vs_hidden_size.png").exists()


def test_a_mixture_of_tasks_gets_one_table_and_plots_per_task(tmp_path, command_here):
    """Runs of tasks with different headline metrics: no KeyError after half the files were written."""
    for number, (task, metric) in enumerate((("binary_addition", "bit_acc"), ("adding", "acc"))):
        run = report(0.9, seed=0)
        run.update(task=task, metric=metric, test={metric: 0.9})
        run["setup"]["task"]["name"] = task
        run["setup"]["model"]["hidden_size"] = 4 + number
        run["test_by_length"] = {"10": {metric: 0.9}, "100": {metric: 0.8}}
        run.pop("bit_accuracy_by_length")
        fake_run(tmp_path / "mix" / f"{number}_task={task}", [f"task={task}"], run)
    result = command_here("rnnlab-report", str(tmp_path / "mix"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "mix" / "accuracy_by_length_adding.png").exists()
    assert (tmp_path / "mix" / "accuracy_by_length_binary_addition.png").exists()
    assert "| binary_addition |" in result.stdout and "| adding |" in result.stdout


def test_same_in_every_run_lists_only_what_every_run_has(tmp_path, command_here):
    lstm, gru = report(0.9, cell="lstm"), report(0.8, cell="gru")
    lstm["setup"]["model"]["forget_bias"] = "chrono"  # a key the gru's setup does not have
    fake_run(tmp_path / "s" / "0_model=lstm", ["model=lstm"], lstm)
    fake_run(tmp_path / "s" / "1_model=gru", ["model=gru"], gru)
    result = command_here("rnnlab-report", str(tmp_path / "s"), cwd=tmp_path)
    same = next(line for line in result.stdout.splitlines() if line.startswith("Same in every run"))
    assert "model.forget_bias" not in same and "task=binary_addition" in same


def test_a_two_by_two_sweep_draws_four_runs_that_look_different_in_every_figure(tmp_path, command_here, monkeypatch):
    """model=gru,lstm x optimizer.lr: the layers differ with the model only; the lr must get an encoding of its own."""
    from rnnlab.reporting import sweep_plots
    from rnnlab.reporting.sweep_runs import collect

    sweep = tmp_path / "sweep"
    result = command_here(
        "rnnlab",
        "-m",
        "model=gru,lstm",
        "optimizer.lr=0.01,0.003",
        "debug=tiny",
        "task.test_lengths=[5,10]",
        "model.num_layers=1",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    figures = {}
    monkeypatch.setattr(sweep_plots, "save_figure", lambda fig, path: figures.setdefault(path.name, fig))
    sweep_plots.plots(collect([sweep]), sweep)
    assert {"accuracy_by_length.png", "training_curves.png"} <= set(figures)
    for name, fig in figures.items():
        for ax in fig.axes:
            runs = [
                line
                for line in ax.get_lines()
                if not line.get_label().startswith("_") and "chance" not in line.get_label()
            ]
            looks = {(str(line.get_color()), line.get_linestyle(), line.get_marker()) for line in runs}
            labels = {line.get_label() for line in runs}
            assert len(runs) == 4 and len(looks) == 4 and len(labels) == 4, (name, [line.get_label() for line in runs])
            assert all("lr=" in label and "cell=" in label for label in labels)
    assert "loss (cross_entropy)" in figures["training_curves.png"].axes[0].get_ylabel()
    assert "n = 1 run, 32 test sequences per point" in figures["accuracy_by_length.png"].axes[0].get_title(loc="left")


def test_lines_that_coincide_both_stay_visible_in_a_by_length_figure():
    """Every bit and every sum right: the headline drawn thin and hollow on top of a wider line, not hiding it."""
    from rnnlab.reporting.figures import plot_by_length

    fig = plot_by_length({"20": {"bit_acc": 1.0, "seq_acc": 1.0}, "100": {"bit_acc": 1.0, "seq_acc": 1.0}}, "t")
    bit, seq = [
        line for line in fig.axes[0].get_lines() if line.get_label() in ("bit accuracy", "whole-sequence accuracy")
    ]
    assert bit.get_zorder() > seq.get_zorder() and bit.get_markerfacecolor() == "none"
    assert seq.get_linewidth() > 2 * bit.get_linewidth() and seq.get_markersize() > bit.get_markersize()


def test_a_legend_of_21_settings_stays_on_the_figure(tmp_path, monkeypatch):
    """A 7-model x 3-rate study: one column of 21 entries ran off the figure's foot and lost the last two."""
    import matplotlib.pyplot as plt

    from rnnlab.reporting import sweep_plots

    figures = []
    monkeypatch.setattr(sweep_plots, "save_figure", lambda fig, path: figures.append(fig))
    fig, ax = plt.subplots(figsize=(9, 4.2))
    for number in range(21):
        ax.plot([2, 4, 8, 16], [number / 21] * 4, label=f"cell=model{number // 3}, lr={number % 3}")
    sweep_plots._finish(fig, ax, "x", "y", "title", tmp_path / "figure.png")
    (drawn,) = figures
    drawn.canvas.draw()
    legend, bounds = ax.get_legend(), drawn.bbox
    box = legend.get_window_extent()
    assert len(legend.get_texts()) == 21
    assert box.y0 >= bounds.y0 and box.y1 <= bounds.y1 and box.x1 <= bounds.x1, (box, bounds)


def test_an_mqar_sweep_figure_counts_pairs_not_steps(tmp_path, command_here, monkeypatch):
    from rnnlab.reporting import sweep_plots
    from rnnlab.reporting.sweep_runs import collect

    sweep = tmp_path / "sweep"
    result = command_here(
        "rnnlab", "-m", "task=mqar", "model=gru", "debug=tiny", "logger=none", f"hydra.sweep.dir={sweep}", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    figures = {}
    monkeypatch.setattr(sweep_plots, "save_figure", lambda fig, path: figures.setdefault(path.name, fig))
    sweep_plots.plots(collect([sweep]), sweep)
    assert figures["accuracy_by_length.png"].axes[0].get_xlabel() == "key-value pairs (P)"
