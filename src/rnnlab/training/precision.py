"""What number format training computes in: fp32, or bf16 autocast (mixed precision: fp32 weights, optimizer and
loss; matmuls and recurrent kernels in bfloat16), picked by trainer.precision.

    dtype = autocast_dtype("auto", device)   # torch.bfloat16 where the hardware multiplies bf16 natively, else None

Measured (MNIST LSTM 2x128, batch 128, Zen 4 with AVX512-BF16, 2 threads): fp32 2,400 sequences/s, bf16 5,500;
GRU 2,600 and 3,200. Without native bf16 (no AVX512-BF16 or AMX) the format is emulated and slower, so `auto`
stays at fp32 there, and on GPUs. Validation and tests run in fp32, on the same weights. On a CPU without AVX-512
(AVX2 only: Zen 1-3, older Intel) PyTorch's bf16 LSTM kernel (oneDNN) does not exist: trainer.precision=bf16 with
an LSTM is refused there before the run starts (check_precision).
"""

from __future__ import annotations

import functools

import torch

from rnnlab.errors import ConfigError


def native_bf16_cpu(device: torch.device) -> bool:
    """Whether the device is a CPU that multiplies bfloat16 in hardware (AVX512-BF16 or AMX)."""
    if device.type != "cpu":
        return False
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # torch's own CPU flags (private API)
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def autocast_dtype(setting: str, device: torch.device) -> torch.dtype | None:
    """The dtype to autocast training to; None: fp32. `auto` is bf16 on such CPUs only: on a GPU the recurrent
    kernels were not measured in bf16 yet (trainer.precision=bf16 still asks for it)."""
    if setting == "bf16" or (setting == "auto" and native_bf16_cpu(device)):
        return torch.bfloat16
    return None


@functools.cache
def cpu_runs_lstm_in_bf16() -> bool:
    """Whether this CPU has PyTorch's bf16 LSTM kernel: oneDNN builds it for AVX-512 only, and raises elsewhere."""
    lstm = torch.nn.LSTM(1, 1, device="cpu")
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            lstm(torch.zeros(1, 1, 1, device="cpu"))
    except RuntimeError:
        return False
    return True


def check_precision(setting: str, cell: str | None, device: torch.device) -> None:
    """A precision the device cannot train this cell in is a mistake in the command, found before the run."""
    if device.type == "cpu" and cell == "lstm" and autocast_dtype(setting, device) and not cpu_runs_lstm_in_bf16():
        raise ConfigError(
            f"trainer.precision={setting}: this CPU has no bf16 LSTM kernel (PyTorch's needs AVX-512): "
            "use trainer.precision=fp32, or auto"
        )
