"""Tiny runs through run(): they learn above chance, repeat exactly from a seed, and write their reports."""

from __future__ import annotations

import json

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from rnnlab.runner.run import run
from rnnlab.training.state import RecentSequences

REPORT_KEYS = {"status", "task", "model", "loss", "params", "train", "test"}
TRAIN_KEYS = {"steps", "sequences_seen", "wall_s", "samples_per_s", "stopped_early"}


def test_addition_learns_and_writes_every_report(tiny_config, tmp_path):
    cfg = tiny_config(
        "task=binary_addition",
        "model.hidden_size=16",
        "trainer.max_steps=300",
        "trainer.batch_size=64",
        "task.train_lengths=[1,8]",
        "task.test_lengths=[8,40]",
        "logger=tensorboard",
    )
    report = run(cfg, tmp_path)
    assert REPORT_KEYS <= set(report) and TRAIN_KEYS <= set(report["train"])
    assert report["status"] == "ok"
    assert report["test"]["bit_acc"] > 0.9  # chance is 0.5
    assert set(report["bit_accuracy_by_length"]) == {"8", "40"}
    assert json.loads((tmp_path / "report.json").read_text()) == report
    assert "bit_acc" in (tmp_path / "report.md").read_text()
    lines = (tmp_path / "bit_accuracy.csv").read_text().splitlines()
    assert lines[0] == "length,bit_acc,seq_acc" and [row.split(",")[0] for row in lines[1:]] == ["8", "40"]
    assert (tmp_path / "bit_accuracy.png").read_bytes()[:4] == b"\x89PNG"

    events = EventAccumulator(str(tmp_path), size_guidance={"images": 0, "tensors": 0}).Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"train/loss", "train/bit_acc", "train/lr", "val/bit_acc", "test/bit_acc", "test/seq_acc"} <= scalars
    assert "figures/bit_accuracy" in events.Tags()["images"]
    assert not set(events.Tags()["images"]) & set(events.Tags()["scalars"])  # one tag, one TensorBoard plugin
    # TensorBoard fits an image to a ~330 px card: the figure is drawn there at 0.62 of the file's inches (the same
    # point sizes), so its legend stays readable; the file (120 dpi) keeps its size
    shown = events.Images("figures/bit_accuracy")[-1]
    file_width_at_100_dpi = int.from_bytes((tmp_path / "bit_accuracy.png").read_bytes()[16:20], "big") * 100 / 120
    assert 0.55 < shown.width / file_width_at_100_dpi < 0.7 and shown.width < 450
    # Per-length test results and the best validation value are scalars of their own, beside the summary table.
    assert {"test/bit_acc@8", "test/bit_acc@40", "test/seq_acc@40", "val/best_bit_acc"} <= scalars
    assert events.Scalars("test/bit_acc@40")[0].value == pytest.approx(report["test_by_length"]["40"]["bit_acc"])
    # No experiment summary of its own (it would hide other runs' columns): TensorBoard infers it from every run.
    hparams = events.PluginTagToContent("hparams")
    assert set(hparams) == {"_hparams_/session_start_info", "_hparams_/session_end_info"}
    start = plugin_data_pb2.HParamsPluginData.FromString(hparams["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["model.hidden_size"].number_value == 16
    assert start.hparams["task"].string_value == "binary_addition"
    assert start.hparams["model.bidirectional"].WhichOneof("kind") == "bool_value"
    assert start.hparams["task.train_lengths"].string_value == "[1,8]"
    assert start.hparams["model.params"].number_value == report["params"]
    assert {"test/samples", "test/summary"} <= {t.split("/text_summary")[0] for t in events.Tags()["tensors"]}


def test_a_report_records_its_setup_and_shows_its_plots(tiny_config, tmp_path):
    cfg = tiny_config(
        "task=binary_addition",
        "model=gru",
        "model.hidden_size=6",
        "optimizer=sgd",
        "optimizer.lr=0.05",
        "task.test_lengths=[4,12]",
        "trainer.batch_size=16",
    )
    report = run(cfg, tmp_path)
    setup = report["setup"]
    assert setup["model"] == {
        "name": "gru",
        "cell": "gru",
        "hidden_size": 6,
        "num_layers": 1,
        "dropout": 0.0,
        "bidirectional": False,
        "attention": "none",
        "params": report["params"],
    }
    assert setup["optimizer"]["name"] == "sgd" and setup["optimizer"]["lr"] == 0.05
    assert setup["trainer"]["batch_size"] == 16 and setup["task"]["test_lengths"] == [4, 12]
    assert report["run"] == "binary_addition · gru h=6 · cross_entropy"
    text = (tmp_path / "report.md").read_text()
    assert text.startswith("# binary_addition · gru h=6 · cross_entropy\n")
    assert "optimizer: sgd (lr=0.05" in text and "batch size 16" in text
    # Addition's by-length table gives bit and whole-sum accuracy, and the report shows its plot.
    assert "| length | bit accuracy | whole-sequence accuracy |" in text
    assert (
        f"| 12 | {report['test_by_length']['12']['bit_acc']:.4f} | {report['test_by_length']['12']['seq_acc']:.4f} |"
        in text
    )
    assert "![bit accuracy](bit_accuracy.png)" in text and (tmp_path / "bit_accuracy.png").exists()


def test_index_recall_learns_above_chance(tiny_config, tmp_path):
    cfg = tiny_config(
        "task=index_recall",
        "model=gru",
        "model.hidden_size=16",
        "trainer.max_steps=300",
        "task.train_lengths=[3,5]",
        "task.test_lengths=[3,5]",
    )
    report = run(cfg, tmp_path)
    assert report["test"]["acc"] > 0.3  # chance is 0.1
    assert set(report["accuracy_by_length"]) == {"3", "5"}
    assert report["test"]["n"] == 64


def test_an_rnn_with_attention_learns_temporal_order_and_looks_at_x_and_y(tiny_config, tmp_path):
    """The plain RNN stays at chance on this problem; with attention it learns it in a few hundred steps."""
    cfg = tiny_config(
        "task=temporal_order",
        "task.variant=6a",
        "model=rnn",
        "model.attention=additive",
        "trainer.max_steps=250",
        "trainer.eval_every=50",
        "task.test_size=200",
        "logger=tensorboard",
    )
    report = run(cfg, tmp_path)
    assert report["test"]["acc"] > 0.8  # chance is 0.25
    assert report["test"]["attention_on_target"] > 0.5  # 2 of ~105 steps: 0.02 if spread evenly
    assert (tmp_path / "attention.png").read_bytes()[:4] == b"\x89PNG" and "attention" in report["figures"]


def test_mean_pooling_reports_no_attention_it_does_not_learn(tiny_config, tmp_path):
    """The mean puts the same weight on every step: a figure or a share on target would say nothing about it."""
    report = run(
        tiny_config("task=temporal_order", "model=mingru", "model.hidden_size=8", "model.attention=mean"), tmp_path
    )
    assert report["status"] == "ok" and report["test"]["acc"] >= 0
    assert "attention_on_target" not in report["test"] and "attention" not in report["figures"]
    assert not (tmp_path / "attention.png").exists()
    assert (tmp_path / "report.md").read_text().startswith("# temporal_order 6b · 2×mingru h=8 + mean pooling ·")


def test_same_seed_gives_identical_reports(tiny_config, tmp_path):
    overrides = ("task=binary_addition", "model=gru", "model.hidden_size=8", "trainer.max_steps=30")
    first = run(tiny_config(*overrides, "seed=3"), tmp_path / "a")
    again = run(tiny_config(*overrides, "seed=3"), tmp_path / "b")
    other = run(tiny_config(*overrides, "seed=4"), tmp_path / "c")
    assert first["test"] == again["test"] and first["val"] == again["val"]
    assert first["val"]["loss"] != other["val"]["loss"]


def test_early_stop_at_the_task_criterion(tiny_config, tmp_path):
    """A trivially easy addition (1-bit sums) meets 'last 256 sequences all right' long before max_steps."""
    cfg = tiny_config(
        "task=binary_addition",
        "task.train_lengths=[1,1]",
        "task.test_lengths=[1]",
        "task.stop_window=256",
        "trainer.max_steps=2000",
        "trainer.batch_size=64",
        "optimizer.lr=0.05",
    )
    report = run(cfg, tmp_path)
    assert report["train"]["stopped_early"] is True
    assert report["train"]["steps"] < 2000
    # the criterion needs the last 256 sequences right, so at least that many were seen; batches were full
    assert 256 <= report["train"]["sequences_seen"] == 64 * report["train"]["steps"]


def test_recent_sequences_window():
    window = RecentSequences(100)
    for _ in range(3):
        window.add(40, 0)
    assert window.all_right  # 120 >= 100 sequences, none wrong
    window.add(40, 1)
    assert not window.all_right
    for _ in range(3):
        window.add(40, 0)
    assert window.all_right  # the wrong batch fell out of the last 100
    assert not RecentSequences(0).all_right  # 0 = never


@pytest.fixture
def restore_threads():
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_a_run_takes_the_threads_its_launcher_gave_it(monkeypatch, tiny_config, tmp_path, restore_threads):
    import torch

    torch.set_num_threads(2)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # what Ray sets for a job with num_cpus=1; torch read it at import
    run(tiny_config("task=binary_addition", "trainer.max_steps=2"), tmp_path)
    assert torch.get_num_threads() == 1


def test_threads_on_the_command_line_win(monkeypatch, tiny_config, tmp_path, restore_threads):
    import torch

    from rnnlab.training import threads

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(threads, "cores", lambda: 4)
    run(tiny_config("task=binary_addition", "trainer.max_steps=2", "threads=3"), tmp_path / "a")
    assert torch.get_num_threads() == 3
    # more threads than cores would only wait for each other: capped, with a warning in the log
    run(tiny_config("task=binary_addition", "trainer.max_steps=2", "threads=999"), tmp_path / "b")
    assert torch.get_num_threads() == 4


def test_auto_threads_one_for_small_models_all_cores_for_large_ones_while_nothing_competes(
    monkeypatch, restore_threads
):
    import torch

    from rnnlab.models.recurrent import RecurrentNet
    from rnnlab.training import threads

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "cores", lambda: 2)
    cpu = torch.device("cpu")
    small = RecurrentNet(input_size=8, output_size=8, per_step=False, cell="lstm", hidden_size=32)
    large = RecurrentNet(input_size=28, output_size=10, per_step=False, cell="lstm", hidden_size=128, num_layers=2)
    assert threads.work_per_step(small, 32) < threads.LARGE <= threads.work_per_step(large, 128)

    monkeypatch.setattr(threads, "others_running", lambda: 0)  # a quiet machine
    threads.ThreadPolicy.for_run("auto", threads.work_per_step(small, 32), cpu)
    assert torch.get_num_threads() == 1
    policy = threads.ThreadPolicy.for_run("auto", threads.work_per_step(large, 128), cpu)
    assert torch.get_num_threads() == 2
    monkeypatch.setattr(threads, "others_running", lambda: 1)  # another process starts competing
    policy.adapt()
    assert torch.get_num_threads() == 2  # looked at again only every RECHECK_S seconds
    policy._checked -= threads.RECHECK_S
    policy.adapt()
    assert torch.get_num_threads() == 1


def test_bf16_autocast_computes_the_forward_pass_in_bf16_keeps_fp32_weights_and_learns_as_fp32_does(
    tiny_config, tmp_path
):
    import torch

    from rnnlab.runner.parts import build_run
    from rnnlab.training.loop import train_step

    def losses(autocast):
        torch.manual_seed(0)
        # The rnn cell: its bf16 kernel exists on every CPU (the LSTM's only with AVX-512, see the test below)
        parts = build_run(tiny_config("task=index_recall", "model=rnn", "model.hidden_size=16"), torch.device("cpu"))
        seen = []
        parts.model.readout.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
        batch = parts.task.make_batch(64, torch.Generator().manual_seed(0), torch.device("cpu"))
        values = [
            train_step(parts.model, parts.loss_fn, parts.optimizer, parts.scheduler, batch, 1.0, autocast)[0]
            for _ in range(60)
        ]
        assert all(p.dtype == torch.float32 for p in parts.model.parameters())
        return values, set(seen)

    fp32, fp32_dtypes = losses(None)
    bf16, bf16_dtypes = losses(torch.bfloat16)
    assert fp32_dtypes == {torch.float32} and bf16_dtypes == {torch.bfloat16}
    assert bf16[-1] < 0.7 * bf16[0] and bf16[-1] == pytest.approx(fp32[-1], rel=0.1)  # one batch, learned alike
    report = run(
        tiny_config(
            "task=index_recall",
            "model=gru",
            "model.hidden_size=16",
            "trainer.max_steps=300",
            "task.train_lengths=[3,5]",
            "task.test_lengths=[3,5]",
            "trainer.precision=bf16",
        ),
        tmp_path,
    )
    assert report["precision"] == "bf16" and report["setup"]["trainer"]["precision"] == "bf16"
    assert "- device: cpu, precision bf16" in (tmp_path / "report.md").read_text()
    assert report["test"]["acc"] > 0.3  # chance is 0.1


def test_bf16_with_an_lstm_is_refused_up_front_where_the_cpu_has_no_bf16_lstm_kernel(monkeypatch, tiny_config):
    import torch

    from rnnlab.errors import ConfigError
    from rnnlab.runner.parts import build_parts
    from rnnlab.training import precision

    cpu = torch.device("cpu")
    monkeypatch.setattr(precision, "cpu_runs_lstm_in_bf16", lambda: False)  # an AVX2-only CPU (Zen 1-3)
    with pytest.raises(ConfigError, match="trainer.precision=bf16: this CPU has no bf16 LSTM kernel"):
        build_parts(tiny_config("trainer.precision=bf16"), cpu, weights=False)
    for fine in (["model=gru", "trainer.precision=bf16"], ["trainer.precision=fp32"]):
        build_parts(tiny_config(*fine), cpu, weights=False)  # no LSTM kernel needed, or no bf16
    monkeypatch.setattr(precision, "cpu_runs_lstm_in_bf16", lambda: True)
    build_parts(tiny_config("trainer.precision=bf16"), cpu, weights=False)


def test_the_bf16_lstm_probe_agrees_with_the_kernel():
    import torch

    from rnnlab.training.precision import cpu_runs_lstm_in_bf16

    lstm = torch.nn.LSTM(3, 4, batch_first=True)
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out, _ = lstm(torch.randn(2, 5, 3))
        works = out.dtype == torch.bfloat16
    except RuntimeError:
        works = False
    assert cpu_runs_lstm_in_bf16() == works


@pytest.mark.parametrize(
    "avx512_bf16, amx, expected", [(True, False, "bf16"), (False, True, "bf16"), (False, False, None)]
)
def test_auto_precision_is_bf16_only_where_the_cpu_multiplies_bf16_in_hardware(monkeypatch, avx512_bf16, amx, expected):
    import torch

    from rnnlab.training.precision import autocast_dtype

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    cpu = torch.device("cpu")
    assert autocast_dtype("auto", cpu) == (torch.bfloat16 if expected else None)
    assert autocast_dtype("fp32", cpu) is None and autocast_dtype("bf16", cpu) == torch.bfloat16
    assert autocast_dtype("auto", torch.device("cuda")) is None  # not measured on a GPU yet: auto stays at fp32


def test_auto_precision_is_resolved_once_and_the_loop_and_the_report_agree(monkeypatch, tiny_config, tmp_path):
    """trainer.precision=auto is worked out once per run (training/settings.py); the loop autocasts to what the
    report then says, whatever a second look at the machine would answer."""
    import torch

    from rnnlab.training import loop, settings

    answers = iter([torch.bfloat16])  # as on a CPU with AVX512-BF16; a second question would raise StopIteration
    monkeypatch.setattr(settings, "autocast_dtype", lambda setting, device: next(answers))
    used = []
    real_step = loop.train_step

    def recording_step(*args, **kwargs):
        used.append(args[-1] if len(args) == 7 else kwargs.get("autocast"))
        return real_step(*args, **kwargs)

    monkeypatch.setattr(loop, "train_step", recording_step)
    cfg = tiny_config("task=index_recall", "model=mingru", "trainer.precision=auto", "trainer.max_steps=10")
    report = run(cfg, tmp_path)
    assert report["precision"] == "bf16" and report["setup"]["trainer"]["precision"] == "auto"
    assert used and set(used) == {torch.bfloat16}
