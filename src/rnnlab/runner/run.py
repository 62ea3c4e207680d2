"""One run, start to end: config -> task, model, loss, optimizer -> train -> test -> reports.

    report = run(cfg, run_dir)      # a plain function: the CLI and the tests both call it

Everything is checked (validate, then the task/model/loss combination) before training starts, so a mistake in
the config costs nothing and writes no report.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from rnnlab import (
    files,  # files.write_atomic: one name a test can replace to fill the disk
)
from rnnlab.config.build import build
from rnnlab.config.compose import RECIPE_GROUPS, config_file
from rnnlab.config.validate import validate
from rnnlab.files import LAST
from rnnlab.models.losses import Loss
from rnnlab.reporting.describe import budget, describe, hparams, run_name
from rnnlab.reporting.figures import save_figure
from rnnlab.reporting.run_report import (
    by_length_key,
    by_length_name,
    fmt,
    markdown,
    write_by_length_csv,
)
from rnnlab.runner.parts import build_run, load_resume, resolve_device
from rnnlab.tasks.base import COUNTS, Task, abbreviate
from rnnlab.training.allocator import reuse_freed_memory
from rnnlab.training.checkpoints import Checkpoints
from rnnlab.training.loop import Interrupts, fit
from rnnlab.training.param_groups import describe_groups
from rnnlab.training.settings import TrainerSettings
from rnnlab.training.testing import TestOutcome, score_tests
from rnnlab.training.threads import ThreadPolicy, work_per_step

log = logging.getLogger(__name__)


def job_label() -> str:
    """What varied in this sweep job (its dir name after the number); empty for a single run or outside Hydra."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return ""
    return HydraConfig.get().job.override_dirname


def recipes_applied() -> list[str]:
    """The recipe files this run composed (conf/task_model_defaults/adding_lstm.yaml ...): Hydra names a choice for
    each optional recipe whether or not its file exists, so each is looked for in the run's config sources (rnnlab's
    own, then a user's --config-dir). Empty outside a Hydra run (a test calling run())."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return []
    runtime = HydraConfig.get().runtime
    user_dir = next(
        (s.path for s in runtime.config_sources if s.provider == "command-line" and s.schema == "file"), None
    )
    found = (config_file(f"{group}/{runtime.choices.get(group)}.yaml", user_dir) for group in RECIPE_GROUPS)
    return [where for where, _ in filter(None, found)]


class Timings(dict):
    """Seconds per phase of a run (report.json "timing"): `with timings("test"): ...`."""

    @contextmanager
    def __call__(self, phase: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self[phase] = round(self.get(phase, 0.0) + time.perf_counter() - started, 3)


def run(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any]:
    timings, run_dir = Timings(), Path(run_dir)
    with timings("setup"):
        settings = validate(cfg)
        device = resolve_device(cfg.device)
        trainer = TrainerSettings.resolve(settings.trainer, device)  # precision resolved once, for loop and report
        if cfg.reuse_memory:
            reuse_freed_memory()
        parts = build_run(cfg, device)
        threads = ThreadPolicy.for_run(cfg.threads, work_per_step(parts.model, trainer.batch_size), device)
        run_dir.mkdir(parents=True, exist_ok=True)
        resume = load_resume(cfg, run_dir, parts.model) if cfg.resume else None
        precision = trainer.resolved_precision
        checkpoints = Checkpoints(
            run_dir, {"config": OmegaConf.to_container(cfg, resolve=True), "precision": precision}
        )
        logger = build(cfg.logger, log_dir=run_dir)
        report = _header(cfg, parts.task, parts.model, parts.loss_fn, device, job_label())
    report["precision"] = precision
    if recipes := recipes_applied():
        report["recipes"] = recipes
    if groups := describe_groups(parts.optimizer):  # a model's own learning rates (training/param_groups.py)
        report["optimizer_groups"] = groups
    if resume is not None and resume.get("precision", precision) != precision:  # auto on another CPU, say
        report["precision_before_resume"] = resume["precision"]
        log.warning(
            "resumed in %s: the run trained in %s before (trainer.precision=%s on this device)",
            precision,
            resume["precision"],
            trainer.precision,
        )
    log.info(
        "%s (%s parameters) on %s, %d thread(s), %s",
        report["run"],
        f"{report['setup']['model']['params']:,}",
        device,
        torch.get_num_threads(),
        report["precision"],
    )
    if resume is not None:
        log.info("resuming from %s at step %d", run_dir / LAST, resume["trainer"]["step"])
    logger.start_session(hparams(report["setup"]))
    outcome = None
    try:
        with timings("train"):
            result = fit(parts, trainer, device, cfg.seed, logger, checkpoints, resume, threads)
        report.update(
            status=result.status,
            train=_training_summary(result),
            val=result.val or {},
            best_val=result.best_val,
            test={},
            timing=timings,
        )
        if result.steps < SMOKE_STEPS and not result.stopped_early:
            report["smoke_run"] = True  # said in report.md and on every figure: not a result to quote
        if result.signal is not None:
            report["signal"] = result.signal
        if result.status == "ok":  # an interrupted or diverged run is not tested: resume it, or rnnlab-eval last.pt
            with Interrupts() as interrupts, timings("test"):  # a signal while testing: as while training
                outcome = score_tests(
                    parts.model,
                    parts.loss_fn,
                    parts.task,
                    device,
                    _figure_title(report),
                    logger.samples,
                    stop=lambda: interrupts.signal is not None,
                )
            if outcome is None:  # last.pt says training finished: resume=true goes straight to the test
                report.update(status="interrupted", signal=interrupts.signal)
            else:
                with timings("figures"):  # plots, TensorBoard figures, by-length tables
                    publish(outcome, report, logger, result.steps, run_dir)
        logger.end_session(report["status"])
    finally:
        logger.close()
    _write_reports(report, outcome.samples if outcome else [], run_dir)
    return report


SMOKE_STEPS = 300  # fewer training steps than this is a run to see a setup work (debug=tiny: 20), not a result


def _figure_title(report: dict[str, Any]) -> str:
    return report["run"] + (f" [smoke run: {report['train']['steps']} steps]" if report.get("smoke_run") else "")


def _training_summary(result) -> dict[str, Any]:
    summary = {
        "steps": result.steps,
        "sequences_seen": result.sequences_seen,
        "wall_s": round(result.wall_s, 3),
        "samples_per_s": round(result.samples_per_s, 1),
        "stopped_early": result.stopped_early,
        "stopped_by": result.stopped_by,
    }
    if result.budget_s is not None:  # trainer.max_minutes: the seconds of the budget spent
        summary["budget_s"] = round(result.budget_s, 3)
    return summary


def _header(cfg: DictConfig, task: Task, model, loss_fn: Loss, device: torch.device, job: str) -> dict[str, Any]:
    described = describe(cfg, task, model, loss_fn, sum(p.numel() for p in model.parameters()))
    reference = task.reference()
    return {
        "status": "ok",
        "run": run_name(described, job),
        "task": task.name,
        "model": described["model"]["name"],
        "loss": loss_fn.name,
        "optimizer": described["optimizer"]["name"],
        "params": described["model"]["params"],
        "device": str(device),
        "seed": cfg.seed,
        "budget": budget(cfg),
        "metric": task.metric,
        "test_sequences": task.test_size,  # in each test set (each tested length): what a figure's point stands on
        "chance": task.chance,
        "length_label": task.length_label,  # what the by-length axis counts (MQAR: key-value pairs)
        **({"floor": task.floor} if task.floor != task.chance else {}),  # what a memoryless model reaches
        **({"reference": reference} if reference else {}),
        **({"published": task.published} if task.published else {}),  # by model: the comparison's anchor column
        **({"study": OmegaConf.to_container(cfg.study)} if cfg.get("study", {}).get("compare") else {}),
        "setup": described,
    }


def _write_reports(report: dict[str, Any], samples: list[str], run_dir: Path) -> None:
    files.write_json(run_dir / "report.json", report)
    files.write_atomic(run_dir / "report.md", markdown(report, samples))
    if report["test"]:
        log.info("test: %s", _summary(report["test"]))
    for key, table in report.items():
        if key.endswith("_by_length") and key != "test_by_length":
            log.info("%s: %s", key.replace("_", " "), ", ".join(f"{n}: {v:.4f}" for n, v in table.items()))
    log.info("report: %s", run_dir / "report.md")


def publish(outcome: TestOutcome, report: dict[str, Any], logger, step: int, run_dir: Path) -> None:
    """The one place test results leave the program: into the report, TensorBoard and PNG files."""
    report["test"] = outcome.metrics
    report.update(outcome.extras)
    scalars = _numbers("test", outcome.metrics)
    if outcome.by_length:
        headline = report["metric"]
        report[by_length_key(headline)] = {n: r[headline] for n, r in outcome.by_length.items()}
        report["test_by_length"] = outcome.by_length
        write_by_length_csv(run_dir / f"{by_length_name(headline)}.csv", outcome.by_length)
        scalars.update({f"test/{m}@{n}": v for n, r in outcome.by_length.items() for m, v in r.items()})
    if report.get("best_val") is not None:
        scalars[f"val/best_{report['metric']}"] = report["best_val"]
    logger.scalars(scalars, step)
    logger.text("test/summary", _test_table(report), step)
    for name, figure in outcome.figures.items():
        # not test/<name>: TensorBoard shows one plugin per tag, and test/recall_acc is also the headline scalar
        logger.figure(f"figures/{name}", figure, step)
        save_figure(figure, run_dir / f"{name}.png")  # and closed
    report["figures"] = list(outcome.figures)
    if outcome.samples:
        # Markdown in TensorBoard: one line each, verdict first, so a wrong answer shows without scrolling.
        logger.text("test/samples", "\n".join(f"    {s}" for s in outcome.samples), step)


def _test_table(report: dict[str, Any]) -> str:
    """The test results as a markdown table for TensorBoard's text tab."""
    lines = [f"**{report['run']}**", "", "| metric | value |", "|---|---|"]
    lines += [f"| test/{k} | {fmt(v)} |" for k, v in report["test"].items()]
    for length, row in report.get("test_by_length", {}).items():
        lines += [f"| test/{m}@{length} | {fmt(v)} |" for m, v in row.items()]
    return "\n".join(lines)


def _numbers(prefix: str, metrics: dict[str, Any]) -> dict[str, float]:
    """The numeric metrics as prefix/name scalars (counts and texts left out)."""
    return {f"{prefix}/{k}": float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and k not in COUNTS}


def _summary(metrics: dict[str, float]) -> str:
    """One log line: rates to 4 places, small numbers (an MSE of 6e-5) to 3 significant digits, a long generated
    text abbreviated (report.json has all of it)."""

    def number(v: float) -> str:
        return f"{v:.4f}" if abs(v) >= 0.01 or v == 0 else f"{v:.3g}"

    return ", ".join(
        f"{k}={number(v)}" if isinstance(v, float) else f"{k}={abbreviate(str(v), 60)}" for k, v in metrics.items()
    )
