"""A tuned comparison in two stages, so its seeds are spent on the settings that matter:

    rnnlab -m experiment=compare_mqar        # study.compare=model, study.tune=[optimizer.lr], seed=0,1,2

Stage 1 runs the grid (every model x every lr) at the first seed. For each compared value (and anything else that
varies, the task) the tuned setting with the best validation value is chosen (a tie, two rates at 100%, goes to the
lower validation loss); stage 2 runs that setting at the other seeds. 7 models x 3 rates x 3 seeds is 7 x 3 + 7 x 2
= 35 runs instead of 63. rnnlab-report then chooses in the same way (on the seeds every setting ran at, here the
first) and reports the test over all of the chosen setting's seeds. `study.select=all_seeds` runs the whole grid at
every seed instead, and chooses on the mean.

The jobs are the basic sweeper's own (a subset of its grid, in its order), so `sweep.resume` finds each by its
settings and a finished job returns its validation value again without training. The choice reads each first-stage
job's report.json (the finished job with its settings), so a resumed stage 1 chooses as a fresh one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rnnlab.files import read_report
from rnnlab.reporting.comparison import selection_key
from rnnlab.sweeps.jobs import finished_job

SEED = "seed"


def _key(job: Sequence[str]) -> list[tuple[str, str]]:
    return [tuple(o.split("=", 1)) for o in job if "=" in o]  # type: ignore[misc]


def split_stages(jobs: list[list[str]]) -> tuple[list[list[str]], list[list[str]]] | None:
    """(the jobs at the first seed, the rest); None where the seed is not swept over several values."""
    seeds = list(dict.fromkeys(v for job in jobs for k, v in _key(job) if k.lstrip("+") == SEED))
    if len(seeds) < 2:
        return None
    first = [job for job in jobs if (SEED, seeds[0]) in [(k.lstrip("+"), v) for k, v in _key(job)]]
    return first, [job for job in jobs if job not in first]


def _without(job: Sequence[str], keys: set[str]) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in _key(job) if k.lstrip("+") not in keys)


def first_stage_keys(sweep_dir: Path, first: list[list[str]], study: dict) -> list[tuple[float, float]]:
    """How each job of the first stage ranks, read from its report.json as rnnlab-report reads it (found by its
    settings, as sweep.resume finds it): its selection score, then the lower validation loss on a tie."""
    dirs = [finished_job(sweep_dir, job) for job in first]
    return [selection_key(read_report(done) if done else None, study) for done in dirs]


def chosen(
    first: list[list[str]], keys: Sequence[tuple[float, ...]], rest: list[list[str]], tune: list[str]
) -> list[list[str]]:
    """The jobs of `rest` whose tuned setting ranked first at the first seed (`first_stage_keys`), among the jobs
    that differ only in the tuned keys (a failed job ranks last: never chosen over one that finished)."""
    tuned = {*tune, SEED}
    best: dict[tuple, tuple[tuple[float, ...], tuple]] = {}
    for job, key in zip(first, keys):
        group, setting = _without(job, tuned), tuple((k, v) for k, v in _key(job) if k.lstrip("+") in tune)
        if group not in best or key > best[group][0]:
            best[group] = (tuple(key), setting)
    picked = []
    for job in rest:
        setting = tuple((k, v) for k, v in _key(job) if k.lstrip("+") in tune)
        if best.get(_without(job, tuned), (None, None))[1] == setting:
            picked.append(job)
    return picked
