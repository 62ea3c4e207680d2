"""One run dir, one run, one process: what a command may write into, checked before Hydra writes anything.

    refuse_occupied(cfg, multirun)      # ConfigError: the dir holds another run (resume=true continues it)
    with claim(directory):              # ConfigError: another rnnlab process is writing there now
        ...

A run dir that holds a run (its .hydra/, report.json or last.pt) is never written into again unless the command
continues that run (resume=true, or sweep.resume=true for a sweep dir); a refused command changes nothing on
disk. Two processes never write one run dir: the first takes an exclusive lock (flock on .rnnlab.lock, released
when the process ends, however it ends), the second is refused.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from omegaconf import DictConfig

from rnnlab.errors import ConfigError
from rnnlab.files import HYDRA_DIR, LAST, LOCK, REPORT


def holds_a_run(directory: Path) -> bool:
    return any((directory / name).exists() for name in (HYDRA_DIR, REPORT, LAST))


def sweep_holds_jobs(directory: Path) -> bool:
    return directory.is_dir() and any(holds_a_run(job) for job in directory.iterdir() if job.is_dir())


def output_dir(cfg: DictConfig, multirun: bool) -> Path:
    return Path(cfg.hydra.sweep.dir if multirun else cfg.hydra.run.dir).absolute()


def refuse_occupied(cfg: DictConfig, multirun: bool) -> None:
    """A new run or sweep goes into a dir of its own; resume=true / sweep.resume=true continue what is there."""
    where = output_dir(cfg, multirun)
    if multirun and not cfg.sweep.resume and sweep_holds_jobs(where):
        raise ConfigError(f"hydra.sweep.dir={where} holds a sweep already: add sweep.resume=true to finish it, or "
                          "give a new hydra.sweep.dir")
    if not multirun and not cfg.resume and holds_a_run(where):
        raise ConfigError(f"hydra.run.dir={where} holds another run: add resume=true to continue it, or give a new "
                          "hydra.run.dir")


_held: dict[Path, int] = {}  # the locks this process holds, by dir: a second claim of one dir is not a conflict


@contextlib.contextmanager
def claim(directory: Path) -> Iterator[None]:
    """Hold the dir's lock while the body runs; refuse at once if another process holds it."""
    directory = directory.absolute()
    if directory in _held:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="ignore").strip() or "?"
        os.close(fd)
        raise ConfigError(f"{directory} is being written by another rnnlab process (pid {holder}): wait for it to "
                          "finish, or give a new hydra.run.dir / hydra.sweep.dir") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    _held[directory] = fd
    try:
        yield
    finally:
        del _held[directory]
        os.close(fd)  # releases the lock; the file stays (removing it would race with a process opening it)
