"""The console scripts (pyproject.toml's [project.scripts]). Each one first makes Ctrl-C and SIGTERM end the process
cleanly, then imports the command: a signal while torch, NumPy or Hydra are still importing would otherwise show a
KeyboardInterrupt traceback, or leave a half-imported module that fails later. Training installs its own handler
(training.loop.Interrupts: finish the step, save last.pt, exit 130/143) for as long as it runs.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys


def _stopped(signum: int, frame) -> None:
    sys.stderr.write(f"rnnlab: stopped by signal {signum} before training or after it; a last.pt already saved is "
                     "kept (resume=true continues from it), and the command can simply be run again\n")
    sys.stderr.flush()
    os._exit(128 + signum)  # at once: whatever was importing is left unfinished, not half-used


def _guard() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stopped)


def _command(module: str, function: str) -> None:
    _guard()
    getattr(importlib.import_module(module), function)()  # the imports come after the guard


def rnnlab() -> None:
    _command("rnnlab.cli.train", "train")


def rnnlab_eval() -> None:
    _command("rnnlab.cli.evaluate", "evaluate")


def rnnlab_predict() -> None:
    _command("rnnlab.cli.predict", "predict")


def rnnlab_report() -> None:
    _command("rnnlab.cli.report", "main")
