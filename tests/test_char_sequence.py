"""The char-sequence task: vocabulary, teacher forcing, generation from a prompt, through the runner."""

from __future__ import annotations

import pytest
import torch

from conftest import CPU, compose_config
from rnnlab.config import ConfigError
from rnnlab.runner import build_run, resolve_device, run
from rnnlab.tasks.base import seeded
from rnnlab.tasks.char_sequence import CharSequence

COMMON = dict(val_size=1, test_size=1, stop_window=0)


def task(text="Acknowledgement", **kwargs):
    return CharSequence(**{**dict(text=text, file=None, prompt=None, temperature=0.0, window=100, **COMMON), **kwargs})


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
    cfg = tiny_config("task=char_sequence", f"model={model}", "trainer.max_steps=600", "task.stop_window=50",
                      "task.val_size=1", "task.test_size=1", *optimizer)
    report = run(cfg, tmp_path)
    assert report["model"] == model
    assert report["test"]["generated"] == "Acknowledgement" and report["test"]["exact"] is True
    assert report["train"]["stopped_early"]


def test_generation_from_a_longer_prompt_and_sampling_are_seeded(tiny_config, tmp_path):
    cfg = tiny_config("task=char_sequence", "task.text=edgement", "task.prompt=edg", "model.hidden_size=5",
                      "trainer.max_steps=600", "task.stop_window=50", "task.val_size=1", "task.test_size=1")
    report = run(cfg, tmp_path)
    assert report["test"]["generated"].startswith("edg") and len(report["test"]["generated"]) == len("edgement")
    t, model, *_ = build_run(compose_config("task=char_sequence", "task.temperature=1.5"), CPU)
    assert t.generate(model, CPU, 30) == t.generate(model, CPU, 30)  # sampling is seeded
