"""The command line rnnlab hands to Hydra: job dirs named by what varies, the output dir pinned to the one checked;
and the key=value arguments of rnnlab-eval and rnnlab-predict.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from rnnlab.cli.exits import fail
from rnnlab.sweeps.job_dirs import NAMING_KEY, naming_exclusions


def name_jobs_by_what_varies(args: list[str], first: DictConfig) -> list[str]:
    """argv plus an override that leaves every setting all jobs of the sweep share out of their dir names, so that
    `-m task=index_recall model=rnn,lstm` names its jobs 0_model=rnn and 1_model=lstm. A user's own choice wins."""
    from hydra._internal.utils import get_args_parser

    overrides = get_args_parser().parse_known_args(args)[0].overrides
    if any(o.split("=", 1)[0] == NAMING_KEY for o in overrides):
        return args
    return [*args, f"{NAMING_KEY}=[{','.join(naming_exclusions(overrides, first))}]"]


def pin_output_dir(args: list[str], directory: Path, multirun: bool) -> list[str]:
    """argv with hydra.run.dir (or hydra.sweep.dir) set to the dir already resolved, in place of any given."""
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    quoted = str(directory).replace("\\", "\\\\").replace("'", "\\'")
    return [a for a in args if not a.startswith(f"{key}=")] + [f"{key}='{quoted}'"]


def key_values(args: list[str], prog: str, usage: str, required: tuple[str, ...]) -> dict[str, str] | None:
    """key=value arguments of rnnlab-eval and rnnlab-predict; None when help was asked for."""
    if any(a in ("-h", "--help") for a in args):
        print(usage, end="")
        return None
    if bad := [a for a in args if "=" not in a]:
        fail(f"expected key=value, got {' '.join(bad)} (see {prog} --help)", prog)
    pairs = dict(a.split("=", 1) for a in args)
    for key in required:
        if not pairs.get(key):
            fail(f"{key}= is required (see {prog} --help)", prog)
    return pairs
