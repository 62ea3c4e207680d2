"""What a user waits for beyond the training loop: the whole `rnnlab` command and where its time goes, training
while another process competes for the CPU, and a sweep with the joblib launcher against the basic one.

Every number comes from running the real console scripts in subprocesses, as a user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

BIN = Path(sys.executable).parent
QUIET = ["logger=none", "trainer.progress=false"]


def timed(*command: str, cwd: Path, env: dict | None = None) -> float:
    """Wall seconds of one command; a failure stops the benchmark with the command's own error."""
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    if result.returncode not in (0, 2):  # 2: the mistake row, which is meant to fail
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr[-2000:]}")
    return time.perf_counter() - started


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def whole_command(repeats: int) -> dict:
    """`rnnlab` with the defaults (binary addition), start to exit, and its phases: report.json's timing for the
    run itself, a bare import of what a run imports, and the rest (interpreter, Hydra, up-front checks, reports)."""
    rows: dict = {"whole": [], "imports": [], "torch_dynamo": [], "help": [], "mistake": []}
    phases: list[dict] = []
    imports = "import rnnlab.cli.train, rnnlab.runner.run, matplotlib.pyplot, torch.utils.tensorboard"
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            run_dir = Path(tmp) / f"run{i}"
            rows["whole"].append(timed(str(BIN / "rnnlab"), f"hydra.run.dir={run_dir}", cwd=Path(tmp)))
            phases.append(json.loads((run_dir / "report.json").read_text())["timing"])
            bare = timed(sys.executable, "-c", "pass", cwd=Path(tmp))
            rows["imports"].append(timed(sys.executable, "-c", imports, cwd=Path(tmp)) - bare)
            # what any torch training script pays: the interpreter, torch, and torch._dynamo (the optimizers load it)
            rows["torch_dynamo"].append(timed(sys.executable, "-c", "import torch, torch._dynamo", cwd=Path(tmp)))
            rows["help"].append(timed(str(BIN / "rnnlab"), "--help", cwd=Path(tmp)))
            rows["mistake"].append(timed(str(BIN / "rnnlab"), "model.hiden_size=5", cwd=Path(tmp)))
    result = {name: median(values) for name, values in rows.items()}
    result["phases"] = {phase: median([p.get(phase, 0.0) for p in phases]) for phase in phases[0]}
    result["other"] = result["whole"] - result["imports"] - sum(result["phases"].values())
    # the goal of issue 37: at most 1.0 s on a quiet 2-core machine
    result["beyond_training_and_torch"] = result["whole"] - result["phases"]["train"] - result["torch_dynamo"]
    return result


@contextmanager
def competing_process():
    """One CPU-bound process beside the benchmark, as CI, a second job or a browser would be."""
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(1.0)  # let the scheduler see it (the thread policy reads /proc/loadavg)
    try:
        yield
    finally:
        burner.kill()
        burner.wait()


def sweep_speedup(overrides: list[str]) -> dict:
    """One sweep run with the basic launcher, then with joblib over the cores: wall seconds and the ratio."""
    cores = len(os.sched_getaffinity(0))
    seconds = {}
    with tempfile.TemporaryDirectory() as tmp:
        for launcher, extra in (("basic", []), ("joblib", ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={cores}"])):
            seconds[launcher] = timed(
                str(BIN / "rnnlab"),
                "-m",
                *overrides,
                *QUIET,
                *extra,
                f"hydra.sweep.dir={Path(tmp) / launcher}",
                cwd=Path(tmp),
            )
    return {**seconds, "jobs": cores, "speedup": seconds["basic"] / seconds["joblib"]}


if __name__ == "__main__":  # the whole-command rows alone: python scripts/bench_command.py [repeats]
    import platform

    numbers = whole_command(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("cpu family")), "?")
    print(f"{platform.processor() or 'cpu'} family {cpu}, {len(os.sched_getaffinity(0))} cores (medians)")
    for key, value in numbers.items():
        print(f"{key:>28}: {value}" if isinstance(value, dict) else f"{key:>28}: {value:.2f} s")
