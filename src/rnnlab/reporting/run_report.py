"""What every run dir gets for people and tools besides its figures: report.md, the per-length CSV, and the names
and number formats the reports share. Written through rnnlab.files (atomic); no matplotlib here.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from rnnlab.files import write_atomic
from rnnlab.reporting.describe import budget_text

# The by-length breakdown is named after the task's headline metric.
BY_LENGTH_NAMES = {"acc": "accuracy", "bit_acc": "bit_accuracy", "step_acc": "step_accuracy"}


def by_length_name(metric: str) -> str:
    return BY_LENGTH_NAMES.get(metric, metric)


def by_length_key(metric: str) -> str:
    """The report.json key of the headline metric by length: bit_accuracy_by_length, accuracy_by_length ..."""
    return f"{by_length_name(metric)}_by_length"


def write_by_length_csv(path: Path, rows: dict[str, dict[str, float]]) -> None:
    """rows: {length: {metric: value}} -> CSV with a length column and one column per metric."""
    metrics = list(next(iter(rows.values())))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["length", *metrics])
    for length, values in rows.items():
        writer.writerow([length, *(values[m] for m in metrics)])
    write_atomic(path, out.getvalue())


def fmt(value: Any) -> str:
    if isinstance(value, float):
        if 0 < abs(value) < 1e-3:  # an MSE of 5.8e-05 is not 0.0001
            return f"{value:.2e}"
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    # a | in generated text would end a table cell, a line break the table
    return str(value).replace("|", "\\|").replace("\n", "\\n")


def _setup_lines(setup: dict[str, Any]) -> list[str]:
    def settings(values: dict[str, Any], skip: tuple[str, ...] = ("name",)) -> str:
        return ", ".join(f"{k}={v}" for k, v in values.items() if k not in skip)

    optimizer = setup["optimizer"]
    trainer = setup["trainer"]
    steps = (
        f"a budget of {trainer['max_minutes']:g} minutes"
        if "max_minutes" in trainer
        else f"at most {trainer['max_steps']:,} steps"
    )
    return [
        f"- task: {setup['task']['name']} ({settings(setup['task'])})",
        f"- model: {setup['model']['name']} ({settings(setup['model'], ('name', 'cell', 'params'))}), "
        f"{setup['model']['params']:,} parameters",
        f"- loss: {setup['loss']}; optimizer: {optimizer['name']} ({settings(optimizer)}); "
        f"schedule: {setup['scheduler']}",
        f"- batch size {trainer['batch_size']}, {steps}, "
        f"gradient clip {trainer['clip_grad_norm']}, early stop {'on' if trainer['early_stop'] else 'off'}; "
        f"seed {setup['seed']}",
    ]


def markdown(report: dict[str, Any], samples: list[str]) -> str:
    lines = [f"# {report.get('run', report['task'])}", ""]
    if report.get("smoke_run"):
        lines += [
            f"**A smoke run** ({report['train']['steps']} training steps): it shows the setup works end to end, "
            "not what the model can learn; train longer (trainer.max_steps) for a result.",
            "",
        ]
    lines.append(f"- status: **{report['status']}**")
    if "setup" in report:
        lines += _setup_lines(report["setup"])
    if report.get("recipes"):  # the task's and the model's own settings for this task, under the command line's
        lines.append(f"- recipes applied: {', '.join(report['recipes'])}")
    lines += [f"- optimizer group {group}" for group in report.get("optimizer_groups", [])]
    if "budget" in report:  # what a comparison of this run with others held equal
        lines.append(f"- budget: {budget_text(report['budget'], report.get('train', {}).get('steps'))}")
    precision = f", precision {report['precision']}" if "precision" in report else ""  # what trainer.precision chose
    if "precision_before_resume" in report:
        precision += f" (before the resume: {report['precision_before_resume']})"
    lines.append(f"- device: {report['device']}{precision}")
    if "train" in report:
        train = report["train"]
        lines.append(
            f"- training: {train['steps']:,} steps, {train['sequences_seen']:,} sequences, {train['wall_s']:.1f} s, "
            f"{train['samples_per_s']:,.0f} sequences/s"
            + (", stopped early (criterion met)" if train["stopped_early"] else "")
        )
    if report.get("timing"):  # this session's phases; the command's start-up (imports, Hydra) comes before them
        lines.append("- time by phase: " + ", ".join(f"{phase} {s:.1f} s" for phase, s in report["timing"].items()))
    if report.get("best_val") is not None:
        lines.append(f"- best validation {report['metric']}: {fmt(report['best_val'])}")
    if "checkpoint" in report:
        lines.append(f"- checkpoint: {report['checkpoint']} (step {report['step']:,})")
    if report["test"]:
        lines += ["", "## Test", ""]
        if "test_measured" in report:  # at T, or the mean over the test lengths: the headline says which
            lines += [f"Measured {report['test_measured']}; every length below.", ""]
        lines += ["| metric | value |", "|---|---|"]
        lines += [f"| {k} | {fmt(v)} |" for k, v in report["test"].items()]
        if "chance" in report:
            lines.append(f"| chance | {fmt(report['chance'])} |")
    if report.get("reference"):
        lines += ["", "## Reference", "", *[f"- {line}" for line in report["reference"]]]
    if rows := report.get("test_by_length"):
        metrics = list(next(iter(rows.values())))
        lines += [
            "",
            "## Test by length",
            "",
            "| length | " + " | ".join(map(metric_label, metrics)) + " |",
            "|---|" + "---|" * len(metrics),
        ]
        lines += [f"| {length} | " + " | ".join(fmt(r[m]) for m in metrics) + " |" for length, r in rows.items()]
    if figures := report.get("figures"):
        lines += ["", "## Figures", ""]
        lines += [f"![{name.replace('_', ' ')}]({name}.png)" for name in figures]
    if samples:
        lines += ["", "## Samples", "", "```", *samples, "```"]
    return "\n".join(lines) + "\n"


METRIC_LABELS = {
    "acc": "accuracy",
    "bit_acc": "bit accuracy",
    "seq_acc": "whole-sequence accuracy",
    "step_acc": "step accuracy",
}


def metric_label(name: str) -> str:
    return METRIC_LABELS.get(name, name.replace("_", " "))
