"""The test phase: score a trained model on every test set of its task and return what was found.

    outcome = score_tests(model, loss_fn, task, device, title="index_recall · lstm h=5")
    outcome.metrics      {'acc': 0.99, 'wrong': 31, 'n': 6000}   the summary over test sets (counts add up)
    outcome.by_length    {'3': {'acc': 1.0}, ...}                   every rate metric at every tested length
    outcome.figures      {'accuracy': Figure, 'attention': ...}     named by the PNG each becomes

Nothing here writes a file or logs: the runner does that with what comes back (reports flow one way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from matplotlib.figure import Figure

from rnnlab.protocols import member
from rnnlab.reporting.figures import plot_attention, plot_by_length
from rnnlab.reporting.run_report import by_length_name, metric_label
from rnnlab.tasks.base import COUNTS, Batch, Task
from rnnlab.training.evaluate import eval_chunk, evaluate

ATTENTION_ROWS = 8  # sequences shown in the attention figure


@dataclass
class TestOutcome:
    metrics: dict[str, Any]
    by_length: dict[str, dict[str, float]] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)  # task tables: per-class accuracy, confusion matrix ...
    figures: dict[str, Figure] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)


def score_tests(
    model,
    loss_fn,
    task: Task,
    device: torch.device,
    title: str,
    samples: int = 5,
    stop: Callable[[], bool] = lambda: False,
) -> TestOutcome | None:
    """None when `stop()` turned true between two test sets (a signal: the runner reports the run interrupted)."""
    results, texts, extras, figures = {}, [], {}, {}
    test_sets = task.test_sets(device)
    for name, batch in test_sets.items():
        if stop():
            return None
        metrics, predictions = evaluate(model, loss_fn, task, batch)
        results[name] = metrics
        found, drawn = task.report_extras(predictions, batch)
        extras.update(found)
        for figure in drawn.values():  # whose figure, and the numbers behind it
            rate = metrics.get(task.metric)
            shown = f"test {task.metric} {rate:.4f}, " if isinstance(rate, float) else ""
            figure.suptitle(f"{title}\n{shown}n={len(batch):,} sequences ({name})", fontsize=8)
            figure.tight_layout()
        figures.update(drawn)
        texts += [f"[{name}] " + task.describe(batch, predictions, i) for i in range(min(samples, len(batch)))]
    keys = [k for k in next(iter(results.values())) if k != "loss"]
    headline = task.headline_length
    over = [results[str(headline)]] if headline is not None else list(results.values())
    summary = {  # at the headline length (T), or the mean over test sets, each length counting once; counts add up
        k: sum(r[k] for r in over) if k in COUNTS else sum(r[k] for r in over) / len(over) for k in keys
    }
    outcome = TestOutcome(metrics=summary, extras=extras, figures=figures, samples=texts)
    if len(results) > 1:
        outcome.extras["test_measured"] = (
            f"at length {headline}, the length trained at"
            if headline is not None
            else f"the mean over the {len(results)} test lengths"
        )
    if task.test_lengths:
        outcome.by_length = {length: {k: r[k] for k in keys if k not in COUNTS} for length, r in results.items()}
        name = by_length_name(task.metric)
        outcome.figures[name] = plot_by_length(
            outcome.by_length,
            f"{title}\n{' and '.join(map(metric_label, next(iter(outcome.by_length.values()))))} by length",
            train_range=task.train_lengths,
            chance=task.chance,
            length_label=task.length_label,
        )
    if member(model, "attention") is not None and not getattr(model.attention, "weights_fixed", False):
        first = next(iter(test_sets.values()))
        outcome.metrics.update(attention_scores(model, task, first))
        outcome.figures["attention"] = attention_figure(model, task, first[:ATTENTION_ROWS], title)
    outcome.metrics.update(task.extra_tests(model, device))
    return outcome


@torch.no_grad()
def _attention(model, batch: Batch) -> torch.Tensor:
    was_training = model.training
    model.eval()
    model(batch.x, batch.lengths)
    model.train(was_training)
    return model.last_attention


def attention_scores(model, task: Task, batch: Batch, chunk: int | None = None) -> dict[str, float]:
    """test attention_on_target: of the attention weight the heads put on the sequences' steps, the share on the
    steps the task says matter (1.0: every head looks only there). A head that attends to the empty slot
    (model.attention_null) looks at no step, so it neither adds to nor takes from the share."""
    on_target, on_steps = 0.0, 0.0
    chunk = chunk or eval_chunk(model, batch.x.shape[1])  # the chunks evaluate runs: a pass fits in memory
    for start in range(0, len(batch), chunk):
        part = batch[start : start + chunk]
        target = task.relevant_steps(part)
        if target is None:
            return {}
        weights = _attention(model, part)  # (n, heads, steps)
        on_target += float((weights * target[:, None, : weights.shape[-1]]).sum())
        on_steps += float(weights.sum())
    return {"attention_on_target": on_target / on_steps if on_steps > 0 else 0.0}


def attention_figure(model, task: Task, batch: Batch, title: str) -> Figure:
    weights = _attention(model, batch)  # (n, heads, steps): each head in a panel of its own
    heads = weights.shape[1]
    target = task.relevant_steps(batch)
    rows = [[w[: int(n)].tolist() for w, n in zip(weights[:, head], batch.lengths)] for head in range(heads)]
    marks = (
        None if target is None else [t[: int(n)].nonzero().flatten().tolist() for t, n in zip(target, batch.lengths)]
    )
    labels = [
        f"seq {i}: {task.class_label(int(y))}" if not task.per_step else f"seq {i}" for i, y in enumerate(batch.y)
    ]
    what = f"attention weights of each of the {heads} heads" if heads > 1 else "attention weights"
    return plot_attention(rows, labels, marks, f"{title}\n{what}")
