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
import fnmatch
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from omegaconf import DictConfig

from rnnlab.errors import ConfigError
from rnnlab.files import BEST, HYDRA_DIR, LAST, LOCK, REPORT, REPORT_FILES, read_report

NAME_MAX = 255  # bytes in one path component, on the file systems rnnlab runs on
# What a command that was stopped before training leaves in a run dir (Hydra's .hydra/ and log, rnnlab's lock): such
# a dir holds no run, and a new run may use it.
LEFTOVERS = {HYDRA_DIR, "rnnlab.log", LOCK}
# What else rnnlab writes in a run dir: a dir holding only these and LEFTOVERS is rnnlab's, whatever became of its run.
OWN_FILES = (REPORT, "report.md", LAST, BEST, "events.out.tfevents.*", "*.png", "*.csv", "eval")
SWEEP_FILES = {
    LOCK,
    "multirun.yaml",
    "optuna.db",
    "optimization_results.yaml",
    ".submitit",
    *REPORT_FILES,
}  # what sweepers, launchers and rnnlab-report write beside the jobs


def holds_a_run(directory: Path) -> bool:
    """A run trained here: its report or its last.pt (a .hydra/ alone is a start that never trained)."""
    return any((directory / name).exists() for name in (REPORT, LAST))


def _own(name: str) -> bool:
    return name in LEFTOVERS or any(fnmatch.fnmatch(name, pattern) for pattern in OWN_FILES)


def failed_run(directory: Path) -> bool:
    """The run here ended in failure (an error, a crash, a divergence): a corrected command may start it afresh."""
    report = read_report(directory)
    return report is not None and report.get("status") not in ("ok", "interrupted")


def clear_earlier_attempt(directory: Path) -> None:
    """Before a fresh run in a dir whose earlier run failed or never wrote a report: take away that run's files, so
    that its checkpoints, events and figures are not read as the new run's (.hydra/ and the log are Hydra's)."""
    if not directory.is_dir() or (holds_a_run(directory) and not failed_run(directory)):
        return
    for path in directory.iterdir():
        if _own(path.name) and path.name not in LEFTOVERS:
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()


def sweep_holds_jobs(directory: Path) -> bool:
    return directory.is_dir() and any(holds_a_run(job) for job in directory.iterdir() if job.is_dir())


def _is_job_dir(path: Path) -> bool:
    return path.is_dir() and (holds_a_run(path) or all(_own(p.name) for p in path.iterdir()))


def foreign_files(directory: Path, multirun: bool) -> list[str]:
    """What in a run (or sweep) dir rnnlab did not write: the user's own files, which a run must not scatter its
    reports among."""
    if not directory.is_dir() or (not multirun and holds_a_run(directory)):
        return []
    if not multirun:
        return sorted(p.name for p in directory.iterdir() if not _own(p.name))
    return sorted(
        p.name for p in directory.iterdir() if p.name not in SWEEP_FILES and not (_is_job_dir(p) or p.suffix == ".png")
    )


def check_creatable(wanted: Path, key: str) -> None:
    """The dir can be made: every name short enough, no symlink loop on the way, its nearest existing parent a
    writable directory. An operating-system error on the user's path is their mistake, said in one line."""
    if long := next((part for part in wanted.parts if len(os.fsencode(part)) > NAME_MAX), None):
        raise ConfigError(
            f"{key}={wanted}: the name {long[:24]}... is {len(os.fsencode(long))} bytes, more than "
            f"the {NAME_MAX} a file name may have"
        )
    parent = wanted
    while True:
        try:
            found = os.stat(parent)
            break
        except (FileNotFoundError, NotADirectoryError):
            parent = parent.parent
        except OSError as err:  # a symlink loop, a permission denied on the way ...
            raise ConfigError(f"{key}={wanted} cannot be used: {parent}: {err.strerror}") from None
    if not stat.S_ISDIR(found.st_mode):
        raise ConfigError(f"{key}={wanted} cannot be created: {parent} is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{key}={wanted} cannot be created: {parent} is not writable")
    try:  # what access() cannot tell (root on /proc, a read-only mount): make a dir there and take it away again
        os.rmdir(tempfile.mkdtemp(prefix=".rnnlab-probe-", dir=parent))
    except OSError as err:
        raise ConfigError(f"{key}={wanted} cannot be created: {parent}: {err.strerror}") from None


def output_dir(cfg: DictConfig, multirun: bool) -> Path:
    return Path(cfg.hydra.sweep.dir if multirun else cfg.hydra.run.dir).absolute()


def refuse_occupied(cfg: DictConfig, multirun: bool) -> None:
    """A new run or sweep goes into a dir of its own; resume=true / sweep.resume=true continue what is there."""
    where = output_dir(cfg, multirun)
    if foreign := foreign_files(where, multirun):
        key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise ConfigError(
            f"{key}={where} holds files that are not rnnlab's ({shown}): a run dir is new, empty or "
            f"an rnnlab run; give another {key}"
        )
    if multirun and not cfg.sweep.resume and sweep_holds_jobs(where):
        raise ConfigError(
            f"hydra.sweep.dir={where} holds a sweep already: add sweep.resume=true to finish it, or "
            "give a new hydra.sweep.dir"
        )
    if not multirun and not cfg.resume and holds_a_run(where) and not failed_run(where):
        raise ConfigError(
            f"hydra.run.dir={where} holds another run: add resume=true to continue it, or give a new hydra.run.dir"
        )


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
        raise ConfigError(
            f"{directory} is being written by another rnnlab process (pid {holder}): wait for it to "
            "finish, or give a new hydra.run.dir / hydra.sweep.dir"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    _held[directory] = fd
    try:
        yield
    finally:
        del _held[directory]
        os.close(fd)  # releases the lock; the file stays (removing it would race with a process opening it)


def check_out_dir(out: Path, shown: str, holds: str) -> None:
    """The out= dir of rnnlab-eval or rnnlab-predict, before any work: not a file, and creatable."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"out={shown} is a file: give a directory for {holds}")
    check_creatable(out.expanduser().absolute(), "out")
