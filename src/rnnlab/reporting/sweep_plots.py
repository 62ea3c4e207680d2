"""The plots of rnnlab-report, one figure each, every one readable on its own:

    metric_vs_hidden_size.png   the headline test metric against hidden size, a line per model
    accuracy_by_length.png      test accuracy at each tested length, the training range shaded, chance marked
    training_curves.png         training loss (smoothed) and validation loss against steps

Colour says the model (cell), line style the next setting that varies on its own (the hidden size, a learning rate),
a marker the rest; every figure says how many runs and sequences each point is; legends sit outside the axes.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rnnlab.reporting.figures import (
    mark_chance,
    mark_training_range,
    save_figure,
    set_length_axis,
)
from rnnlab.reporting.intervals import interval  # noqa: E402
from rnnlab.reporting.run_report import by_length_key, metric_label
from rnnlab.reporting.sweep_runs import Run, runs_text, varied_keys  # noqa: E402

LINE_STYLES = ["-", "--", ":", "-."]
COLOURS = plt.get_cmap("tab10").colors  # type: ignore[attr-defined]  # a ListedColormap: it has them
SMOOTHING = 0.9  # TensorBoard's default exponential moving average for the training loss


MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "<", ">"]
LEGEND_ROWS = 14  # legend entries a 4.2-inch figure holds at fontsize 9 beside its title and axis labels


class Styles:
    """One encoding per setting that varies on its own: colour for the first (the model), line style for the second
    (the hidden size, or whatever else was swept), marker for the rest, so no two runs look alike. A setting that
    only follows another (the layers of each model's default, a width fitted to model.params) gets none: it changes
    with one that has one. A run's label names what varies on its own."""

    def __init__(self, runs: list[Run]) -> None:
        self.varied = [k for k in varied_keys(runs) if k not in ("seed", "model.params")]
        ordered = sorted(self.varied, key=lambda k: (k != "model.cell", k != "model.hidden_size", k.endswith("length")))
        self.keys: list[str] = []  # the settings that vary on their own, in encoding order
        for key in ordered:
            seen: dict[tuple, str] = {}
            if any(
                seen.setdefault(self._values(r, self.keys), str(r.settings.get(key))) != str(r.settings.get(key))
                for r in runs
            ):
                self.keys.append(key)  # not a function of the keys chosen so far
        self.colour_key = self.keys[0] if self.keys else None
        self.style_key = self.keys[1] if len(self.keys) > 1 else None
        self._seen: list[dict[tuple, int]] = [{}, {}, {}]

    @staticmethod
    def _values(run: Run, keys: list[str]) -> tuple:
        return tuple(str(run.settings.get(k)) for k in keys)

    def label(self, run: Run, skip: tuple[str, ...] = ()) -> str:
        """'cell=lstm, lr=0.01': the settings that vary on their own, without their group prefix."""
        shown = [k for k in self.keys if k not in skip and k in run.settings]
        return ", ".join(f"{k.rsplit('.', 1)[-1]}={run.settings[k]}" for k in shown) or run.name

    def _index(self, slot: int, value: tuple) -> int:
        return self._seen[slot].setdefault(value, len(self._seen[slot]))

    def of(self, run: Run) -> dict:
        colour = self._values(run, self.keys[:1]) if self.keys else (run.name,)
        style = {"color": COLOURS[self._index(0, colour) % len(COLOURS)]}
        if len(self.keys) > 1:
            style["linestyle"] = LINE_STYLES[self._index(1, self._values(run, self.keys[1:2])) % len(LINE_STYLES)]
        if len(self.keys) > 2:
            style["marker"] = MARKERS[self._index(2, self._values(run, self.keys[2:])) % len(MARKERS)]
        return style


def _legend(ax, handles: list, labels: list[str]) -> None:
    """One entry per label (runs pooled over seeds share one), outside the axes, in as many columns as keep it on
    the figure (one column of 21, a 7-model x 3-rate study, ran off its foot and lost the last two)."""
    unique = dict(zip(labels, handles))
    columns = -(-len(unique) // LEGEND_ROWS)
    ax.figure.set_figwidth(ax.figure.get_figwidth() + 2.8 * (columns - 1))  # each column its room, not the axes'
    ax.legend(unique.values(), unique.keys(), fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0), ncol=columns)


def _finish(fig, ax, xlabel: str, ylabel: str, title: str, path: Path, accuracy: bool = True) -> Path:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if accuracy:
        ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    # From the axes rightwards, wrapped: a legend in columns narrows the axes, and a centred title ran off the figure
    ax.set_title(textwrap.fill(title, 110), fontsize=9, loc="left")
    _legend(ax, *ax.get_legend_handles_labels())
    fig.tight_layout()
    save_figure(fig, path)
    return path


def plots(runs: list[Run], out: Path) -> list[Path]:
    """The plots of each task (and headline metric) among the runs: one set, or one set per task named by it
    (accuracy_by_length_adding.png) when the runs mix tasks, whose metrics cannot share an axis."""
    groups: dict[tuple[str, str], list[Run]] = {}
    for r in runs:
        if r.ok and r.path.is_dir():
            groups.setdefault((str(r.report.get("task", "")), r.report["metric"]), []).append(r)
    written = []
    for (task, _), group in groups.items():
        suffix = f"_{task}" if len(groups) > 1 else ""
        written += _plots_of_one_task(group, out, suffix)
    return written


def _plots_of_one_task(ok: list[Run], out: Path, suffix: str) -> list[Path]:
    styles = Styles(ok)
    written = []
    if "model.hidden_size" in styles.varied:
        written.append(metric_vs_hidden_size(ok, styles, out / f"metric_vs_hidden_size{suffix}.png"))
    with_lengths = [r for r in ok if len(r.report.get("test_by_length") or _headline_table(r) or {}) > 1]
    if with_lengths:
        written.append(accuracy_by_length(with_lengths, styles, out / f"accuracy_by_length{suffix}.png"))
    if any(r.path.glob("events.out.tfevents.*") for r in ok):
        if path := training_curves(ok, styles, out / f"training_curves{suffix}.png"):
            written.append(path)
    return written


def _headline_table(run: Run) -> dict | None:
    return run.report.get(by_length_key(run.report["metric"]))


def metric_vs_hidden_size(runs: list[Run], styles: Styles, path: Path) -> Path:
    metric = runs[0].report["metric"]
    lines: dict[str, dict[int, list[float]]] = {}
    first: dict[str, Run] = {}
    for r in (r for r in runs if "model.hidden_size" in r.settings):
        label = styles.label(r, skip=("model.hidden_size",))
        first.setdefault(label, r)
        lines.setdefault(label, {}).setdefault(int(str(r.settings["model.hidden_size"])), []).append(
            r.report["test"][metric]
        )
    fig, ax = plt.subplots(figsize=(7, 4))
    seeds = 1
    for label, points in lines.items():
        sizes = sorted(points)
        pooled = [interval(points[s]) for s in sizes]  # (mean, 95% half-width or None, n) over the seeds
        seeds = max(seeds, *(n for _, _, n in pooled))
        errors = [h or 0.0 for _, h, _ in pooled] if any(h for _, h, _ in pooled) else None  # no bar for one run
        ax.errorbar(
            sizes,
            [m for m, _, _ in pooled],
            yerr=errors,
            capsize=3 if errors else 0,
            label=label,
            **{"marker": "o", **styles.of(first[label])},
        )
    ax.set_xscale("log", base=2)
    ax.set_xticks(
        sorted({s for p in lines.values() for s in p}), [str(s) for s in sorted({s for p in lines.values() for s in p})]
    )
    _chance(ax, runs)
    measured = runs[0].report.get("test_measured")  # at T, or the mean over the test lengths
    label = f"test {metric_label(metric)}" + (f" ({measured})" if measured else "")
    over = f" (mean of {seeds} seeds, 95% interval)" if seeds > 1 else ""
    return _finish(
        fig, ax, "hidden size", label, f"{_task_of(runs)}: {label} by hidden size{over}; {_n(runs, seeds)}", path
    )


def _chance(ax, runs: list[Run]) -> None:
    chances = {float(r.report["chance"]) for r in runs if r.report.get("chance") is not None}
    if len(chances) == 1:
        mark_chance(ax, chances.pop())


def accuracy_by_length(runs: list[Run], styles: Styles, path: Path) -> Path:
    metric = runs[0].report["metric"]
    fig, ax = plt.subplots(figsize=(9, 4.2))
    ranges = {
        tuple(r.report["setup"]["task"]["train_lengths"])
        for r in runs
        if "train_lengths" in r.report.get("setup", {}).get("task", {})
    }
    for train_range in ranges:
        mark_training_range(ax, train_range)
    lengths: list = []
    groups: dict[str, list[Run]] = {}
    seeds = 1
    for r in runs:  # runs that differ only by seed share a label: one line, their mean, a 95% band
        groups.setdefault(styles.label(r), []).append(r)
    for label, group in groups.items():
        tables = [
            _headline_table(r) or {n: row[metric] for n, row in r.report["test_by_length"].items()} for r in group
        ]
        xs = sorted({int(k) for table in tables for k in table})
        pooled = [interval([table[str(x)] for table in tables if str(x) in table]) for x in xs]
        seeds = max(seeds, *(n for _, _, n in pooled))
        lengths += xs
        ax.plot(xs, [m for m, _, _ in pooled], label=label, **{"marker": ".", **styles.of(group[0])})
        if any(h for _, h, _ in pooled):
            ax.fill_between(
                xs,
                [m - (h or 0) for m, h, _ in pooled],
                [m + (h or 0) for m, h, _ in pooled],
                color=styles.of(group[0])["color"],
                alpha=0.15,
                linewidth=0,
            )
    _chance(ax, runs)
    set_length_axis(ax, lengths)
    over = f" (mean of {seeds} seeds, 95% band)" if seeds > 1 else ""
    labels = {str(r.report.get("length_label", "sequence length")) for r in runs}
    return _finish(
        fig,
        ax,
        labels.pop() if len(labels) == 1 else "length",
        f"test {metric_label(metric)}",
        f"{_task_of(runs)}: test {metric_label(metric)} by length{over}; {_n(runs, seeds)}",
        path,
    )


def _smooth(values: list[float], weight: float = SMOOTHING) -> list[float]:
    smoothed, last = [], values[0]
    for value in values:
        last = weight * last + (1 - weight) * value
        smoothed.append(last)
    return smoothed


def training_curves(runs: list[Run], styles: Styles, path: Path) -> Path | None:
    """Training loss (smoothed) and validation loss side by side, so that line style keeps the one meaning the
    other plots give it (hidden size), and a legend entry names every line."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    fig, (train_ax, val_ax) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    drawn = False
    for r in runs:
        if not list(r.path.glob("events.out.tfevents.*")):
            continue
        events = EventAccumulator(str(r.path), size_guidance={"scalars": 0}).Reload()
        tags = events.Tags()["scalars"]
        style = styles.of(r)
        for ax, tag, smooth in ((train_ax, "train/loss", True), (val_ax, "val/loss", False)):
            if tag in tags:
                points = events.Scalars(tag)
                values = [max(p.value, 1e-8) for p in points]
                marks = {"marker": None} if smooth else {"marker": ".", **style, "markersize": 3}
                ax.plot(
                    [p.step for p in points],
                    _smooth(values) if smooth else values,
                    linewidth=1.2,
                    label=styles.label(r),
                    **{**style, **marks},
                )
                drawn = True
    if not drawn:
        plt.close(fig)
        return None
    low, high = train_ax.get_ylim()
    for ax, title in ((train_ax, "training loss (smoothed)"), (val_ax, "validation loss")):
        if high / max(low, 1e-8) > 10:  # a log axis only where the losses span a decade or more
            ax.set_yscale("log")
        ax.set_title(title, fontsize=9, loc="left")  # from the axes rightwards: a legend in columns narrows them
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
    losses = sorted({str(r.report.get("loss")) for r in runs if r.report.get("loss")})
    train_ax.set_ylabel(f"loss ({', '.join(losses)})" if losses else "loss")
    fig.suptitle(f"{_task_of(runs)}: loss during training, {runs_text(len(runs))}", fontsize=10)
    _legend(val_ax, *(val_ax.get_legend_handles_labels() or train_ax.get_legend_handles_labels()))
    fig.tight_layout()
    save_figure(fig, path)
    return path


def _n(runs: list[Run], seeds: int) -> str:
    """How much each point stands on: runs (seeds) and test sequences."""
    sequences = {r.report.get("test_sequences", r.report.get("test", {}).get("n")) for r in runs} - {None}
    per = f", {sequences.pop():,} test sequences" if len(sequences) == 1 else ""
    return f"n = {seeds} run{'s' if seeds > 1 else ''}{per} per point"


def _task_of(runs: list[Run]) -> str:
    tasks = sorted({str(r.settings.get("task", "")) for r in runs} - {""})
    return ", ".join(tasks) or "runs"
