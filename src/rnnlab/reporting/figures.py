"""The figures of a run (matplotlib, drawn off-screen): accuracy by length, attention weights, a confusion
matrix, misclassified digits; save_figure writes one as a PNG and closes it.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from rnnlab.files import write_atomic  # noqa: E402
from rnnlab.reporting.run_report import metric_label  # noqa: E402


def set_length_axis(ax, lengths: list[int], label: str = "sequence length") -> None:
    """A log axis for lengths spanning 20x or more, with a tick at every tested length (not only 10, 100, 1000)."""
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

    ax.set_xscale("log" if max(lengths) / min(lengths) >= 20 else "linear")
    ax.xaxis.set_major_locator(FixedLocator(sorted(set(lengths))))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(label)


def mark_training_range(ax, train_range) -> None:
    if train_range:
        low, high = train_range
        ax.axvspan(
            low, high, color="0.85", zorder=0, label=f"trained at {low}" if low == high else f"trained on {low}-{high}"
        )


def mark_chance(ax, chance: float, what: str = "chance") -> None:
    ax.axhline(chance, color="0.4", linestyle=":", linewidth=1, label=f"{what} ({chance:.3g})")


def plot_by_length(
    rows: dict[str, dict[str, float]],
    title: str,
    train_range=None,
    chance: float | None = None,
    length_label: str = "sequence length",
) -> Figure:
    """rows: {length: {metric: value}}: one line per rate metric (bit and whole-sum accuracy for addition)."""
    lengths = [int(k) for k in rows]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    mark_training_range(ax, train_range)
    metrics = list(next(iter(rows.values())))
    for order, metric in enumerate(metrics):
        # The headline (e.g. bit accuracy) on top, thin with hollow markers; each line below it wider, translucent
        # and with larger markers, so that where they coincide (every bit and every sum right) both stay in sight.
        below = order  # lines drawn under the headline
        ax.plot(
            lengths,
            [r[metric] for r in rows.values()],
            marker="os^v"[order % 4],
            markersize=5 + 3 * below,
            linewidth=1.4 + 2.5 * below,
            alpha=1.0 if below == 0 else 0.55,
            markerfacecolor="none" if below == 0 else None,
            label=metric_label(metric),
            zorder=3 + len(metrics) - order,
        )
    if chance is not None:  # the chance of the headline metric (a bit's 0.5, not a whole sum's)
        mark_chance(ax, chance, f"chance, {metric_label(metrics[0])}" if len(metrics) > 1 else "chance")
    set_length_axis(ax, lengths, length_label)
    ax.set_ylabel("test accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def plot_attention(
    weights: list[list[list[float]]], labels: list[str], marks: list[list[int]] | None, title: str
) -> Figure:
    """One panel per head (weights[head][sequence][step]), one row per sequence: its attention weight at each step;
    outlined cells are the steps that decide the answer."""
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import MaxNLocator

    heads = len(weights)
    # 9-point labels: TensorBoard shows this figure ~330 px wide (reporting/logger.py), where 7 points did not read
    fig, axes = plt.subplots(heads, 1, figsize=(8, 0.6 + (0.42 * len(labels) + 0.5) * heads), squeeze=False)
    width = max(len(w) for head in weights for w in head)
    for index, (ax, head) in enumerate(zip(axes[:, 0], weights)):
        padded = [w + [float("nan")] * (width - len(w)) for w in head]
        image = ax.imshow(padded, aspect="auto", cmap="viridis", interpolation="nearest", vmin=0)
        for row, steps in enumerate(marks or []):
            for step in steps:
                ax.add_patch(Rectangle((step - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=1.2))
        ax.set_yticks(range(len(labels)), labels, fontsize=9)
        ax.set_ylabel(f"head {index + 1}" if heads > 1 else "test sequence", fontsize=10)
        bar = fig.colorbar(image, ax=ax, fraction=0.03)
        bar.set_label("weight", fontsize=9)
    for ax in axes[:, 0]:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps, not -0.5 ... 2.5
    axes[-1, 0].set_xlabel("step (time)")
    fig.suptitle(title + ("\n(red boxes: the steps that decide the answer)" if marks else ""), fontsize=9)
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
                ax.text(
                    j,
                    i,
                    str(value),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if value > 0.5 * max(map(max, confusion)) else "black",
                )
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
