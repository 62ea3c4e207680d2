"""The machine a benchmark ran on: CPU, cores, clock, fp32 peak and what one large matmul reaches."""

from __future__ import annotations

import os
import platform
import re
import time
from pathlib import Path

import torch


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
        "cpu": cpu,
        "cores": cores,
        "threads_used": torch.get_num_threads(),
        "max_mhz": mhz,
        "cpu_peak_gflops_fp32": round(cores * mhz * 1e-3 * per_cycle, 1) if mhz else None,
        "sgemm_gflops": round(sgemm_gflops(device), 1),
        "torch": torch.__version__,
        "device": str(device),
        "python": platform.python_version(),
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
        mhz = (
            re.findall(r"cpu MHz\s*:\s*([\d.]+)", Path("/proc/cpuinfo").read_text())
            if Path("/proc/cpuinfo").exists()
            else []
        )
        return max(map(float, mhz)) if mhz else None


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
