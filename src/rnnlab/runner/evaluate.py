"""rnnlab-eval's work: load a checkpoint, apply the task settings asked for, test, and write the reports.

report = evaluate_checkpoint(path, ['task.test_lengths=[2000]'], out_dir)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from rnnlab.config.build import build
from rnnlab.config.schemas import GROUPS
from rnnlab.config.validate import validate
from rnnlab.errors import ConfigError
from rnnlab.runner.parts import build_parts, resolve_device
from rnnlab.runner.run import _header, _write_reports, publish
from rnnlab.training.checkpoints import load_checkpoint, resolve_checkpoint
from rnnlab.training.testing import score_tests

SAVED_WITH_THE_WEIGHTS = ("model", "loss")  # config groups rnnlab-eval cannot change
ONLY_TRAINING = ("optimizer", "scheduler", "trainer", "resume", "sweep")  # keys that mean nothing to a re-test


def evaluate_checkpoint(path: str | Path, overrides: list[str], out_dir: str | Path) -> dict[str, Any]:
    """rnnlab-eval: re-test a saved model, optionally with other task settings (e.g. task.test_lengths=[2000])."""
    payload = load_checkpoint(path)
    cfg = OmegaConf.create(payload["config"])
    OmegaConf.set_struct(cfg, True)  # an override may change keys, not invent them
    keys = [o.split("=", 1)[0] for o in overrides]
    if choice := next((k for k in keys if k in GROUPS), None):
        raise ConfigError(
            f"{choice}=: rnnlab-eval re-tests the saved run with its own {choice}; change its keys "
            f"instead (task.test_lengths=[...], logger.samples=...)"
        )
    if cannot := next((k for k in keys if k.split(".", 1)[0] in ONLY_TRAINING), None):
        raise ConfigError(
            f"{cannot}: rnnlab-eval re-tests, it does not train, so {cannot} would change nothing; "
            "change the task, device, seed or logger"
        )
    if fixed := [o for o in overrides if o.split("=", 1)[0].split(".", 1)[0] in SAVED_WITH_THE_WEIGHTS]:
        raise ConfigError(
            f"{fixed[0]}: rnnlab-eval re-tests the saved model, whose weights fix the model and the "
            "loss; change the task, device or seed"
        )
    try:
        merged = OmegaConf.merge(cfg, OmegaConf.from_dotlist(overrides))
    except Exception as err:  # unknown key or unreadable value
        raise ConfigError(f"cannot apply {' '.join(overrides)}: {str(err).splitlines()[0]}") from None
    assert isinstance(merged, DictConfig)  # a mapping merged with a dotlist
    cfg = merged
    validate(cfg)  # every key through the schemas rnnlab itself uses; a user's model is imported here
    device = resolve_device(cfg.device)
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise ConfigError(f"out={out_dir} is a file: give a directory for the evaluation's reports")
    task, model, loss_fn = build_parts(cfg, device)
    model.load_state_dict(payload["model"])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    logger = build(cfg.logger, log_dir=out_dir)
    step = payload.get("step", payload.get("trainer", {}).get("step", 0))
    checkpoint = resolve_checkpoint(path)  # named in the run's title: beside a sweep's jobs, which one this re-tests
    report = _header(cfg, task, model, loss_fn, device, f"evaluation of {checkpoint.parent.name}/{checkpoint.name}")
    report.update(status="ok", checkpoint=str(checkpoint), step=step, test={})
    try:
        outcome = score_tests(model, loss_fn, task, device, report["run"], logger.samples)
        assert outcome is not None  # None only when its stop() says so, and none is given here
        publish(outcome, report, logger, step, out_dir)
    finally:
        logger.close()
    _write_reports(report, outcome.samples, out_dir)
    return report
