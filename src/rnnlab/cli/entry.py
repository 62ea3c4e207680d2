"""The console scripts (pyproject.toml's [project.scripts]). Each one first makes Ctrl-C and SIGTERM end the process
cleanly, then imports the command: a signal while torch, NumPy or Hydra are still importing would otherwise show a
KeyboardInterrupt traceback, or leave a half-imported module that fails later. Training installs its own handler
(training.loop.Interrupts: finish the step, save last.pt, exit 130/143) for as long as it runs.

A command that is done leaves through `_leave`: Python's own exit would spend 0.3-0.9 s tearing down torch,
torchvision and matplotlib module by module (measured, Zen 5), with the default Ctrl-C handler back in place, so a
Ctrl-C in that window killed a finished run's process by the signal (-2, no message) instead of exit 130.
"""

from __future__ import annotations

import atexit
import importlib
import os
import signal
import sys
import threading


def _stopped(signum: int, frame) -> None:
    sys.stderr.write(
        f"rnnlab: stopped by signal {signum} before training or after it; where the run dir holds a last.pt, "
        "resume=true continues from it, and where it does not, the command can simply be run again\n"
    )
    sys.stderr.flush()
    os._exit(128 + signum)  # at once: whatever was importing is left unfinished, not half-used


def _guard() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _stopped)


def _exit_status(code: object) -> int:
    """sys.exit's argument as the process's exit status, as Python's own exit reads it."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _leave(status: int) -> None:
    """End the process as Python's exit would (atexit handlers: logging, TensorBoard writers; flushed streams) but
    without its module teardown. A thread still running (a launcher's pool) gets Python's own exit instead."""
    if any(thread is not threading.main_thread() and not thread.daemon for thread in threading.enumerate()):
        sys.exit(status)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can reach it
            pass
    os._exit(status)


COMMANDS = {  # console script -> the module and function that do its work (imported only after the guard)
    "rnnlab": ("rnnlab.cli.train", "train"),
    "rnnlab-eval": ("rnnlab.cli.evaluate", "evaluate"),
    "rnnlab-predict": ("rnnlab.cli.predict", "predict"),
    "rnnlab-report": ("rnnlab.cli.report", "main"),
}


def call(name: str) -> None:
    """Run a command in this process as its console script does, but return (or raise SystemExit) at the end
    instead of ending the process: for a caller that goes on afterwards (the tests)."""
    _guard()
    module, function = COMMANDS[name]
    getattr(importlib.import_module(module), function)()


def _script(name: str) -> None:
    try:
        call(name)
    except SystemExit as stop:
        _leave(_exit_status(stop.code))
    _leave(0)


def rnnlab() -> None:
    _script("rnnlab")


def rnnlab_eval() -> None:
    _script("rnnlab-eval")


def rnnlab_predict() -> None:
    _script("rnnlab-predict")


def rnnlab_report() -> None:
    _script("rnnlab-report")
