"""Benchmark: training throughput, data generation, the hand-written DataLoader baseline, logging overhead and
time to target, on the current device. Writes outputs/bench/bench.md and bench.json.

    make bench                          # everything (several minutes on a 2-core CPU)
    .venv/bin/python scripts/bench.py --quick      # under a minute: fewer steps, no time-to-target for MNIST
    .venv/bin/python scripts/bench.py --device cuda

MNIST uses the real files when found (task.root, $RNNLAB_DATA or ../shared/data), else random images of the
same shape (marked in the table).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import re
import sys
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_module
from torch import nn

from rnnlab.logger import NullLogger, TensorBoardLogger
from rnnlab.runner import build_run, resolve_device, run
from rnnlab.tasks.base import Batch, seeded
from rnnlab.train import fit

GATES = {"rnn": 1, "gru": 3, "lstm": 4}
REPO = Path(__file__).resolve().parents[1]


def config(*overrides: str):
    with initialize_config_module("rnnlab.conf", version_base="1.3"):
        return compose("config", overrides=["logger=none", "trainer.progress=false", *overrides])


def mnist_root() -> str | None:
    for root in (os.environ.get("RNNLAB_DATA"), "data", str(REPO.parent / "shared" / "data")):
        if root and (Path(root) / "MNIST" / "raw" / "train-images-idx3-ubyte").exists():
            return root
    return None


def machine(device: torch.device) -> dict:
    cpu = platform.processor() or ""
    try:
        text = Path("/proc/cpuinfo").read_text()
        cpu = re.search(r"model name\s*:\s*(.*)", text).group(1)
        flags = re.search(r"flags\s*:\s*(.*)", text).group(1).split()
        amd_zen4_or_older = "AuthenticAMD" in text and int(re.search(r"cpu family\s*:\s*(\d+)", text).group(1)) <= 25
    except (OSError, AttributeError):
        flags, amd_zen4_or_older = [], False
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mhz = _max_mhz()
    # fp32 FLOPs per cycle per core: two FMA units x lanes x 2. AVX-512 has 16 lanes, but AMD Zen 4 (family 25)
    # runs it on 256-bit units, so it peaks like AVX2 (8 lanes); Intel server cores and Zen 5 have 512-bit FMAs.
    per_cycle = 64 if "avx512f" in flags and not amd_zen4_or_older else 32 if "fma" in flags else 8
    info = {
        "cpu": cpu, "cores": cores, "threads_used": torch.get_num_threads(), "max_mhz": mhz,
        "cpu_peak_gflops_fp32": round(cores * mhz * 1e-3 * per_cycle, 1) if mhz else None,
        "sgemm_gflops": round(sgemm_gflops(device), 1),
        "torch": torch.__version__, "device": str(device), "python": platform.python_version(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def sgemm_gflops(device: torch.device, n: int = 2048, seconds: float = 1.0) -> float:
    """The fp32 rate torch reaches on one large matmul: the practical ceiling for the recurrent matmuls."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    sync(device)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        count += 1
        sync(device)
    return 2 * n**3 * count / (time.perf_counter() - start) / 1e9


def _max_mhz() -> float | None:
    try:
        return int(Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").read_text()) / 1000
    except OSError:
        mhz = re.findall(r"cpu MHz\s*:\s*([\d.]+)", Path("/proc/cpuinfo").read_text()) if Path("/proc/cpuinfo").exists() else []
        return max(map(float, mhz)) if mhz else None


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


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


def throughput(name: str, device: torch.device, steps: int, overrides: list[str]) -> dict:
    """Sequences/s of the runner's own training loop over `steps` steps (early stop off, logging off)."""
    cfg = config(*overrides, f"trainer.max_steps={steps}", "trainer.early_stop=false", "trainer.eval_every=1000000")
    _runner_loop(cfg, device, False, name)  # warm-up pass (first-call costs)
    result, task = _runner_loop(cfg, device, False, name)
    batch = task.make_batch(2, seeded(0, device), device)
    cell, hidden = cfg.model.cell, cfg.model.hidden_size
    gflop = matmul_gflop(cell, hidden, task.input_size, batch.x.shape[1], cfg.model.num_layers,
                         2 if cfg.model.bidirectional else 1)
    return {"sequences_per_s": result.samples_per_s, "gflops": result.samples_per_s * gflop,
            "wall_s": result.wall_s, "steps": result.steps, "batch_size": cfg.trainer.batch_size}


def _runner_loop(cfg, device: torch.device, logging_on: bool, name: str):
    """One fit() of a fresh run, with TensorBoard and the progress bar on or off; its result and its task."""
    task, model, loss_fn, optimizer, scheduler = build_run(cfg, device)
    task.val_size = 64  # validation is not what is measured
    out_dir = REPO / "outputs" / "bench" / "events" / name
    logger = TensorBoardLogger(out_dir) if logging_on else NullLogger(out_dir)
    trainer = cfg.trainer.copy()
    trainer.progress = logging_on
    with open(os.devnull, "w") as devnull:
        stderr, sys.stderr = sys.stderr, _Terminal(devnull)  # tqdm draws its bar only on a terminal: pretend
        try:
            result = fit(model, task, loss_fn, optimizer, scheduler, trainer, device, 0, logger)
        finally:
            sys.stderr = stderr
    logger.close()
    return result, task


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
        result[name] = {"overhead_pct": shares[len(shares) // 2],
                        "ms_per_step": 1000 * sorted(r.loop_s for r in runs)[len(runs) // 2] / steps}
    return result


def tried_speedups(device: torch.device, sequences: int, repeats: int = 3) -> dict:
    """What the issue asked to try on MNIST LSTM 2x128 (random 28x28 inputs): larger batches, torch.compile.
    The same number of sequences for each, interleaved repeats, the median kept."""
    settings = {f"batch {b}": (b, False) for b in (128, 256, 512)}
    settings["batch 128, torch.compile"] = (128, True)
    rates: dict = {name: [] for name in settings}
    for _ in range(repeats):
        for name, (batch, compiled) in settings.items():
            try:
                rates[name].append(_random_mnist_throughput(device, max(1, sequences // batch), "lstm",
                                                            [f"trainer.batch_size={batch}"], compiled)["sequences_per_s"])
            except Exception as err:  # no compiler toolchain, say: record it rather than stop the benchmark
                rates[name] = f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
                settings = {k: v for k, v in settings.items() if k != name}
    return {name: {"sequences_per_s": sorted(r)[len(r) // 2]} if isinstance(r, list) else {"error": r}
            for name, r in rates.items()}


def dataloader_baseline(root: str | None, device: torch.device, batches: int, hidden: int = 128) -> float:
    """The loop people write by hand: torchvision Dataset + per-item transforms + DataLoader, same LSTM."""
    from torch.utils.data import DataLoader, TensorDataset
    from torchvision import datasets, transforms

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    if root:
        dataset = datasets.MNIST(root, train=True, download=False, transform=transform)
    else:  # random images through the same per-item transform path
        images = torch.randint(0, 256, (60000, 28, 28), dtype=torch.uint8)
        dataset = _TransformedImages(TensorDataset(images, torch.randint(0, 10, (60000,))), transform)
    loader = DataLoader(dataset, batch_size=128, shuffle=True, num_workers=0)
    lstm, head = nn.LSTM(28, hidden, batch_first=True).to(device), nn.Linear(hidden, 10).to(device)
    optimizer = torch.optim.Adam([*lstm.parameters(), *head.parameters()], lr=2e-3)
    seen, start = 0, None
    for i, (x, y) in enumerate(loader):
        if i == 3:
            sync(device)
            start, seen = time.perf_counter(), 0
        x, y = x.to(device).squeeze(1), y.to(device)
        loss = nn.functional.cross_entropy(head(lstm(x)[0][:, -1]), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen += len(x)
        if i == batches + 3:
            break
    sync(device)
    return seen / (time.perf_counter() - start)


def data_path_rates(root: str | None, device: torch.device, batches: int) -> tuple[float, float]:
    """Images/s of the data path alone: DataLoader with per-item transforms vs rnnlab's on-device batches."""
    from torch.utils.data import DataLoader, TensorDataset
    from torchvision import datasets, transforms

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    if root:
        dataset = datasets.MNIST(root, train=True, download=False, transform=transform)
    else:
        images = torch.randint(0, 256, (60000, 28, 28), dtype=torch.uint8)
        dataset = _TransformedImages(TensorDataset(images, torch.randint(0, 10, (60000,))), transform)
    seen, start = 0, time.perf_counter()
    for i, (x, y) in enumerate(DataLoader(dataset, batch_size=128, shuffle=True)):
        x, y = x.to(device), y.to(device)
        seen += len(x)
        if i == batches:
            break
    sync(device)
    loader = seen / (time.perf_counter() - start)
    overrides = ["task=mnist", f"task.root={root}", "task.download=false"] if root else None
    if overrides is None:
        return loader, math.nan
    task, *_ = build_run(config(*overrides), device)
    generator = seeded(0, device)
    task.make_batch(128, generator, device)  # loads and places the split once, outside the timing
    seen, start = 0, time.perf_counter()
    for _ in range(batches * 10):
        seen += len(task.make_batch(128, generator, device))
    sync(device)
    return loader, seen / (time.perf_counter() - start)


class _TransformedImages(torch.utils.data.Dataset):
    def __init__(self, base, transform):
        self.base, self.transform = base, transform

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        from PIL import Image

        image, label = self.base[i]
        return self.transform(Image.fromarray(image.numpy(), mode="L")), int(label)


def time_to_target(device: torch.device, overrides: list[str], out: Path) -> dict:
    report = run(config(*overrides, f"device={device}"), out)
    return {"train_s": report["train"]["wall_s"], "sequences": report["train"]["sequences_seen"], "test": report["test"],
            **{k: v for k, v in report.items() if k.endswith("_by_length")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps, no MNIST time-to-target (< 1 min)")
    parser.add_argument("--no-mnist-target", action="store_true", help="skip MNIST time-to-target (~5 min on CPU)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=str(REPO / "outputs" / "bench"))
    args = parser.parse_args()
    logging.disable(logging.INFO)
    device = resolve_device(args.device)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    root = mnist_root()
    mnist = [f"task.root={root}", "task.download=false"] if root else None
    steps = 20 if args.quick else 100
    results: dict = {"date": time.strftime("%Y-%m-%d"), "machine": machine(device), "mnist_data": root or "random images"}

    print("data generation ...", file=sys.stderr)
    seconds = 0.5 if args.quick else 2.0
    results["generation"] = {
        "binary_addition (length 20)": generation_rate("binary_addition", device, seconds, "task.train_lengths=[20,20]"),
        "binary_addition (lengths 1-20)": generation_rate("binary_addition", device, seconds),
        "index_recall (lengths 3-10)": generation_rate("index_recall", device, seconds),
        "temporal_order (6b)": generation_rate("temporal_order", device, seconds),
    }

    print("training throughput ...", file=sys.stderr)
    runs = {
        "binary_addition lstm-32": ["task=binary_addition"],
        "index_recall lstm-32": ["task=index_recall"],
        "temporal_order lstm-32": ["task=temporal_order"],
    }
    for cell in ("rnn", "lstm", "gru"):
        if mnist:
            runs[f"mnist rows {cell} 2x128"] = ["task=mnist", f"model={cell}", *mnist]
    if not mnist:
        for cell in ("rnn", "lstm", "gru"):
            runs[f"mnist rows {cell} 2x128 (random images)"] = ["task=mnist", f"model={cell}", "task.root=__random__"]
    results["throughput"] = {}
    for name, overrides in runs.items():
        if "task.root=__random__" in overrides:
            results["throughput"][name] = _random_mnist_throughput(device, steps, overrides[1].split("=")[1])
        else:
            results["throughput"][name] = throughput(name.replace(" ", "_"), device, steps, overrides)

    print("hand-written DataLoader baseline ...", file=sys.stderr)
    baseline = dataloader_baseline(root, device, batches=steps)
    same_model = ["model.num_layers=1", "model.dropout=0"]  # the baseline's model: one LSTM layer of 128
    if mnist:
        ours = throughput("mnist_lstm_1layer", device, steps, ["task=mnist", "model=lstm", *mnist, *same_model])
    else:
        ours = _random_mnist_throughput(device, steps, "lstm", same_model)
    loader_only, slicing_only = data_path_rates(root, device, batches=steps)
    results["dataloader"] = {
        "baseline_sequences_per_s": baseline, "rnnlab_sequences_per_s": ours["sequences_per_s"],
        "speedup": ours["sequences_per_s"] / baseline,
        "data_only_baseline_per_s": loader_only, "data_only_rnnlab_per_s": slicing_only,
        "data_only_speedup": slicing_only / loader_only,
    }

    print("runner overhead ...", file=sys.stderr)
    results["overhead"] = runner_overhead(device, steps * 2, 3 if args.quick else 5)
    if not args.quick:
        print("larger batches, torch.compile ...", file=sys.stderr)
        results["tried"] = tried_speedups(device, sequences=60 * 128)

    print("time to target ...", file=sys.stderr)
    targets = {
        "binary_addition: 100% at 1000 bits": ["task=binary_addition"],
        "temporal_order 6b: solved": ["task=temporal_order"],
    }
    if mnist and not (args.quick or args.no_mnist_target):
        targets["mnist lstm-128: test acc >= 0.99"] = ["task=mnist", "model=lstm", *mnist]
    results["time_to_target"] = {
        name: time_to_target(device, overrides, out / "runs" / name.split(":")[0].replace(" ", "_"))
        for name, overrides in targets.items()
    }

    (out / "bench.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "bench.md").write_text(markdown(results))
    print(markdown(results))


def _random_mnist_throughput(device: torch.device, steps: int, cell: str, extra: list[str] = (),
                             compiled: bool = False) -> dict:
    """MNIST-shaped training without the files: the same model and batch size on random 28x28 inputs."""
    cfg = config("task=mnist", f"model={cell}", *extra)
    _, model, loss_fn, optimizer, _ = build_run(cfg, device)
    forward = torch.compile(model) if compiled else model
    x = torch.randn(cfg.trainer.batch_size, 28, 28, device=device)
    y = torch.randint(0, 10, (len(x),), device=device)
    lengths = torch.full((len(x),), 28, device=device)
    for i in range(steps + 3):
        if i == 3:
            sync(device)
            start = time.perf_counter()
        loss = loss_fn(forward(x, lengths), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    sync(device)
    rate = steps * len(x) / (time.perf_counter() - start)
    return {"sequences_per_s": rate, "gflops": rate * matmul_gflop(cell, 128, 28, 28, cfg.model.num_layers),
            "steps": steps, "batch_size": len(x)}


def markdown(r: dict) -> str:
    m = r["machine"]
    peak, sgemm, on_cpu = m.get("cpu_peak_gflops_fp32"), m["sgemm_gflops"], m["device"] == "cpu"
    lines = [
        f"# rnnlab benchmark ({r['date']})", "",
        f"{m['cpu']}, {m['cores']} cores ({m['threads_used']} torch threads), torch {m['torch']}, device {m['device']}"
        + (f" ({m['gpu']})" if "gpu" in m else "")
        + (f"; CPU fp32 peak {peak} GFLOP/s (cores x clock x FMA width)" if peak and on_cpu else "")
        + f"; one 2048x2048 fp32 matmul: {sgemm} GFLOP/s",
        f"MNIST data: {r['mnist_data']}", "",
        "## Training throughput (runner's own loop, logging off)", "",
        "| run | batch | sequences/s | recurrent matmul GFLOP/s | % of fp32 peak | % of the large matmul |",
        "|---|---|---|---|---|---|",
    ]
    for name, t in r["throughput"].items():
        share = f"{100 * t['gflops'] / peak:.0f}%" if peak and on_cpu else "-"
        lines.append(f"| {name} | {t['batch_size']} | {t['sequences_per_s']:,.0f} | {t['gflops']:.1f} | {share} | "
                     f"{100 * t['gflops'] / sgemm:.0f}% |")
    d = r["dataloader"]
    lines += [
        "", "## MNIST, one LSTM layer of 128, batch 128: rnnlab vs the hand-written Dataset + DataLoader loop", "",
        "| loop | training sequences/s | data path alone, images/s |", "|---|---|---|",
        f"| torchvision Dataset + per-item transforms + DataLoader | {d['baseline_sequences_per_s']:,.0f} | "
        f"{d['data_only_baseline_per_s']:,.0f} |",
        f"| rnnlab (splits as one tensor on the device) | {d['rnnlab_sequences_per_s']:,.0f} | "
        f"{d['data_only_rnnlab_per_s']:,.0f} |",
        f"| speed-up | {d['speedup']:.2f}x | {d['data_only_speedup']:.0f}x |",
        "",  # a data path that cost nothing would leave only the model: the most any data path can gain here
        f"Upper bound on this device, whatever the data path: 1 + model rate / DataLoader rate = "
        f"{1 + d['rnnlab_sequences_per_s'] / d['data_only_baseline_per_s']:.2f}x.",
        "", "## Data generation (sequences/s, batches of 4096)", "", "| task | sequences/s |", "|---|---|",
        *(f"| {k} | {v:,.0f} |" for k, v in r["generation"].items()),
        "", "## Runner overhead (temporal order, LSTM-32, batch 32: the smallest model, where it shows most)", "",
        "| runner | ms per step | share of the step not spent on the training work |", "|---|---|---|",
        *(f"| {name} | {o['ms_per_step']:.2f} | {o['overhead_pct']:.1f}% |" for name, o in r["overhead"].items()),
    ]
    if "tried" in r:
        lines += ["", "## Tried for speed: MNIST LSTM 2x128 on random inputs", "", "| setting | sequences/s |", "|---|---|"]
        lines += [f"| {name} | {t['error'] if 'error' in t else format(t['sequences_per_s'], ',.0f')} |"
                  for name, t in r["tried"].items()]
    lines += ["", "## Time to target", "", "| target | training time | sequences | test |", "|---|---|---|---|"]
    for name, t in r["time_to_target"].items():
        lines.append(f"| {name} | {t['train_s']:.1f} s | {t['sequences']:,} | {json.dumps(t['test'])} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
