"""One run, start to end: config -> task, model, loss, optimizer -> train -> test -> reports.

    report = run(cfg, run_dir)      # a plain function: the CLI and the tests both call it

Everything is checked (validate, then the task/model/loss combination) before training starts, so a mistake in
the config costs nothing and writes no report.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from rnnlab import reports
from rnnlab.checkpoint import LAST, Checkpoints, load_checkpoint, resolve_checkpoint
from rnnlab.config import ConfigError, build, validate, validate_group
from rnnlab.losses import Loss
from rnnlab.models import RecurrentNet
from rnnlab.tasks.base import COUNTS, Task
from rnnlab.train import evaluate, fit

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device={name}: CUDA is not available on this machine; use device=auto or device=cpu")
        index = torch.device(name).index or 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device={name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return torch.device(name)


def flat_params(cfg: DictConfig) -> dict[str, Any]:
    """The run's settings as flat scalar columns (model.hidden_size ...) for the TensorBoard HPARAMS tab."""
    keep = {k: cfg[k] for k in ("task", "model", "loss", "optimizer", "scheduler", "trainer", "seed")}
    flat: dict[str, Any] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key not in ("_partial_",):
                    walk(f"{prefix}.{key}" if prefix else key, value)
        else:
            flat[prefix] = node if isinstance(node, (int, float, str, bool)) else str(node)

    walk("", OmegaConf.to_container(OmegaConf.create(keep), resolve=True))
    return flat


def build_run(cfg: DictConfig, device: torch.device) -> tuple[Task, RecurrentNet, Loss, torch.optim.Optimizer, Any]:
    """All the objects of a run, from the config alone; raises ConfigError for combinations that make no sense."""
    task: Task = build(cfg.task)
    task.check_model(cfg.model)
    loss_fn: Loss = build(cfg.loss)
    loss_fn.check(task)
    torch.manual_seed(cfg.seed)  # model initialisation
    model: RecurrentNet = build(
        cfg.model, input_size=task.input_size, output_size=loss_fn.num_outputs(task.num_classes), per_step=task.per_step
    ).to(device)
    optimizer = build(cfg.optimizer)(model.parameters())
    scheduler = build(cfg.scheduler)(optimizer)
    return task, model, loss_fn, optimizer, scheduler


RESUME_MUST_MATCH = ("task", "model", "loss", "optimizer", "scheduler", "seed")


def _resume_payload(cfg: DictConfig, run_dir: Path) -> dict[str, Any] | None:
    """The last.pt to continue from (resume=true), after checking it belongs to this config."""
    if not cfg.resume:
        return None
    if not (run_dir / LAST).exists():
        raise ConfigError(f"resume=true: no {LAST} in {run_dir}; pass hydra.run.dir=<the dir of the run to continue>")
    payload = load_checkpoint(run_dir / LAST)
    saved, current = payload["config"], OmegaConf.to_container(cfg, resolve=True)
    for key in RESUME_MUST_MATCH:
        if saved[key] != current[key]:
            raise ConfigError(f"resume=true: {key} differs from the checkpoint's ({run_dir / LAST}); resume with the same {key}")
    return payload


def use_thread_budget() -> None:
    """Take as many CPU threads as the launcher gave this job. Ray sets OMP_NUM_THREADS to each job's num_cpus,
    but torch reads it once per process, and Ray runs one job after another in the same worker processes."""
    wanted = os.environ.get("OMP_NUM_THREADS", "")
    if wanted.isdigit() and int(wanted) > 0:
        torch.set_num_threads(int(wanted))


def run(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any]:
    validate(cfg)
    use_thread_budget()
    device = resolve_device(cfg.device)
    task, model, loss_fn, optimizer, scheduler = build_run(cfg, device)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    resume = _resume_payload(cfg, run_dir)
    checkpoints = Checkpoints(run_dir, {"config": OmegaConf.to_container(cfg, resolve=True)})
    logger = build(cfg.logger, log_dir=run_dir)
    n_params = sum(p.numel() for p in model.parameters())
    log.info("%s: %s (%s parameters) with %s on %s", task.name, model.name, f"{n_params:,}", loss_fn.name, device)
    if resume is not None:
        log.info("resuming from %s at step %d", run_dir / LAST, resume["trainer"]["step"])

    samples: list[str] = []
    try:
        result = fit(model, task, loss_fn, optimizer, scheduler, cfg.trainer, device, cfg.seed, logger, checkpoints, resume)
        report = _header(task, model, cfg, loss_fn, n_params, device)
        report.update(
            status=result.status,
            train={
                "steps": result.steps,
                "sequences_seen": result.sequences_seen,
                "wall_s": round(result.wall_s, 3),
                "samples_per_s": round(result.samples_per_s, 1),
                "stopped_early": result.stopped_early,
            },
            val=result.val or {},
            test={},
        )
        if result.signal is not None:
            report["signal"] = result.signal
        if result.status == "ok":  # an interrupted or diverged run is not tested: resume it, or rnnlab-eval last.pt
            samples = test_and_report(model, loss_fn, task, device, report, logger, result.steps, run_dir)
            logger.hparams(flat_params(cfg), _numbers("test", report["test"]))
    finally:
        logger.close()
    _write_reports(report, samples, run_dir)
    return report


def evaluate_checkpoint(path: str | Path, overrides: list[str], out_dir: str | Path) -> dict[str, Any]:
    """rnnlab-eval: re-test a saved model, optionally with other task settings (e.g. task.test_lengths=[2000])."""
    payload = load_checkpoint(path)
    cfg = OmegaConf.create(payload["config"])
    OmegaConf.set_struct(cfg, True)  # an override may change keys, not invent them
    try:
        cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist(overrides))
    except Exception as err:  # unknown key or unreadable value
        raise ConfigError(f"cannot apply {' '.join(overrides)}: {str(err).splitlines()[0]}") from None
    validate_group(cfg, "task")
    device = resolve_device(cfg.device)
    task, model, loss_fn, _, _ = build_run(cfg, device)
    model.load_state_dict(payload["model"])
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    logger = build(cfg.logger, log_dir=out_dir)
    step = payload.get("step", payload.get("trainer", {}).get("step", 0))
    report = _header(task, model, cfg, loss_fn, sum(p.numel() for p in model.parameters()), device)
    report.update(status="ok", checkpoint=str(resolve_checkpoint(path)), step=step, test={})
    try:
        samples = test_and_report(model, loss_fn, task, device, report, logger, step, out_dir)
    finally:
        logger.close()
    _write_reports(report, samples, out_dir)
    return report


def _header(task: Task, model, cfg: DictConfig, loss_fn: Loss, n_params: int, device: torch.device) -> dict[str, Any]:
    return {
        "status": "ok",
        "task": task.name,
        "model": model.name,
        "loss": loss_fn.name,
        "optimizer": cfg.optimizer._target_.rsplit(".", 1)[-1].lower(),
        "params": n_params,
        "device": str(device),
        "seed": cfg.seed,
        "metric": task.metric,
    }


def _write_reports(report: dict[str, Any], samples: list[str], run_dir: Path) -> None:
    reports.write_json(run_dir / "report.json", report)
    reports.write_atomic(run_dir / "report.md", reports.markdown(report, samples))
    if report["test"]:
        log.info("test: %s", _summary(report["test"]))
    for key, table in report.items():
        if key.endswith("_by_length"):
            log.info("%s: %s", key.replace("_", " "), ", ".join(f"{n}: {v:.4f}" for n, v in table.items()))
    log.info("report: %s", run_dir / "report.md")


def test_and_report(model, loss_fn, task, device, report, logger, step, run_dir) -> list[str]:
    """Score every test set, fill report["test"] (and the by-length table), log, plot; return text samples."""
    results, samples = {}, []
    test_sets = task.test_sets(device)
    for name, batch in test_sets.items():
        metrics, predictions = evaluate(model, loss_fn, task, batch)
        results[name] = metrics
        task.report_extras(predictions, batch, report, run_dir, logger, step)
        samples += [f"[{name}] " + task.describe(batch, predictions, i) for i in range(min(logger.samples, len(batch)))]
    # The test summary is the mean over test sets, each length counting once (counts add up).
    keys = [k for k in next(iter(results.values())) if k != "loss"]
    report["test"] = {
        k: sum(r[k] for r in results.values()) if k in COUNTS else sum(r[k] for r in results.values()) / len(results)
        for k in keys
    }
    report["test"].update(task.extra_tests(model, device))
    logger.scalars(_numbers("test", report["test"]), step)
    if task.test_lengths:
        name = reports.by_length_name(task.metric)
        report[f"{name}_by_length"] = {length: r[task.metric] for length, r in results.items()}
        rows = {length: {k: r[k] for k in keys if k not in COUNTS} for length, r in results.items()}
        reports.write_by_length_csv(run_dir / f"{name}.csv", rows)
        figure = reports.plot_by_length(
            report[f"{name}_by_length"], name.replace("_", " "), f"{task.name}: {name.replace('_', ' ')} by length"
        )
        reports.save_figure(figure, run_dir / f"{name}.png")
        logger.figure(f"test/{name}_by_length", figure, step)
    if getattr(model, "attention", None) is not None:
        _plot_attention(model, next(iter(test_sets.values())), run_dir, logger, step)
    if samples:
        logger.text("test/samples", "\n".join(f"    {s}" for s in samples), step)
    return samples


def _plot_attention(model, batch, run_dir, logger, step) -> None:
    batch = batch[:8]
    with torch.no_grad():
        model.eval()
        model(batch.x, batch.lengths)
    weights = [w[: int(n)].tolist() for w, n in zip(model.last_attention, batch.lengths)]
    figure = reports.plot_attention(weights, [f"seq {i}" for i in range(len(weights))])
    reports.save_figure(figure, run_dir / "attention.png")
    logger.figure("test/attention", figure, step)


def _numbers(prefix: str, metrics: dict[str, Any]) -> dict[str, float]:
    """The numeric metrics as prefix/name scalars (counts and texts left out)."""
    return {f"{prefix}/{k}": float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and k not in ("n", "wrong")}


def _summary(metrics: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items())
