"""Training throughput with glibc's default allocator against the runner's (training/allocator.py), each in a
process of its own: the setting is process-wide and cannot be undone inside one. Used by bench.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, logging, sys
sys.path.insert(0, {scripts!r})
logging.disable(logging.INFO)
from rnnlab.training.allocator import reuse_freed_memory
if sys.argv[1] == "reuse":
    reuse_freed_memory()
from bench import throughput
from rnnlab.runner.parts import resolve_device
print(json.dumps(throughput("allocator", resolve_device(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])))
"""


def allocator_rows(device: str, steps: int, runs: dict[str, list[str]]) -> dict:
    """{run: {"glibc default": sequences/s, "reused (rnnlab)": sequences/s, "speedup": x}} for each run's overrides."""
    code = CHILD.format(scripts=str(Path(__file__).resolve().parent))
    rows = {}
    for name, overrides in runs.items():
        rates = {}
        for label, mode in (("glibc default", "system"), ("reused (rnnlab)", "reuse")):
            out = subprocess.run(
                [sys.executable, "-c", code, mode, device, str(steps), *overrides],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            rates[label] = json.loads(out.splitlines()[-1])["sequences_per_s"]
        rows[name] = {**rates, "speedup": rates["reused (rnnlab)"] / rates["glibc default"]}
    return rows
