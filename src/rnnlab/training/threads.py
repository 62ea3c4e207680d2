"""How many CPU threads torch uses for a run: never more than help, never oversubscribed.

    policy = ThreadPolicy.for_run(cfg.threads, work_per_step, device)   # at the start of a run
    policy.adapt()                                                      # now and then in the training loop

Measured on a 2-core CPU (sequences/s, one thread / two threads):
                           addition         recall           temporal order   MNIST 2x128
    quiet:                 14,000 / 12,900  22,200 / 21,500  4,500 / 6,500    1,500 / 3,000
    one competing process: 16,300 /  2,400  12,700 /  4,300  8,000 / 1,800    1,600 /   670
Two threads on two cores wait for each other at every op, and as soon as another process takes a core that wait
becomes a descheduled thread: 4-7x slower. So: small models always get one thread (a second buys at most 1.4x
when quiet). Large ones get every core of the job while the machine is otherwise idle, and one thread while
anything else competes; the policy looks again every few seconds (the runnable count in /proc/loadavg).
`threads=N` on the command line, or OMP_NUM_THREADS (set by launchers such as Ray and joblib for each job), wins.
"""

from __future__ import annotations

import logging
import os
import time

import torch

log = logging.getLogger(__name__)
LARGE = (
    1 << 21
)  # multiply-adds per time step from which a second thread pays (MNIST 2x128: ~13M; temporal order: ~0.2M)
RECHECK_S = 5.0


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def others_running() -> int | None:
    """Runnable threads on the machine besides this process's torch threads; None where it cannot be read."""
    try:
        with open("/proc/loadavg") as f:
            running = int(f.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None
    return max(0, running - torch.get_num_threads())


def work_per_step(model, batch_size: int) -> int:
    """Multiply-adds of one time step of the recurrent layers for a batch: what more threads could share."""
    recurrent = [p for name, p in model.named_parameters() if name.startswith("rnn.weight")]
    # a model of the user's own: its weight matrices, an upper bound on what one step multiplies
    return batch_size * sum(p.numel() for p in recurrent or [p for p in model.parameters() if p.dim() >= 2])


class ThreadPolicy:
    def __init__(self, fixed: int | None, large: bool, available: int) -> None:
        self.fixed, self.large, self.available = fixed, large, available
        self._checked = 0.0

    @classmethod
    def for_run(cls, setting: str | int, work: int, device: torch.device) -> ThreadPolicy:
        from_env = os.environ.get("OMP_NUM_THREADS", "")
        fixed: int | None
        if setting != "auto":
            fixed = min(int(setting), cores())
            if fixed < int(setting):  # more threads than cores only wait for each other
                log.warning("threads=%s: this machine gives the run %d cores; using %d threads", setting, fixed, fixed)
        elif from_env.isdigit() and int(from_env) > 0:
            fixed = int(from_env)
        else:
            fixed = 1 if device.type != "cpu" else None  # on a GPU, the CPU thread only launches kernels
        policy = cls(fixed, work >= LARGE, cores())
        policy.adapt(force=True)
        return policy

    @property
    def wanted(self) -> int:
        if self.fixed is not None:
            return self.fixed
        if not self.large or self.available == 1:
            return 1
        busy = others_running()
        return 1 if busy is None or busy > 0 else self.available

    def adapt(self, force: bool = False) -> None:
        """Set the thread count; for a large model on auto, at most every RECHECK_S seconds."""
        now = time.monotonic()
        if not force and (self.fixed is not None or not self.large or now - self._checked < RECHECK_S):
            return
        self._checked = now
        if torch.get_num_threads() != (wanted := self.wanted):
            torch.set_num_threads(wanted)
