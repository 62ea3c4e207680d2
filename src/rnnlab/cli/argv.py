"""The command line rnnlab hands to Hydra: job dirs named by what varies, the output dir pinned to the one checked;
and the key=value arguments of rnnlab-eval and rnnlab-predict.
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig

from rnnlab.cli.exits import fail
from rnnlab.config.hydra_internals import get_args_parser
from rnnlab.files import HYDRA_DIR, read_overrides
from rnnlab.sweeps.job_dirs import NAMING_KEY, naming_exclusions

RUN_DIR = "hydra.run.dir"


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def continue_from_run_dir(args: list[str]) -> list[str]:
    """`rnnlab resume=true hydra.run.dir=<dir>`: the run's own command line, read back from <dir>/.hydra (its
    overrides and the --config-dir it started with), under what is given beside it. resume's own checks then refuse
    what may not change (the model, the task ...) and allow what may (more steps)."""
    parsed = get_args_parser().parse_known_args(args)[0]
    given = {_key(o): o for o in parsed.overrides}
    if parsed.multirun or given.get("resume") != "resume=true" or RUN_DIR not in given:
        return args
    run_dir = Path(given[RUN_DIR].split("=", 1)[1].strip("'\""))
    saved = read_overrides(run_dir)
    if not saved:
        return args
    earlier = [o for o in saved if _key(o) not in given and _key(o) != "resume"]
    config_dir = [] if parsed.config_dir else _config_dir_of(run_dir)
    return [*config_dir, *earlier, *args]


def _config_dir_of(run_dir: Path) -> list[str]:
    """['--config-dir', DIR] where the run was started with one (Hydra records it in .hydra/hydra.yaml)."""
    import yaml

    try:
        hydra = yaml.safe_load((run_dir / HYDRA_DIR / "hydra.yaml").read_text())["hydra"]
        sources = hydra["runtime"]["config_sources"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return []
    found = [s["path"] for s in sources if s.get("provider") == "command-line" and s.get("schema") == "file"]
    return ["--config-dir", found[0]] if found else []


def name_jobs_by_what_varies(args: list[str], first: DictConfig) -> list[str]:
    """argv plus an override that leaves every setting all jobs of the sweep share out of their dir names, so that
    `-m task=index_recall model=rnn,lstm` names its jobs 0_model=rnn and 1_model=lstm. A user's own choice wins."""
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
