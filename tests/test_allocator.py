"""The runner keeps freed tensors' memory for reuse (training/allocator.py): a large tensor made again after the
first was freed takes no fresh page faults. Measured in a child process: the setting is process-wide."""

import json
import platform
import subprocess
import sys

import pytest

CHILD = """
import json, resource, sys, torch
from rnnlab.training.allocator import reuse_freed_memory
applied = reuse_freed_memory() if sys.argv[1] == "reuse" else False
torch.ones(96 << 18).sum()          # 96 MiB of float32, freed at once: above any mmap threshold
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
torch.ones(64 << 18).sum()          # 64 MiB: fits in the freed block (the same size would not, being aligned)
print(json.dumps({"applied": applied, "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}))
"""


def faults(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")
def test_a_freed_large_tensor_is_reused_without_page_faults():
    pages = (64 << 20) // 4096
    default, reused = faults("system"), faults("reuse")
    assert default["faults"] > pages // 2  # glibc's default: the second tensor faults in its pages afresh
    assert reused["applied"] and reused["faults"] < pages // 20


@pytest.mark.parametrize("setting, calls", [("true", 1), ("false", 0)])
def test_a_run_asks_for_it_unless_told_not_to(tiny_config, tmp_path, monkeypatch, setting, calls):
    from rnnlab.runner import run as run_module

    asked = []
    monkeypatch.setattr(run_module, "reuse_freed_memory", lambda: asked.append(True))
    run_module.run(tiny_config("task=index_recall", f"reuse_memory={setting}"), tmp_path)
    assert len(asked) == calls
