"""bench.json as the Markdown tables people read (outputs/bench/bench.md): one function a section."""

from __future__ import annotations

import json
import math


def markdown(r: dict) -> str:
    sections = [draw(r) for draw, key in SECTIONS if key in r]  # `bench.py --only` measures some of them
    return "\n".join(line for section in sections for line in section) + "\n"


def _machine(r: dict) -> list[str]:
    m = r["machine"]
    peak, on_cpu = m.get("cpu_peak_gflops_fp32"), m["device"] == "cpu"
    return [
        f"# rnnlab benchmark ({r['date']})",
        "",
        f"{m['cpu']}, {m['cores']} cores ({m['threads_used']} torch threads), torch {m['torch']}, device {m['device']}"
        + (f" ({m['gpu']})" if "gpu" in m else "")
        + (f"; CPU fp32 peak {peak} GFLOP/s (cores x clock x FMA width)" if peak and on_cpu else "")
        + f"; one 2048x2048 fp32 matmul: {m['sgemm_gflops']} GFLOP/s",
        f"MNIST data: {r['mnist_data']}",
    ]


def _throughput(r: dict) -> list[str]:
    m = r["machine"]
    peak, sgemm, on_cpu = m.get("cpu_peak_gflops_fp32"), m["sgemm_gflops"], m["device"] == "cpu"
    lines = [
        "",
        "## Training throughput (the runner's own loop and thread policy, logging off)",
        "",
        "| run | batch | threads | sequences/s | recurrent matmul GFLOP/s | % of fp32 peak | % of the large matmul |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, t in r["throughput"].items():
        share = f"{100 * t['gflops'] / peak:.0f}%" if peak and on_cpu else "-"
        lines.append(
            f"| {name} | {t['batch_size']} | {t['threads']} | {t['sequences_per_s']:,.0f} | "
            f"{t['gflops']:.1f} | {share} | {100 * t['gflops'] / sgemm:.0f}% |"
        )
    return lines


def _modern(r: dict) -> list[str]:
    if "modern" not in r:
        return []
    lines = [
        "",
        "## Modern and classic cells at 784 steps (pixel MNIST, batch 128, width 128, 2 layers, fp32)",
        "",
        "| model | threads | sequences/s | x the LSTM |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {t['threads']} | {t['sequences_per_s']:,.1f} | {t['vs_lstm']:.2f} |"
        if "vs_lstm" in t
        else f"| {name} | - | {t.get('error')} | - |"
        for name, t in r["modern"].items()
    ]
    if r.get("allocator"):
        lines += [
            "",
            "glibc's allocator against the runner's (`reuse_memory`, src/rnnlab/training/allocator.py), "
            "each in a process of its own:",
            "",
            "| model | glibc default | reused (rnnlab) | speedup |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {name} | {a['glibc default']:,.1f} | {a['reused (rnnlab)']:,.1f} | {a['speedup']:.2f}x |"
            for name, a in r["allocator"].items()
        ]
    if r.get("scan"):
        lines += ["", "The recurrence alone (128 x 784 x 128, forward + backward, best of 3):", ""]
        lines += [f"- {name}: {s:.3f} s" for name, s in r["scan"].items()]
    return lines


def _busy(r: dict) -> list[str]:
    if "busy" not in r:
        return []
    return [
        "",
        "## Beside one competing CPU-bound process (threads=auto, the default)",
        "",
        "| run | threads | sequences/s | share of quiet |",
        "|---|---|---|---|",
        *(
            f"| {name} | {t['threads']} | {t['sequences_per_s']:,.0f} | "
            f"{100 * t['sequences_per_s'] / r['throughput'][name]['sequences_per_s']:.0f}% |"
            for name, t in r["busy"].items()
        ),
    ]


def _dataloader(r: dict) -> list[str]:
    d = r["dataloader"]
    return [
        "",
        "## MNIST, one LSTM layer of 128, batch 128: rnnlab vs the hand-written Dataset + DataLoader loop",
        "",
        "| loop | training sequences/s | data path alone, images/s |",
        "|---|---|---|",
        f"| torchvision Dataset + per-item transforms + DataLoader | {d['baseline_sequences_per_s']:,.0f} | "
        f"{d['data_only_baseline_per_s']:,.0f} |",
        f"| rnnlab (splits as one tensor on the device) | {d['rnnlab_sequences_per_s']:,.0f} | "
        f"{d['data_only_rnnlab_per_s']:,.0f} |",
        f"| speed-up | {d['speedup']:.2f}x | {d['data_only_speedup']:.0f}x |",
        "",  # a data path that cost nothing would leave only the model: the most any data path can gain here
        f"Upper bound on this device, whatever the data path: 1 + model rate / DataLoader rate = "
        f"{1 + d['rnnlab_sequences_per_s'] / d['data_only_baseline_per_s']:.2f}x.",
    ]


def _generation(r: dict) -> list[str]:
    return [
        "",
        "## Data generation (sequences/s, batches of 4096)",
        "",
        "| task | sequences/s |",
        "|---|---|",
        *(f"| {k} | {v:,.0f} |" for k, v in r["generation"].items()),
    ]


def _overhead(r: dict) -> list[str]:
    return [
        "",
        "## Runner overhead (temporal order, LSTM-32, batch 32: the smallest model, where it shows most)",
        "",
        "| runner | ms per step | share of the step not spent on the training work |",
        "|---|---|---|",
        *(f"| {name} | {o['ms_per_step']:.2f} | {o['overhead_pct']:.1f}% |" for name, o in r["overhead"].items()),
    ]


def _tried(r: dict) -> list[str]:
    if "tried" not in r:
        return []
    return [
        "",
        "## Tried for speed: MNIST LSTM 2x128",
        "",
        "| setting | sequences/s |",
        "|---|---|",
        *(
            f"| {name} | {t['error'] if 'error' in t else format(t['sequences_per_s'], ',.0f')} |"
            for name, t in r["tried"].items()
        ),
    ]


def _command(r: dict) -> list[str]:
    c = r["command"]
    return [
        "",
        "## The whole command: `rnnlab` (default binary addition), start to exit",
        "",
        "| part | seconds |",
        "|---|---|",
        f"| **whole command** | **{c['whole']:.2f}** |",
        f"| imports (torch, rnnlab, matplotlib, TensorBoard) | {c['imports']:.2f} |",
        *(f"| run: {phase} | {s:.2f} |" for phase, s in c["phases"].items()),
        f"| the rest (interpreter, Hydra, up-front checks, report files) | {c['other']:.2f} |",
        f"| `python -c 'import torch, torch._dynamo'` | {c.get('torch_dynamo', float('nan')):.2f} |",
        f"| **beyond training and that import** | **{c.get('beyond_training_and_torch', math.nan):.2f}** |",
        f"| `rnnlab --help` | {c['help']:.2f} |",
        f"| a mistake (`model.hiden_size=5`) | {c['mistake']:.2f} |",
    ]


def _sweep(r: dict) -> list[str]:
    s = r["sweep"]
    return [
        "",
        "## A 9-job sweep (index recall, 3 cells x 3 hidden sizes)",
        "",
        "| launcher | seconds |",
        "|---|---|",
        f"| basic (one job after another) | {s['basic']:.1f} |",
        f"| joblib, {s['jobs']} processes | {s['joblib']:.1f} |",
        f"| speed-up | {s['speedup']:.2f}x |",
    ]


def _time_to_target(r: dict) -> list[str]:
    return [
        "",
        "## Time to target",
        "",
        "| target | training time | sequences | test |",
        "|---|---|---|---|",
        *(
            f"| {name} | {t['train_s']:.1f} s | {t['sequences']:,} | {json.dumps(t['test'])} |"
            for name, t in r["time_to_target"].items()
        ),
    ]


SECTIONS = (
    (_machine, "machine"),
    (_throughput, "throughput"),
    (_busy, "busy"),
    (_modern, "modern"),
    (_dataloader, "dataloader"),
    (_generation, "generation"),
    (_overhead, "overhead"),
    (_tried, "tried"),
    (_command, "command"),
    (_sweep, "sweep"),
    (_time_to_target, "time_to_target"),
)
