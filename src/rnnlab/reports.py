"""Reports written into every run dir: report.json (for tools), report.md (for people), per-length CSV and plot.

Files are written atomically (a temporary file, then a rename), so a crash never leaves half a report.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

# The by-length breakdown is named after the task's headline metric.
BY_LENGTH_NAMES = {"acc": "accuracy", "bit_acc": "bit_accuracy", "step_acc": "step_accuracy"}


def by_length_name(metric: str) -> str:
    return BY_LENGTH_NAMES.get(metric, metric)


def by_length_key(metric: str) -> str:
    """The report.json key of the headline metric by length: bit_accuracy_by_length, accuracy_by_length ..."""
    return f"{by_length_name(metric)}_by_length"


_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path: Path, data: str | bytes) -> None:
    path = Path(path)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes the file private; reports are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


METRIC_LABELS = {"acc": "accuracy", "bit_acc": "bit accuracy", "seq_acc": "whole-sequence accuracy",
                 "step_acc": "step accuracy"}


def metric_label(name: str) -> str:
    return METRIC_LABELS.get(name, name.replace("_", " "))


def set_length_axis(ax, lengths: list[int]) -> None:
    """A log axis for lengths spanning 20x or more, with a tick at every tested length (not only 10, 100, 1000)."""
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

    ax.set_xscale("log" if max(lengths) / min(lengths) >= 20 else "linear")
    ax.xaxis.set_major_locator(FixedLocator(sorted(set(lengths))))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("sequence length")


def mark_training_range(ax, train_range) -> None:
    if train_range:
        ax.axvspan(train_range[0], train_range[1], color="0.85", zorder=0, label=f"trained on {train_range[0]}-{train_range[1]}")


def mark_chance(ax, chance: float) -> None:
    ax.axhline(chance, color="0.4", linestyle=":", linewidth=1, label=f"chance ({chance:.3g})")


def plot_by_length(rows: dict[str, dict[str, float]], title: str, train_range=None, chance: float | None = None) -> Figure:
    """rows: {length: {metric: value}}: one line per rate metric (bit and whole-sum accuracy for addition)."""
    lengths = [int(k) for k in rows]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    mark_training_range(ax, train_range)
    for metric in next(iter(rows.values())):
        ax.plot(lengths, [r[metric] for r in rows.values()], marker="o", label=metric_label(metric))
    if chance is not None:
        mark_chance(ax, chance)
    set_length_axis(ax, lengths)
    ax.set_ylabel("test accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def plot_attention(weights: list[list[float]], labels: list[str], marks: list[list[int]] | None, title: str) -> Figure:
    """One row per sequence: its attention weight at each step; outlined cells are the steps that decide the answer."""
    from matplotlib.patches import Rectangle

    fig, ax = plt.subplots(figsize=(9, 1.0 + 0.42 * len(weights)))
    width = max(len(w) for w in weights)
    padded = [w + [float("nan")] * (width - len(w)) for w in weights]
    image = ax.imshow(padded, aspect="auto", cmap="viridis", interpolation="nearest", vmin=0)
    for row, steps in enumerate(marks or []):
        for step in steps:
            ax.add_patch(Rectangle((step - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=1.2))
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("step (time)")
    ax.set_ylabel("test sequence")
    ax.set_title(title + ("  (red boxes: the steps that decide the answer)" if marks else ""), fontsize=9)
    bar = fig.colorbar(image, ax=ax, fraction=0.03)
    bar.set_label("attention weight", fontsize=8)
    fig.tight_layout()
    return fig


def plot_confusion(confusion: list[list[int]]) -> Figure:
    n = len(confusion)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    image = ax.imshow(confusion, cmap="Blues")
    for i in range(n):
        for j in range(n):
            value = confusion[i][j]
            if value:
                ax.text(j, i, str(value), ha="center", va="center", fontsize=7,
                        color="white" if value > 0.5 * max(map(max, confusion)) else "black")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix (test)")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def plot_digits(images, predicted: list[int], true: list[int], columns: int = 8) -> Figure:
    """A grid of images, each titled 'predicted (true)'."""
    rows = (len(images) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(1.2 * columns, 1.35 * rows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(images):
            ax.imshow(images[k], cmap="gray_r", vmin=0, vmax=1)
            ax.set_title(f"{predicted[k]} ({true[k]})", fontsize=8, color="crimson")
    fig.suptitle("misclassified: predicted (true)", fontsize=9)
    fig.tight_layout()
    return fig


def save_figure(figure: Figure, path: Path) -> None:
    """Write the figure as a PNG and close it (a long sweep in one process would pile up open figures)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    plt.close(figure)
    write_atomic(path, buffer.getvalue())


def write_by_length_csv(path: Path, rows: dict[str, dict[str, float]]) -> None:
    """rows: {length: {metric: value}} -> CSV with a length column and one column per metric."""
    metrics = list(next(iter(rows.values())))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["length", *metrics])
    for length, values in rows.items():
        writer.writerow([length, *(values[m] for m in metrics)])
    write_atomic(path, out.getvalue())


def write_json(path: Path, report: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(report, indent=2) + "\n")


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
    return [
        f"- task: {setup['task']['name']} ({settings(setup['task'])})",
        f"- model: {setup['model']['name']} ({settings(setup['model'], ('name', 'cell', 'params'))}), "
        f"{setup['model']['params']:,} parameters",
        f"- loss: {setup['loss']}; optimizer: {optimizer['name']} ({settings(optimizer)}); schedule: {setup['scheduler']}",
        f"- batch size {trainer['batch_size']}, at most {trainer['max_steps']:,} steps, "
        f"gradient clip {trainer['clip_grad_norm']}, early stop {'on' if trainer['early_stop'] else 'off'}; seed {setup['seed']}",
    ]


def markdown(report: dict[str, Any], samples: list[str]) -> str:
    lines = [f"# {report.get('run', report['task'])}", "", f"- status: **{report['status']}**"]
    if "setup" in report:
        lines += _setup_lines(report["setup"])
    precision = f", precision {report['precision']}" if "precision" in report else ""  # what trainer.precision chose
    lines.append(f"- device: {report['device']}{precision}")
    if "train" in report:
        train = report["train"]
        lines.append(
            f"- training: {train['steps']:,} steps, {train['sequences_seen']:,} sequences, {train['wall_s']:.1f} s, "
            f"{train['samples_per_s']:,.0f} sequences/s" + (", stopped early (criterion met)" if train["stopped_early"] else "")
        )
    if report.get("timing"):  # this session's phases; the command's start-up (imports, Hydra) comes before them
        lines.append("- time by phase: " + ", ".join(f"{phase} {s:.1f} s" for phase, s in report["timing"].items()))
    if report.get("best_val") is not None:
        lines.append(f"- best validation {report['metric']}: {fmt(report['best_val'])}")
    if "checkpoint" in report:
        lines.append(f"- checkpoint: {report['checkpoint']} (step {report['step']:,})")
    if report["test"]:
        lines += ["", "## Test", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {fmt(v)} |" for k, v in report["test"].items()]
        if "chance" in report:
            lines.append(f"| chance | {fmt(report['chance'])} |")
    if report.get("reference"):
        lines += ["", "## Reference", "", *[f"- {line}" for line in report["reference"]]]
    if rows := report.get("test_by_length"):
        metrics = list(next(iter(rows.values())))
        lines += ["", "## Test by length", "", "| length | " + " | ".join(map(metric_label, metrics)) + " |",
                  "|---|" + "---|" * len(metrics)]
        lines += [f"| {length} | " + " | ".join(fmt(r[m]) for m in metrics) + " |" for length, r in rows.items()]
    if figures := report.get("figures"):
        lines += ["", "## Figures", ""]
        lines += [f"![{name.replace('_', ' ')}]({name}.png)" for name in figures]
    if samples:
        lines += ["", "## Samples", "", "```", *samples, "```"]
    return "\n".join(lines) + "\n"
