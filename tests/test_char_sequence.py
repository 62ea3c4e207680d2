"""The char-sequence task: vocabulary, teacher forcing, generation from a prompt, through the runner."""

from __future__ import annotations

import pytest
import torch
from conftest import CPU, TINY, compose_config

from rnnlab.errors import ConfigError
from rnnlab.models.recurrent import RecurrentNet
from rnnlab.runner.parts import build_run, resolve_device
from rnnlab.runner.run import run
from rnnlab.tasks.base import seeded
from rnnlab.tasks.char_sequence import CharSequence

COMMON = dict(val_size=1, test_size=1, stop_window=0)


def task(text="Acknowledgement", **kwargs):
    settings = dict(text=text, file=None, prompt=None, temperature=0.0, window=100, generate_chars=2000, **COMMON)
    return CharSequence(**{**settings, **kwargs})


def test_targets_are_the_next_characters():
    t = task()
    assert t.vocabulary == sorted(set("Acknowledgement")) and t.input_size == t.num_classes == len(t.vocabulary)
    batch = t.make_batch(4, seeded(0, CPU), CPU)
    inputs = "".join(t.vocabulary[i] for i in batch.x[0].argmax(-1).tolist())
    targets = "".join(t.vocabulary[i] for i in batch.y[0].tolist())
    assert inputs == "Acknowledgemen" and targets == "cknowledgement"


def test_a_long_text_is_trained_in_random_windows(tmp_path):
    text = "the quick brown fox jumps over the lazy dog. " * 5
    (tmp_path / "t.txt").write_text(text)
    t = task(text="ignored", file=str(tmp_path / "t.txt"), window=10)
    batch = t.make_batch(64, seeded(0, CPU), CPU)
    assert batch.x.shape == (64, 10, len(set(text)))
    for i in range(64):
        window = "".join(t.vocabulary[c] for c in batch.x[i].argmax(-1).tolist()) + t.vocabulary[int(batch.y[i, -1])]
        assert window in text


def test_bad_prompt_file_and_model_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"task.prompt=Z: characters \['Z'\] are not in the text"):
        task(prompt="Z")
    with pytest.raises(ConfigError, match="cannot read it as UTF-8"):
        task(file=str(tmp_path / "missing.txt"))
    with pytest.raises(ConfigError, match="model.bidirectional=true is not allowed for char_sequence"):
        build_run(compose_config("task=char_sequence", "model.bidirectional=true"), resolve_device("cpu"))


@pytest.mark.parametrize("model", ["lstm", "scratch_rnn"])
def test_a_word_is_learned_and_regenerated_from_its_first_letter(tiny_config, tmp_path, model):
    optimizer = ["optimizer=adagrad", "optimizer.lr=0.1"] if model == "scratch_rnn" else []
    cfg = tiny_config(
        "task=char_sequence",
        f"model={model}",
        "trainer.max_steps=600",
        "task.stop_window=50",
        "task.val_size=1",
        "task.test_size=1",
        *optimizer,
    )
    report = run(cfg, tmp_path)
    assert report["model"] == model
    assert report["test"]["generated"] == "Acknowledgement" and report["test"]["exact"] is True
    assert report["train"]["stopped_early"]


def test_generation_from_a_longer_prompt_and_sampling_are_seeded(tiny_config, tmp_path):
    cfg = tiny_config(
        "task=char_sequence",
        "task.text=edgement",
        "task.prompt=edg",
        "model.hidden_size=5",
        "trainer.max_steps=600",
        "task.stop_window=50",
        "task.val_size=1",
        "task.test_size=1",
    )
    report = run(cfg, tmp_path)
    assert report["test"]["generated"].startswith("edg") and len(report["test"]["generated"]) == len("edgement")
    t, model, *_ = build_run(compose_config("task=char_sequence", "task.temperature=1.5"), CPU)
    assert t.generate(model, CPU, 30) == t.generate(model, CPU, 30)  # sampling is seeded


@pytest.mark.parametrize("model", ["lstm", "scratch_rnn"])
def test_generation_one_step_at_a_time_equals_reading_the_whole_text_so_far(model):
    """model.step keeps the state: the same characters as a full forward pass over the growing text each time."""
    t, net, *_ = build_run(compose_config("task=char_sequence", f"model={model}", "model.hidden_size=6"), CPU)
    codes = [t.index[t.prompt]]
    with torch.no_grad():
        for _ in range(len(t.text) - 1):  # the reference: read everything again for every character
            x = torch.nn.functional.one_hot(torch.tensor(codes), t.num_classes).float()[None]
            codes.append(int(net(x, torch.tensor([len(codes)]))[0, -1].argmax()))
    assert t.generate(net, CPU) == "".join(t.vocabulary[c] for c in codes)


def test_a_long_text_is_generated_up_to_generate_chars_and_tested_on_windows_over_all_of_it(tmp_path):
    words = [f"word{i % 97} " for i in range(20_000)]
    (tmp_path / "long.txt").write_text("".join(words))  # ~150 KB
    t = task(file=str(tmp_path / "long.txt"), window=32, generate_chars=40)
    net = RecurrentNet(t.input_size, t.num_classes, per_step=True, cell="gru", hidden_size=4)
    generated = t.generate(net, CPU)
    assert len(generated) == 1 + 40  # the prompt, then task.generate_chars characters
    (test,) = t.test_sets(CPU).values()
    assert test.x.shape == (512, 32, t.num_classes)  # windows, not one giant sequence
    last = "".join(t.vocabulary[c] for c in test.y[-1].tolist())
    assert t.text.endswith(last)  # the windows reach the end of the text


def test_a_relative_text_file_is_found_from_where_the_command_started_also_under_chdir(tmp_path, command_here):
    (tmp_path / "word.txt").write_text("ab|cd\nab|cd")  # a | and a line break: report.md's table must hold them
    result = command_here(
        "rnnlab",
        "task=char_sequence",
        "task.file=word.txt",
        "task.prompt='ab|'",
        "hydra.job.chdir=true",
        *TINY,
        f"hydra.run.dir={tmp_path}/run",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    generated = [line for line in (tmp_path / "run" / "report.md").read_text().splitlines() if "| generated |" in line]
    assert len(generated) == 1 and generated[0].startswith("| generated | ab\\|")  # the prompt's | escaped
    assert generated[0].count(" | ") == 1  # one row, two cells: nothing broke the table
