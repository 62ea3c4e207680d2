"""Shared fixtures: the real configs, composed with Hydra's compose API and shrunk for speed."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import struct
import subprocess
import sys
from pathlib import Path

# One torch thread per test process, and the same for every subprocess a test starts (they inherit os.environ,
# or take ONE_THREAD into the env they build). Two threads on two cores run 10-100x slower as soon as anything
# else competes for the CPU (pytest itself, a second job, CI), and the tests' tiny models gain nothing from them.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
os.environ.update(ONE_THREAD)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from hydra import compose, initialize_config_module  # noqa: E402
from omegaconf import DictConfig  # noqa: E402

from rnnlab.cli.entry import call  # noqa: E402
from rnnlab.tasks.mnist import FILES  # noqa: E402

torch.set_num_threads(1)

# What every test run starts from: conf/debug/tiny.yaml (20 steps, small validation and test sets), no events.
TINY = ["debug=tiny", "logger=none"]
CPU = torch.device("cpu")
# A subprocess sees this environment and no other: one torch thread, no user settings (HOME is the test's dir).
ENV = {"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1", **ONE_THREAD}
COMMANDS = {  # entry point -> (module, function), as pyproject.toml's [project.scripts] names them
    "rnnlab": ("rnnlab.cli.entry", "rnnlab"),
    "rnnlab-eval": ("rnnlab.cli.entry", "rnnlab_eval"),
    "rnnlab-predict": ("rnnlab.cli.entry", "rnnlab_predict"),
    "rnnlab-report": ("rnnlab.cli.entry", "rnnlab_report"),
}


def entry_point(name: str, before: str = "") -> list[str]:
    """argv that runs one of the commands with this interpreter; `before` is Python run first."""
    module, function = COMMANDS[name]
    return [
        sys.executable,
        "-c",
        f"import sys; {before}from {module} import {function}; sys.argv[0] = {name!r}; {function}()",
    ]


def command(name: str, *args: str, cwd, before: str = "", timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a command as a user would, in `cwd`, and wait for it."""
    return subprocess.run(
        [*entry_point(name, before), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**ENV, "HOME": str(cwd)},
    )


@pytest.fixture
def command_here(monkeypatch, capsys):
    """Run one of the commands in this process, in `cwd`, as `command` does in a fresh one: same exit code, output
    and files, without a fresh interpreter's imports (6-9 s a time on a slow 2-core machine: torch, torch._dynamo,
    matplotlib). What a command changes in the process is put back after it: logging handlers and levels (Hydra
    configures logging for each run), signal handlers, torch's thread count, cwd, argv, HOME. The tests of what
    only a real process shows (the console script's imports, signals, two processes at once) use `command`."""

    def run(name: str, *args: str, cwd) -> subprocess.CompletedProcess:
        monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "argv", [name, *args])
        monkeypatch.setenv("HOME", str(cwd))
        loggers = {
            logger_name: (logger.level, list(logger.handlers), logger.propagate, logger.disabled)
            for logger_name, logger in [("", logging.getLogger()), *logging.Logger.manager.loggerDict.items()]
            if isinstance(logger, logging.Logger)
        }
        logging.getLogger("rnnlab").setLevel(logging.NOTSET)  # as in a fresh process (quiet_logs raises it)
        handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
        threads = torch.get_num_threads()
        code = 0
        try:
            call(name)  # what the console script runs, less its fast exit at the end
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else int(stop.code is not None)
        finally:
            for logger_name, (level, kept, propagate, disabled) in loggers.items():
                logger = logging.getLogger(logger_name or None)
                for handler in [h for h in logger.handlers if h not in kept]:
                    handler.close()  # the run's rnnlab.log
                logger.handlers[:] = kept
                logger.setLevel(level)
                logger.propagate, logger.disabled = propagate, disabled
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
            torch.set_num_threads(threads)
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess([name, *args], code, out, err)

    return run


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def example(tmp_path):
    """An example's folder copied somewhere outside the repo, as a user's own would be."""

    def copy(name: str) -> Path:
        return Path(shutil.copytree(EXAMPLES / name, tmp_path / name))

    return copy


def compose_config(*overrides: str) -> DictConfig:
    with initialize_config_module("rnnlab.conf", version_base="1.3"):
        return compose("config", overrides=list(overrides))


@pytest.fixture
def tiny_config():
    """compose the real config with TINY settings plus the test's own overrides (which win)."""

    def make(*overrides: str) -> DictConfig:
        return compose_config(*TINY, *overrides)

    return make


@pytest.fixture(autouse=True)
def quiet_logs():
    logging.getLogger("rnnlab").setLevel(logging.WARNING)


def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">I", 0x0800 + array.ndim) + b"".join(struct.pack(">I", n) for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def digit_images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Class c: a bright bar on row 4 + 2c (easy to learn row by row), over faint noise."""
    images = (rng.random((len(labels), 28, 28)) * 40).astype(np.uint8)
    for i, c in enumerate(labels):
        images[i, 4 + 2 * c : 6 + 2 * c, 4:24] = 255
    return images


@pytest.fixture(scope="session")
def tiny_mnist(tmp_path_factory) -> Path:
    """MNIST files of 100 images each (class c: a bar on row 4 + 2c), read through the real loader."""
    root = tmp_path_factory.mktemp("mnist")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    labels = np.arange(100) % 10
    for images_file, labels_file in (FILES[:2], FILES[2:]):
        write_idx(raw / images_file, digit_images(labels, rng))
        write_idx(raw / labels_file, labels)
    return root
