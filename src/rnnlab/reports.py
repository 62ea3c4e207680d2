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


def plot_by_length(by_length: dict[str, float], ylabel: str, title: str) -> Figure:
    lengths = [int(k) for k in by_length]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(lengths, list(by_length.values()), marker="o")
    ax.set_xscale("log" if max(lengths) / min(lengths) >= 20 else "linear")
    ax.set_xlabel("sequence length")
    ax.set_ylabel(ylabel)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_attention(weights: list[list[float]], labels: list[str]) -> Figure:
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.4 * len(weights)))
    width = max(len(w) for w in weights)
    padded = [w + [float("nan")] * (width - len(w)) for w in weights]
    image = ax.imshow(padded, aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("step")
    ax.set_title("attention weights")
    fig.colorbar(image, ax=ax, fraction=0.03)
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
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
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


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def markdown(report: dict[str, Any], samples: list[str]) -> str:
    lines = [
        f"# {report['task']} · {report['model']} · {report['loss']}",
        "",
        f"- status: **{report['status']}**",
        f"- parameters: {report['params']:,}",
        f"- device: {report['device']}, seed {report['seed']}",
    ]
    if "train" in report:
        train = report["train"]
        lines.append(
            f"- training: {train['steps']:,} steps, {train['sequences_seen']:,} sequences, {train['wall_s']:.1f} s, "
            f"{train['samples_per_s']:,.0f} sequences/s" + (", stopped early (criterion met)" if train["stopped_early"] else "")
        )
    if "checkpoint" in report:
        lines.append(f"- checkpoint: {report['checkpoint']} (step {report['step']:,})")
    if report["test"]:
        lines += ["", "## Test", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in report["test"].items()]
    for key, table in report.items():
        if key.endswith("_by_length"):
            lines += ["", f"## {key.replace('_', ' ')}", "", "| length | value |", "|---|---|"]
            lines += [f"| {length} | {_fmt(value)} |" for length, value in table.items()]
    if samples:
        lines += ["", "## Samples", "", "```", *samples, "```"]
    return "\n".join(lines) + "\n"
