"""One run dir holds one run: results are never relabelled or overwritten, through the real rnnlab command.

A resumed sweep matches finished jobs by their settings (never by position), leaves their dirs byte for byte as
they were, and continues an interrupted job from its last.pt; a run dir that holds a run is refused without
resume=true; a refused command changes nothing on disk; two processes never write one run dir.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ENV, command, entry_point

from rnnlab.cli.check import check_command_line

TINY = ["debug=tiny", "logger=none", "task=index_recall"]


def rnnlab(*args: str, cwd) -> subprocess.CompletedProcess:
    return command("rnnlab", *args, cwd=cwd)


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under the dir, by path, with its bytes (a changed, added or removed file shows)."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def one_line_error(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnnlab: error: ") and message in lines[0], result.stderr


def hidden_sizes(sweep: Path) -> dict[str, tuple[int, int]]:
    """Each job dir: (the hidden size its overrides name, the hidden size its report says it trained)."""
    found = {}
    for job in sorted(p for p in sweep.iterdir() if p.is_dir()):
        overrides = (job / ".hydra" / "overrides.yaml").read_text()
        named = int(overrides.split("model.hidden_size=")[1].split()[0])
        found[job.name] = (named, json.loads((job / "report.json").read_text())["setup"]["model"]["hidden_size"])
    return found


@pytest.mark.slow  # a whole sweep, twice: the slow tier (make test-slow)
def test_a_resumed_sweep_matches_finished_jobs_by_their_settings_and_never_rewrites_them(tmp_path, command_here):
    sweep = tmp_path / "sweep"
    first = command_here("rnnlab", "-m", *TINY, "model.hidden_size=2,5", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    finished = {job.name: snapshot(job) for job in sweep.iterdir() if job.is_dir()}
    assert sorted(finished) == ["0_model.hidden_size=2", "1_model.hidden_size=5"]

    # Other values, in another order: hidden 2 and 5 are found by their settings, hidden 1 alone is trained.
    again = command_here(
        "rnnlab", "-m", *TINY, "model.hidden_size=1,2,5", f"hydra.sweep.dir={sweep}", "sweep.resume=true", cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("sweep.resume: done already in") == 2
    for name, files in finished.items():
        assert snapshot(sweep / name) == files, name  # not one byte of a finished job's dir changed
    sizes = hidden_sizes(sweep)
    assert sorted(named for named, _ in sizes.values()) == [1, 2, 5]
    assert all(named == trained for named, trained in sizes.values()), sizes  # no dir shows another job's result

    # A shared setting changed between the commands would put other results under these names: refused.
    before = snapshot(sweep)
    changed = command_here(
        "rnnlab",
        "-m",
        *TINY,
        "model.hidden_size=1,2,5",
        "task.position=1",
        f"hydra.sweep.dir={sweep}",
        "sweep.resume=true",
        cwd=tmp_path,
    )
    one_line_error(changed, "where this command has task.position=1")
    # ... and so is a new sweep into the same dir without sweep.resume=true.
    one_line_error(
        command_here("rnnlab", "-m", *TINY, "model.hidden_size=2", f"hydra.sweep.dir={sweep}", cwd=tmp_path),
        "holds a sweep already: add sweep.resume=true",
    )
    assert snapshot(sweep) == before


@pytest.mark.slow  # a whole sweep or two processes: the slow tier (make test-slow)
def test_a_resumed_experiment_sweep_finds_the_jobs_its_params_made(tmp_path, command_here):
    """An experiment's hydra.sweeper.params make its jobs: resuming finds each of them, and adds no dir."""
    sweep = tmp_path / "sweep"
    args = [
        "-m",
        "experiment=addition_fixed_lengths",
        "debug=tiny",
        "logger=none",
        "task.test_lengths=[8]",
        f"hydra.sweep.dir={sweep}",
    ]
    first = command_here("rnnlab", *args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    finished = {job.name: snapshot(job) for job in sweep.iterdir() if job.is_dir()}
    assert len(finished) == 4  # task.train_lengths: [3,3], [5,5], [10,10], [1,20]
    again = command_here("rnnlab", *args, "sweep.resume=true", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("sweep.resume: done already in") == 4
    assert {job.name: snapshot(job) for job in sweep.iterdir() if job.is_dir()} == finished


@pytest.mark.slow  # a whole sweep or two processes: the slow tier (make test-slow)
def test_an_interrupted_sweep_job_continues_from_its_last_pt(tmp_path, command_here):
    sweep = tmp_path / "sweep"
    args = [
        "-m",
        "task=temporal_order",
        "model.hidden_size=16,17",
        "logger=none",
        "task.stop_window=0",
        "task.val_size=32",
        "task.test_size=32",
        "trainer.max_steps=60",
        "trainer.checkpoint_every=5",
        "trainer.progress=false",
        f"hydra.sweep.dir={sweep}",
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
    while not list(sweep.glob("0_*/last.pt")) and time.time() < deadline:  # the first job's first 5 steps are done
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    (job,) = sweep.glob("0_*")
    interrupted = json.loads((job / "report.json").read_text())
    assert interrupted["status"] == "interrupted" and 0 < interrupted["train"]["steps"] < 60

    again = command_here("rnnlab", *args, "sweep.resume=true", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    log = (job / "rnnlab.log").read_text()
    assert f"resuming from {job / 'last.pt'} at step {interrupted['train']['steps']}" in log  # not from step 0
    report = json.loads((job / "report.json").read_text())
    assert report["status"] == "ok" and report["train"]["steps"] == 60
    assert report["train"]["wall_s"] > interrupted["train"]["wall_s"]  # the whole run's time, both sessions
    assert len([p for p in sweep.iterdir() if p.is_dir()]) == 2  # the second job ran in a dir of its own


def test_a_run_dir_that_holds_a_run_is_refused_and_a_refused_resume_changes_nothing(tmp_path, command_here):
    run_dir = tmp_path / "run"
    assert command_here("rnnlab", *TINY, f"hydra.run.dir={run_dir}", cwd=tmp_path).returncode == 0
    before = snapshot(run_dir)
    one_line_error(
        command_here("rnnlab", *TINY, f"hydra.run.dir={run_dir}", cwd=tmp_path), "holds another run: add resume=true"
    )
    one_line_error(
        command_here("rnnlab", *TINY, "task=binary_addition", f"hydra.run.dir={run_dir}", "resume=true", cwd=tmp_path),
        "resume=true: task differs from the checkpoint's",
    )
    assert snapshot(run_dir) == before  # not even .hydra/config.yaml or overrides.yaml was rewritten


@pytest.mark.slow  # a whole sweep or two processes: the slow tier (make test-slow)
def test_two_processes_never_write_one_run_dir(tmp_path, command_here):
    run_dir = tmp_path / "run"
    # The first process holds the run dir (its lock) while the second starts into the same dir.
    args = [
        *TINY,
        "trainer.max_steps=100000",
        "task.stop_window=0",
        "scheduler=constant",
        "trainer.checkpoint_every=5",
        f"hydra.run.dir={run_dir}",
    ]
    holder = subprocess.Popen(
        [*entry_point("rnnlab"), *args],
        cwd=tmp_path,
        env={**ENV, "HOME": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 120
        while not (run_dir / "last.pt").exists() and time.time() < deadline:
            time.sleep(0.05)
        before = snapshot(run_dir / ".hydra")
        # a resume that would be allowed, were the run not live
        second = command_here("rnnlab", *args, "resume=true", cwd=tmp_path)
        one_line_error(second, f"is being written by another rnnlab process (pid {holder.pid})")
        assert snapshot(run_dir / ".hydra") == before
    finally:
        holder.send_signal(signal.SIGINT)
        holder.communicate(timeout=120)


def test_a_glob_sweep_is_expanded_over_every_option_of_a_group(tmp_path, capsys):
    """-m model=glob(*) is valid Hydra: the up-front check lists the group's options (it said "ConfigLoader is not
    set"), and checks each job like any other."""
    first = check_command_line(["-m", *TINY, "task=binary_addition", "model=glob(*)", f"hydra.sweep.dir={tmp_path}/s"])
    assert first is not None and first.model.cell == "gru"  # the first of gru, lru, lstm, ...
    with pytest.raises(SystemExit):  # index_recall reads out once per sequence: scratch_rnn's job is refused
        check_command_line(["-m", *TINY, "model=glob(*)", f"hydra.sweep.dir={tmp_path}/s"])
    assert "model=scratch_rnn reads out at every step" in capsys.readouterr().err


def test_a_full_disk_while_writing_the_report_is_one_line_and_keeps_what_was_written(
    tmp_path, command_here, monkeypatch
):
    import errno

    import rnnlab.files

    run_dir = tmp_path / "run"
    real = rnnlab.files.write_atomic

    def full_disk(path, data):  # report.md cannot be written: the disk filled up after training
        if str(path).endswith("report.md"):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data)

    monkeypatch.setattr(rnnlab.files, "write_atomic", full_disk)
    result = command_here("rnnlab", *TINY, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(f"rnnlab: failed: cannot write {run_dir / 'report.md'} (No space left on device)")
    assert (run_dir / "last.pt").exists() and not list(run_dir.glob(".*.tmp"))  # the trained weights are kept
