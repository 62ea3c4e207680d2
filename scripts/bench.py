"""Benchmark: training throughput quiet and beside a competing process, data generation, the hand-written
DataLoader baseline, the runner's overhead, the whole command and a parallel sweep, and time to target, on the
current device. Writes outputs/bench/bench.md and bench.json.

    make bench                          # everything (about 15 minutes on a 2-core CPU)
    .venv/bin/python scripts/bench.py --quick      # a few minutes: fewer steps, no MNIST time-to-target
    .venv/bin/python scripts/bench.py --device cuda

Every rnnlab row goes through the runner's own code (build_run, fit, run, the console scripts). MNIST uses the
real files when found (task.root, $RNNLAB_DATA or ../shared/data), else random images written as idx files.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from bench_allocator import allocator_rows
from bench_command import competing_process, sweep_speedup, whole_command
from bench_machine import machine, sync
from bench_mnist import (
    data_path_rates,
    dataloader_baseline,
    mnist_root,
    random_mnist_root,
)
from bench_report import markdown
from bench_scan import scan_seconds
from hydra import compose, initialize_config_module

from rnnlab.reporting.logger import NullLogger, TensorBoardLogger
from rnnlab.runner.parts import build_run, resolve_device
from rnnlab.runner.run import run
from rnnlab.tasks.base import seeded
from rnnlab.training.allocator import reuse_freed_memory
from rnnlab.training.loop import fit
from rnnlab.training.threads import ThreadPolicy, work_per_step

GATES = {"rnn": 1, "gru": 3, "lstm": 4}
REPO = Path(__file__).resolve().parents[1]
DEFAULT_TASKS = {
    "binary_addition lstm-32": ["task=binary_addition"],
    "index_recall lstm-32": ["task=index_recall"],
    "temporal_order lstm-32": ["task=temporal_order"],
}


def config(*overrides: str):
    with initialize_config_module("rnnlab.conf", version_base="1.3"):
        return compose("config", overrides=["logger=none", "trainer.progress=false", *overrides])


def generation_rate(task_name: str, device: torch.device, seconds: float, *overrides: str) -> float:
    task, *_ = build_run(config(f"task={task_name}", *overrides), device)
    generator, n = seeded(0, device), 4096
    task.make_batch(n, generator, device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        task.make_batch(n, generator, device)
        count += n
    sync(device)
    return count / (time.perf_counter() - start)


def matmul_gflop(cell: str, hidden: int, inputs: int, steps: int, layers: int = 1, directions: int = 1) -> float:
    """FLOPs of the recurrent matmuls for one sequence, forward + backward (backward ~ 2x forward)."""
    per_step = 2 * GATES[cell] * hidden * (inputs + hidden)
    deeper = 2 * GATES[cell] * hidden * (hidden * directions + hidden) * (layers - 1)
    return 3 * steps * directions * (per_step + deeper) / 1e9


def throughput(name: str, device: torch.device, steps: int, overrides: list[str], compiled: bool = False) -> dict:
    """Sequences/s of the runner's own training loop over `steps` steps (early stop off, logging off)."""
    cfg = config(*overrides, f"trainer.max_steps={steps}", "trainer.early_stop=false", "trainer.eval_every=1000000")
    _runner_loop(cfg, device, False, name, compiled)  # warm-up pass (first-call costs)
    result, task = _runner_loop(cfg, device, False, name, compiled)
    batch = task.make_batch(2, seeded(0, device), device)
    cell, hidden = cfg.model.get("cell"), cfg.model.hidden_size
    gflop = (
        matmul_gflop(
            cell, hidden, task.input_size, batch.x.shape[1], cfg.model.num_layers, 2 if cfg.model.bidirectional else 1
        )
        if cell in GATES
        else None
    )
    return {
        "sequences_per_s": result.samples_per_s,
        "gflops": gflop and result.samples_per_s * gflop,
        "wall_s": result.wall_s,
        "steps": result.steps,
        "batch_size": cfg.trainer.batch_size,
        "threads": torch.get_num_threads(),
    }


def _runner_loop(cfg, device: torch.device, logging_on: bool, name: str, compiled: bool = False):
    """One fit() of a fresh run as the runner starts it (its thread policy included), with TensorBoard and the
    progress bar on or off; its result and its task."""
    parts = build_run(cfg, device)
    parts.task.val_size = 64  # validation is not what is measured
    if compiled:
        parts = parts._replace(model=torch.compile(parts.model))
    threads = ThreadPolicy.for_run(cfg.threads, work_per_step(parts.model, cfg.trainer.batch_size), device)
    out_dir = REPO / "outputs" / "bench" / "events" / name
    logger = TensorBoardLogger(out_dir) if logging_on else NullLogger(out_dir)
    trainer = cfg.trainer.copy()
    trainer.progress = logging_on
    with open(os.devnull, "w") as devnull:
        stderr, sys.stderr = sys.stderr, _Terminal(devnull)  # tqdm draws its bar only on a terminal: pretend
        try:
            result = fit(parts, trainer, device, 0, logger, threads=threads)
        finally:
            sys.stderr = stderr
    logger.close()
    return result, parts.task


class _Terminal:
    """A file that says it is a terminal, so that the progress bar is drawn (into it) as a user would see it."""

    def __init__(self, file):
        self.file = file

    def isatty(self) -> bool:
        return True

    def __getattr__(self, name):
        return getattr(self.file, name)


def runner_overhead(device: torch.device, steps: int, repeats: int) -> dict:
    """The runner's own share of each step on the smallest model (temporal order, LSTM-32, batch 32), where it
    shows most: loop time over the time of the training work (batch, forward, backward, clip, step), both
    measured inside the same loop, so the machine's swings (20% between runs on this 2-core VM) cancel.
    The default logging: TensorBoard every 10 steps and the progress bar."""
    cfg = config("task=temporal_order", f"trainer.max_steps={steps}", "trainer.eval_every=1000000")
    result = {}
    for name, logging_on in (("logging off", False), ("default logging", True)):
        runs = [_runner_loop(cfg, device, logging_on, "overhead")[0] for _ in range(repeats)]
        shares = sorted(100 * (r.loop_s / r.work_s - 1) for r in runs)
        result[name] = {
            "overhead_pct": shares[len(shares) // 2],
            "ms_per_step": 1000 * sorted(r.loop_s for r in runs)[len(runs) // 2] / steps,
        }
    return result


def tried_speedups(device: torch.device, mnist: list[str], sequences: int, repeats: int = 3) -> dict:
    """What was tried on MNIST LSTM 2x128: larger batches, torch.compile. The same number of sequences for each,
    interleaved repeats, the median kept."""
    settings = {f"batch {b}": (b, False) for b in (128, 256, 512)}
    settings["batch 128, torch.compile"] = (128, True)
    rates: dict = {name: [] for name in settings}
    for _ in range(repeats):
        for name, (batch, compiled) in list(settings.items()):
            try:
                rates[name].append(
                    throughput(
                        "tried",
                        device,
                        max(1, sequences // batch),
                        ["task=mnist", "model=lstm", *mnist, f"trainer.batch_size={batch}"],
                        compiled,
                    )["sequences_per_s"]
                )
            except Exception as err:  # no compiler toolchain, say: record it rather than stop the benchmark
                rates[name] = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
                del settings[name]
    return {
        name: {"sequences_per_s": sorted(r)[len(r) // 2]} if isinstance(r, list) else {"error": r}
        for name, r in rates.items()
    }


def time_to_target(device: torch.device, overrides: list[str], out: Path) -> dict:
    report = run(config(*overrides, f"device={device}"), out)
    return {
        "train_s": report["train"]["wall_s"],
        "sequences": report["train"]["sequences_seen"],
        "test": report["test"],
        **{k: v for k, v in report.items() if k.endswith("_by_length")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps, no MNIST time-to-target (a few minutes)")
    parser.add_argument("--no-mnist-target", action="store_true", help="skip MNIST time-to-target (~5 min on CPU)")
    parser.add_argument(
        "--only",
        choices=["modern"],
        help="one section: modern = the 784-step rows, the allocator and the scan (~10 min on a 2-core CPU)",
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=str(REPO / "outputs" / "bench"))
    args = parser.parse_args()
    logging.disable(logging.INFO)
    reuse_freed_memory()  # as the runner does (reuse_memory=true): every row measures what a run gets
    device = resolve_device(args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        root = mnist_root()
        results = measure(args, device, out, root or random_mnist_root(Path(scratch)), root is not None)
    name = f"bench-{args.only}" if args.only else "bench"  # a section alone leaves the whole table as it was
    (out / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / f"{name}.md").write_text(markdown(results))
    print(markdown(results))


def throughputs(device: torch.device, steps: int, mnist: list[str]) -> dict:
    """The default tasks and MNIST 2x128 for each cell on a quiet machine; on a CPU, again beside a competitor."""
    # fp32 rows, for the share of fp32 peak; then the MNIST default: bf16 autocast on a CPU that has it
    mnist_rows = {
        f"mnist rows {cell} 2x128": ["task=mnist", f"model={cell}", *mnist, "trainer.precision=fp32"]
        for cell in ("rnn", "lstm", "gru")
    }
    auto = {"mnist rows lstm 2x128 precision=auto": ["task=mnist", "model=lstm", *mnist, "trainer.precision=auto"]}
    runs = {**DEFAULT_TASKS, **mnist_rows, **auto}
    result = {"throughput": {name: throughput(name.replace(" ", "_"), device, steps, o) for name, o in runs.items()}}
    if device.type == "cpu":
        busy = {**DEFAULT_TASKS, "mnist rows lstm 2x128": runs["mnist rows lstm 2x128"]}
        with competing_process():
            result["busy"] = {name: throughput(name.replace(" ", "_"), device, steps, o) for name, o in busy.items()}
    return result


MODERN = ("lstm", "gru", "mingru", "minlstm", "lru")


def pixel_shape(mnist: list[str]) -> list[str]:
    """Pixel MNIST's shape for the modern rows: 784 steps, batch 128, width 128, 2 layers, fp32, threads pinned."""
    return [
        "task=mnist",
        "task.layout=pixels",
        *mnist,
        "trainer.batch_size=128",
        "model.hidden_size=128",
        "model.num_layers=2",
        "trainer.precision=fp32",
        f"threads={os.cpu_count()}",
    ]  # pinned: side by side


def modern_throughputs(device: torch.device, steps: int, mnist: list[str]) -> dict:
    """Training sequences/s at pixel-MNIST shape (784 steps, batch 128, width 128, 2 layers; each model's defaults
    otherwise), classic and modern cells side by side in one run."""
    shape = pixel_shape(mnist)
    rows = {model: throughput(f"modern_{model}", device, steps, [*shape, f"model={model}"]) for model in MODERN}
    # S6 scans expand x width x state_size features: at batch 128 its activations alone would take ~11 GB
    rows["s6 (batch 16)"] = throughput("modern_s6", device, steps, [*shape, "model=s6", "trainer.batch_size=16"])
    # the levers: no MLP (the cell alone in each block), and torch.compile fusing the elementwise work around the scan
    rows["mingru mlp_ratio=0"] = throughput(
        "modern_mingru_r0", device, steps, [*shape, "model=mingru", "model.mlp_ratio=0"]
    )
    for ratio in (2, 0):
        try:
            rows[f"mingru mlp_ratio={ratio}, torch.compile"] = throughput(
                f"modern_mingru_r{ratio}_compiled",
                device,
                steps,
                [*shape, "model=mingru", f"model.mlp_ratio={ratio}"],
                compiled=True,
            )
        except Exception as err:  # no compiler toolchain, say: record it rather than stop the benchmark
            rows[f"mingru mlp_ratio={ratio}, torch.compile"] = {"error": str(err).splitlines()[0][:200]}
    for row in rows.values():
        if "sequences_per_s" in row:
            row["vs_lstm"] = row["sequences_per_s"] / rows["lstm"]["sequences_per_s"]
    return rows


def modern_section(args, device: torch.device, mnist: list[str]) -> dict:
    print("modern models beside the classic cells at 784 steps ...", file=sys.stderr)
    section = {"modern": modern_throughputs(device, 2 if args.quick else 6, mnist)}
    if device.type == "cpu":  # glibc's allocator against the runner's, each in a process of its own
        section["allocator"] = allocator_rows(
            device.type, 2 if args.quick else 6, {m: [*pixel_shape(mnist), f"model={m}"] for m in ("lstm", "mingru")}
        )
    section["scan"] = scan_seconds(repeats=1 if args.quick else 3) if device.type == "cpu" else {}
    return section


def measure(args, device: torch.device, out: Path, root: str, real_mnist: bool) -> dict:
    mnist = [f"task.root={root}", "task.download=false"]
    steps = 20 if args.quick else 100
    results: dict = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": machine(device),
        "mnist_data": root if real_mnist else "random images (no MNIST files found)",
    }
    if args.only == "modern":
        return {**results, **modern_section(args, device, mnist)}
    print("data generation ...", file=sys.stderr)
    seconds = 0.5 if args.quick else 2.0
    results["generation"] = {
        "binary_addition (length 20)": generation_rate(
            "binary_addition", device, seconds, "task.train_lengths=[20,20]"
        ),
        "binary_addition (lengths 1-20)": generation_rate("binary_addition", device, seconds),
        "index_recall (lengths 3-10)": generation_rate("index_recall", device, seconds),
        "temporal_order (6b)": generation_rate("temporal_order", device, seconds),
    }
    print("training throughput, quiet and beside a competing process ...", file=sys.stderr)
    results.update(throughputs(device, steps, mnist))
    results.update(modern_section(args, device, mnist))
    print("hand-written DataLoader baseline ...", file=sys.stderr)
    one_layer = ["task=mnist", "model=lstm", *mnist, "model.num_layers=1", "model.dropout=0"]  # the baseline's model
    ours = throughput("mnist_lstm_1layer", device, steps, one_layer)
    baseline = dataloader_baseline(root, device, batches=steps)
    loader_only, slicing_only = data_path_rates(root, device, steps, build_run(config(*one_layer), device).task)
    results["dataloader"] = {
        "baseline_sequences_per_s": baseline,
        "rnnlab_sequences_per_s": ours["sequences_per_s"],
        "speedup": ours["sequences_per_s"] / baseline,
        "data_only_baseline_per_s": loader_only,
        "data_only_rnnlab_per_s": slicing_only,
        "data_only_speedup": slicing_only / loader_only,
    }
    print("runner overhead ...", file=sys.stderr)
    results["overhead"] = runner_overhead(device, steps * 2, 3 if args.quick else 5)
    if not args.quick:
        print("larger batches, torch.compile ...", file=sys.stderr)
        results["tried"] = tried_speedups(device, mnist, sequences=60 * 128)
    print("the whole command, a parallel sweep ...", file=sys.stderr)
    results["command"] = whole_command(repeats=1 if args.quick else 3)
    sweep = ["task=index_recall", "model=rnn,lstm,gru", "model.hidden_size=2,5,10"]  # 9 small jobs
    results["sweep"] = sweep_speedup([*sweep, *(["trainer.max_steps=200"] if args.quick else [])])
    print("time to target ...", file=sys.stderr)
    targets = {
        "binary_addition: 100% at 1000 bits": ["task=binary_addition"],
        "temporal_order 6b: solved": ["task=temporal_order"],
    }
    if real_mnist and not (args.quick or args.no_mnist_target):
        targets["mnist lstm-128: test acc >= 0.99"] = ["task=mnist", "model=lstm", *mnist]
    results["time_to_target"] = {
        name: time_to_target(device, overrides, out / "runs" / name.split(":")[0].replace(" ", "_"))
        for name, overrides in targets.items()
    }
    return results


if __name__ == "__main__":
    main()
