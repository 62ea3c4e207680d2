"""Command-line entry points.

    rnnlab task=index_recall model=gru model.hidden_size=10       # train, then test; reports in the run dir
    rnnlab -m task=index_recall model=rnn,lstm,gru                # a sweep, one run dir per job
    rnnlab --help                                                 # groups, options and the composed config

Before Hydra starts, every configuration the command line asks for (each combination of a sweep) is composed
and checked, so a mistake is one line on stderr and exit code 2, with no run dir, no report and no torch import.
HYDRA_FULL_ERROR=1 shows the full traceback instead.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import logging
import math
import os
import sys
import warnings
from dataclasses import fields, is_dataclass
from pathlib import Path

import hydra
from hydra import compose, initialize_config_module
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from rnnlab.config import ConfigError, expected_type, validate

log = logging.getLogger("rnnlab")
USAGE_ERROR = 2
FAILED_SCORE = 0.0  # what a failed job of a sweep returns to the sweeper
CONFIG_MODULE = "rnnlab.conf"
MAX_CHECKED_COMBINATIONS = 256  # a bigger sweep has its first 256 jobs checked up front
# Launchers and sweepers that come with an extra, by the module their config's _target_ lives in.
EXTRAS = {
    "hydra_plugins.hydra_ray_launcher": "ray",
    "hydra_plugins.hydra_submitit_launcher": "slurm",
    "hydra_plugins.hydra_optuna_sweeper": "optuna",
    "hydra_plugins.rnnlab_optuna": "optuna",
}
PLUGIN_OPTIONS = {  # options that exist only once their plugin is installed, with that plugin
    "hydra/launcher/submitit_local": "hydra_plugins.hydra_submitit_launcher",
    "hydra/launcher/submitit_slurm": "hydra_plugins.hydra_submitit_launcher",
    "hydra/sweeper/optuna": "hydra_plugins.hydra_optuna_sweeper",
}


def _fail(message: str, prog: str = "rnnlab") -> None:
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(USAGE_ERROR)


def _full_errors() -> bool:
    return os.environ.get("HYDRA_FULL_ERROR") == "1"


def expand_jobs(overrides: list[str]) -> list[list[str]]:
    """The override lists of every job a (multi)run would start; interval sweeps (Optuna) are left out."""
    choices = []
    for override in OverridesParser.create().parse_overrides(overrides):
        if override.is_sweep_override() and not override.is_interval_sweep():
            key = override.get_key_element()
            choices.append([f"{key}={value}" for value in override.sweep_string_iterator()])
        elif not override.is_sweep_override():
            choices.append([override.input_line])
    return [list(c) for c in itertools.islice(itertools.product(*choices), MAX_CHECKED_COMBINATIONS)]


def explain(err: Exception, overrides: list[str]) -> str:
    """One line for a Hydra/OmegaConf composition error: the key, the bad value, what is allowed."""
    if isinstance(err, MissingConfigException) and err.missing_cfg_file:
        group, _, option = err.missing_cfg_file.rpartition("/")
        plugin = PLUGIN_OPTIONS.get(err.missing_cfg_file)
        if plugin and not _installed(plugin):
            return f"{group}={option} needs the {EXTRAS[plugin]} extra: pip install 'rnnlab[{EXTRAS[plugin]}]'"
        allowed = ", ".join(err.options or []) or "none found"
        return f"{group}={option} is not an option: choose one of {allowed}"
    if isinstance(err, OverrideParseException):
        return f"cannot read the override '{err.override}': {err.message.splitlines()[0]}"
    cause = err.__cause__ if isinstance(err.__cause__, OmegaConfBaseException) else err
    key = getattr(cause, "full_key", None)
    message = str(getattr(cause, "msg", None) or cause).splitlines()[0]
    if key and "not in" in message:
        schema = getattr(cause, "object_type", None)
        valid = [f.name for f in fields(schema) if not f.name.startswith("_")] if is_dataclass(schema) else []
        group = key.rsplit(".", 1)[0]
        return f"{key} is not a key of {group}" + (f": choose one of {', '.join(valid)}" if valid else "")
    if key:
        given = next((o.split("=", 1)[1] for o in overrides if o.lstrip("+~").split("=", 1)[0] == key.split("[")[0]), None)
        allowed = expected_type(message)
        shown = f"{key.split('[')[0]}={given}" if given is not None else key
        return f"{shown} is not allowed: {allowed}"
    return message


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False


def _check_plugins(cfg: DictConfig) -> None:
    """The launcher and sweeper picked must be installed (ray, submitit, optuna come with extras)."""
    for kind in ("launcher", "sweeper"):
        module = cfg.hydra[kind]._target_.rsplit(".", 1)[0]
        package = ".".join(module.split(".")[:2])
        if package in EXTRAS and not _installed(module):
            choice = cfg.hydra.runtime.choices.get(f"hydra/{kind}", kind)
            raise ConfigError(f"hydra/{kind}={choice} needs the {EXTRAS[package]} extra: "
                              f"pip install 'rnnlab[{EXTRAS[package]}]'")


def _register_plugins() -> None:
    """Hydra finds plugins by scanning hydra_plugins/ on disk, which misses ours in an editable install."""
    from hydra.core.plugins import Plugins

    try:
        from hydra_plugins.rnnlab_optuna.resumable_optuna_sweeper import ResumableOptunaSweeper
    except ImportError:  # no optuna extra
        return
    Plugins.instance().register(ResumableOptunaSweeper)


def _check_output_dir(cfg: DictConfig, multirun: bool) -> None:
    """The run (or sweep) dir must be creatable: its nearest existing parent a writable directory."""
    HydraConfig.instance().set_config(cfg)  # lets ${now:...} and ${hydra:...} in the dir resolve
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    wanted = Path(cfg.hydra.sweep.dir if multirun else cfg.hydra.run.dir).absolute()
    parent = wanted
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{key}={wanted} cannot be created: {parent} is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{key}={wanted} cannot be created: {parent} is not writable")


def check_command_line(args: list[str], config_name: str = "config") -> DictConfig | None:
    """Compose and validate every job the command line asks for; exit 2 with one line at the first mistake.
    Returns the first job's config with its hydra node (None when Hydra answers the command itself)."""
    from hydra._internal.utils import get_args_parser  # Hydra's own parser: the same reading of argv as @hydra.main

    parsed, _ = get_args_parser().parse_known_args(args)
    if parsed.help or parsed.hydra_help or parsed.cfg or parsed.info or parsed.shell_completion:
        return None  # Hydra answers these itself
    try:
        jobs = expand_jobs(parsed.overrides)
        with initialize_config_module(CONFIG_MODULE, version_base="1.3"):
            # The cheap checks first, for every job: no torch import before a typo is found. The first job is
            # composed with its hydra node (launcher, sweeper, output dir) for the checks below.
            first = compose(config_name, overrides=jobs[0] if jobs else [], return_hydra_config=True)
            configs = [first, *(compose(config_name, overrides=overrides) for overrides in jobs[1:])]
            for cfg in configs:
                validate(cfg)
            _check_plugins(first)
            _check_output_dir(first, parsed.multirun)
            if first.resume and not parsed.multirun:
                from rnnlab.run_files import LAST

                run_dir = Path(first.hydra.run.dir).absolute()
                if not (run_dir / LAST).exists():
                    raise ConfigError(f"resume=true: no {LAST} in {run_dir}; pass hydra.run.dir=<the dir of the run to continue>")
            if parsed.multirun:  # combinations (loss x task, attention x task) too, before any job starts
                from rnnlab.runner import build_parts, resolve_device

                for cfg in configs:
                    build_parts(cfg, resolve_device("cpu"))
            return first
    except ConfigError as err:
        if _full_errors():
            raise
        _fail(str(err))
    except (HydraException, OmegaConfBaseException) as err:
        if _full_errors():
            raise
        _fail(explain(err, parsed.overrides))


@hydra.main(version_base="1.3", config_path="pkg://rnnlab.conf", config_name="config")
def _train(cfg: DictConfig) -> float:
    from rnnlab.reports import write_json
    from rnnlab.runner import run  # torch loads here, after the command line was found sound

    hydra_cfg = HydraConfig.get()
    out = Path(hydra_cfg.runtime.output_dir)
    in_sweep = hydra_cfg.mode == RunMode.MULTIRUN
    if in_sweep and cfg.sweep.resume and (done := _finished_job(out.parent, list(hydra_cfg.overrides.task))):
        log.info("sweep.resume: done already in %s, skipped", done)
        finished = json.loads((done / "report.json").read_text())
        return finished["val"].get(finished["metric"], math.nan)
    failure = None
    try:
        report = run(cfg, out)
    except ConfigError as err:  # what needs torch to check: the device, task/model/loss combinations
        if _full_errors():
            raise
        if not in_sweep:
            _fail(str(err))
        failure = f"error: {err}"
    except Exception as err:  # a bug or a broken environment: in a sweep, this job fails and the others run on
        if not in_sweep:
            raise
        log.exception("job failed")  # the traceback goes to this job's rnnlab.log
        failure = f"failed: {type(err).__name__}: {err}"
    if failure is not None:  # the job never produced a report of its own: say why in its place
        report = {"status": failure, "test": {}}
        write_json(out / "report.json", report)
    if report["status"] == "interrupted":
        again = (f"the same command with sweep.resume=true hydra.sweep.dir={out.parent}" if in_sweep
                 else f"resume=true hydra.run.dir={out}")
        print(f"rnnlab: interrupted at step {report['train']['steps']}; last.pt saved: continue with {again}",
              file=sys.stderr)
        sys.exit(128 + report["signal"])  # the shell's convention: 130 for SIGINT, 143 for SIGTERM; ends a sweep too
    if report["status"] != "ok":
        print(f"rnnlab: {report['status']}", file=sys.stderr)
        if not in_sweep:
            sys.exit(1)
        # The worst accuracy, not nan: Hydra's Optuna sweeper stops the whole search on a nan (its tell() fails).
        return FAILED_SCORE
    return report["val"][report["metric"]]  # what a sweeper (Optuna) maximises


def _overrides_without_resume(overrides: list[str]) -> list[str]:
    return sorted(o for o in overrides if not o.startswith("sweep.resume="))


def _job_overrides(job: Path) -> list[str] | None:
    try:
        return _overrides_without_resume(yaml.safe_load((job / ".hydra" / "overrides.yaml").read_text()) or [])
    except (OSError, ValueError):
        return None


def _job_status(job: Path) -> str:
    try:
        return json.loads((job / "report.json").read_text())["status"]
    except (OSError, ValueError, KeyError, TypeError):
        return "no report.json"


def _finished_job(sweep_dir: Path, overrides: list[str]) -> Path | None:
    """A job dir in the sweep with the same overrides and an ok report."""
    wanted = _overrides_without_resume(overrides)
    for report in sorted(sweep_dir.glob("*/report.json")):
        if _job_overrides(report.parent) == wanted and _job_status(report.parent) == "ok":
            return report.parent
    return None


class FailedJobs(Callback):
    """At the end of a sweep: list the jobs whose report is not ok; the rnnlab command then exits 1."""

    failed: list[str] = []

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        jobs = sorted((p for p in sweep_dir.iterdir() if (p / ".hydra").is_dir()), key=lambda p: (len(p.name), p.name))
        status = {job: _job_status(job) for job in jobs}
        # A job that failed but was run again with the same overrides (a resumed Optuna trial) counts as done.
        overrides = {job: _job_overrides(job) for job in jobs}
        done = [overrides[job] for job in jobs if status[job] == "ok" and overrides[job] is not None]
        for job in jobs:
            if status[job] != "ok" and (overrides[job] is None or overrides[job] not in done):
                FailedJobs.failed.append(f"{job}: {status[job]}")
        if FailedJobs.failed:
            print(f"rnnlab: {len(FailedJobs.failed)} of {len(jobs)} jobs failed:", file=sys.stderr)
            for line in FailedJobs.failed:
                print(f"  {line}", file=sys.stderr)


NAMING_KEY = "hydra.job.config.override_dirname.exclude_keys"


def name_jobs_by_what_varies(args: list[str], first: DictConfig) -> list[str]:
    """argv plus an override that leaves every setting all jobs of the sweep share out of their dir names, so that
    `-m task=index_recall model=rnn,lstm` names its jobs 0_model=rnn and 1_model=lstm. A user's own choice wins."""
    from hydra._internal.utils import get_args_parser

    overrides = OverridesParser.create().parse_overrides(get_args_parser().parse_known_args(args)[0].overrides)
    if any(o.key_or_group == NAMING_KEY for o in overrides):
        return args
    shared = [o.key_or_group for o in overrides if not o.is_sweep_override() and not o.is_hydra_override()]
    excluded = list(first.hydra.job.config.override_dirname.exclude_keys) + shared
    return [*args, f"{NAMING_KEY}=[{','.join(excluded)}]"]


def train() -> None:
    """The rnnlab command."""
    # conf/hydra/launcher/ray.yaml takes the place of the Ray plugin's config of the same name on purpose (its keys
    # then exist without `+`); Hydra 1.3 still merges the two and warns that it may stop doing so in a later major.
    warnings.filterwarnings("ignore", message=r"\s*'hydra/launcher/ray' is validated against ConfigStore schema")
    first = check_command_line(sys.argv[1:])
    if {"-m", "--multirun"} & set(sys.argv[1:]):  # sweepers only take part in a multirun (and optuna loads slowly)
        _register_plugins()
        if first is not None:
            sys.argv = [sys.argv[0], *name_jobs_by_what_varies(sys.argv[1:], first)]
    _train()
    if FailedJobs.failed:
        sys.exit(1)


EVAL_USAGE = """usage: rnnlab-eval checkpoint=<run dir or .pt file> [out=<dir>] [key=value ...]

Re-tests a saved model and writes report.json, report.md (and per-length files) to out
(default: <run dir>/eval/<date_time>). Other key=value pairs change the saved config, e.g.
  rnnlab-eval checkpoint=outputs/binary_addition/2026-11-23_10-00-00 'task.test_lengths=[2000]' device=cpu
"""


def _key_values(args: list[str], prog: str, usage: str, required: tuple[str, ...]) -> dict[str, str] | None:
    """key=value arguments of rnnlab-eval and rnnlab-predict; None when help was asked for."""
    if any(a in ("-h", "--help") for a in args):
        print(usage, end="")
        return None
    if bad := [a for a in args if "=" not in a]:
        _fail(f"expected key=value, got {' '.join(bad)} (see {prog} --help)", prog)
    pairs = dict(a.split("=", 1) for a in args)
    for key in required:
        if not pairs.get(key):
            _fail(f"{key}= is required (see {prog} --help)", prog)
    return pairs


def evaluate(argv: list[str] | None = None) -> None:
    """The rnnlab-eval command."""
    pairs = _key_values(sys.argv[1:] if argv is None else argv, "rnnlab-eval", EVAL_USAGE, ("checkpoint",))
    if pairs is None:
        return
    from datetime import datetime

    from rnnlab.checkpoint import resolve_checkpoint
    from rnnlab.runner import evaluate_checkpoint

    try:
        path = resolve_checkpoint(pairs.pop("checkpoint"))
        out = pairs.pop("out", None) or path.parent / "eval" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        evaluate_checkpoint(path, [f"{k}={v}" for k, v in pairs.items()], Path(out))
    except ConfigError as err:
        if _full_errors():
            raise
        _fail(str(err), "rnnlab-eval")


PREDICT_USAGE = """usage: rnnlab-predict checkpoint=<run dir or .pt file> inputs=<file, directory or glob> [out=<dir>] [device=cpu]

Predicts the digit in each image (PNG, JPG, BMP ...: a photo or scan of one handwritten digit) with a model
trained on the mnist task. Prints one line per file and writes <out>/predictions.csv (default: the current dir).
An unreadable file gets an error line and the others are still predicted; the exit code is 1 if any failed.
"""


def predict(argv: list[str] | None = None) -> None:
    """The rnnlab-predict command."""
    pairs = _key_values(sys.argv[1:] if argv is None else argv, "rnnlab-predict", PREDICT_USAGE, ("checkpoint", "inputs"))
    if pairs is None:
        return
    if unknown := set(pairs) - {"checkpoint", "inputs", "out", "device"}:
        _fail(f"unknown key {', '.join(sorted(unknown))}: use checkpoint, inputs, out, device", "rnnlab-predict")
    from rnnlab.predict import find_inputs, predict_files, write_predictions
    from rnnlab.runner import resolve_device

    try:
        paths = find_inputs(pairs["inputs"])
        results = predict_files(pairs["checkpoint"], paths, resolve_device(pairs.get("device", "auto")))
    except ConfigError as err:
        if _full_errors():
            raise
        _fail(str(err), "rnnlab-predict")
    width = max(len(str(r.path)) for r in results)
    for r in results:
        if r.error is None:
            print(f"{str(r.path):<{width}}  {r.digit}  {r.probability:.3f}")
        else:
            print(f"rnnlab-predict: error: {r.path}: {r.error}", file=sys.stderr)
    out = Path(pairs.get("out", "."))
    out.mkdir(parents=True, exist_ok=True)
    write_predictions(out / "predictions.csv", results)
    failed = sum(r.error is not None for r in results)
    print(f"{len(results) - failed} predicted, {failed} failed -> {out / 'predictions.csv'}")
    if failed:
        sys.exit(1)
