"""rnnlab-report on a fixture sweep: one row per setting (mean ± std over seeds), failed jobs listed, files written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml


def fake_run(path: Path, overrides: list[str], report: dict | None) -> None:
    (path / ".hydra").mkdir(parents=True)
    (path / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    if report is not None:
        (path / "report.json").write_text(json.dumps(report))


def report(acc: float, status: str = "ok") -> dict:
    return {"status": status, "model": "lstm", "metric": "bit_acc", "test": {"bit_acc": acc, "seq_acc": acc / 2},
            "train": {"steps": 100, "wall_s": 1.5}, "bit_accuracy_by_length": {"10": acc, "100": acc * 0.9}}


def test_a_sweep_becomes_one_table_with_seeds_pooled_and_failures_listed(tmp_path):
    sweep = tmp_path / "sweep"
    job = 0
    for model in ("rnn", "lstm"):
        for hidden in (2, 5):
            for seed in (0, 1):
                acc = {"rnn": 0.5, "lstm": 0.7}[model] + 0.05 * hidden + 0.01 * seed
                fake_run(sweep / str(job), [f"model={model}", f"model.hidden_size={hidden}", f"seed={seed}"], report(acc))
                job += 1
    fake_run(sweep / str(job), ["model=gru", "model.hidden_size=2", "seed=0"], report(0.0, "diverged: loss nan at step 7"))
    fake_run(sweep / str(job + 1), ["model=gru", "model.hidden_size=5", "seed=0"], None)

    result = subprocess.run([sys.executable, "-c", "from rnnlab.sweep_report import main; main()", str(sweep)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    table = (sweep / "summary.md").read_text()
    lines = table.splitlines()
    assert lines[0] == "| model | model.hidden_size | test/bit_acc | test/seq_acc | train steps | train s | seeds |"
    assert "| lstm | 5 | 0.9550 ± 0.0071 |" in table  # mean and std of 0.95 and 0.96
    assert sum(1 for l in lines if l.startswith("| rnn") or l.startswith("| lstm")) == 4
    assert "Failed runs (2):" in table and "diverged: loss nan at step 7" in table and "did not finish" in table
    csv_rows = (sweep / "summary.csv").read_text().splitlines()
    assert len(csv_rows) == 5 and csv_rows[0].startswith("model,model.hidden_size,test/bit_acc")
    for plot in ("metric_vs_hidden_size.png", "accuracy_by_length.png"):
        assert (sweep / plot).read_bytes()[:4] == b"\x89PNG"
    assert "10 runs (2 failed)" in result.stdout


def test_bad_dirs_are_one_line_errors(tmp_path):
    code = "from rnnlab.sweep_report import main; main()"
    missing = subprocess.run([sys.executable, "-c", code, str(tmp_path / "nope")], capture_output=True, text=True)
    assert missing.returncode == 2 and "not a directory" in missing.stderr and "Traceback" not in missing.stderr
    empty = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True)
    assert empty.returncode == 2 and "no runs" in empty.stderr


def test_runs_of_different_sweeps_go_in_one_table(tmp_path):
    fake_run(tmp_path / "a" / "0", ["model.hidden_size=4"], report(0.6))
    fake_run(tmp_path / "a" / "1", ["model.hidden_size=8"], report(0.8))
    fake_run(tmp_path / "b" / "0", ["optimizer.lr=0.1"], report(0.7))
    code = "from rnnlab.sweep_report import main; main()"
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "a"), str(tmp_path / "b")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    table = (tmp_path / "a" / "summary.md").read_text()
    assert table.splitlines()[0].startswith("| model.hidden_size | optimizer.lr |") and "| 4 |  | 0.6000" in table
    assert (tmp_path / "a" / "metric_vs_hidden_size.png").exists()
