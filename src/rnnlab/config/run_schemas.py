"""Schemas of the keys beside the groups: a sweep's resume, a tuned comparison (study.*) and a model's parameter
budget (model.params), which every model takes whatever its constructor. rnnlab.config.schemas puts them in the
run's schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rnnlab.errors import require, require_choice


def check_params(params: Any) -> None:
    """model.params: a parameter budget (runner/width.py sets the width from it), or null."""
    require(
        params is None or (isinstance(params, int) and not isinstance(params, bool) and params >= 1),
        "params",
        params,
        "a number of parameters >= 1, or null (the width as set)",
    )


@dataclass
class ModelBudgetSchema:
    """What every model takes beside its constructor's keys: `params`, a parameter budget that sets its width."""

    params: int | None = None

    def __post_init__(self) -> None:
        check_params(self.params)


@dataclass
class SweepSchema:
    resume: bool = False  # re-run a sweep into its hydra.sweep.dir, skipping jobs whose report is ok


SELECTION_METRICS = ("headline", "loss")  # what a study may choose on (reporting/comparison.py: selection_score)


@dataclass
class StudySchema:
    """A tuned comparison (reporting/comparison.py): rnnlab-report sets each value of `compare` side by side, each at
    the setting of the `tune` keys that was best on validation."""

    compare: str | None = None  # the key compared: model
    tune: list[str] = field(default_factory=list)  # the keys tuned for each compared value: [optimizer.lr]
    select: str = "first_seed"  # first_seed: the grid at the first seed, the chosen setting at the others | all_seeds
    metric: str = "headline"  # chosen on: headline, the task's metric (higher is better) | loss (lower is better)

    def __post_init__(self) -> None:
        require_choice("select", self.select, ("first_seed", "all_seeds"))
        require_choice("metric", self.metric, SELECTION_METRICS)
        require(self.compare is None or bool(self.compare), "compare", self.compare, "a key (model), or null")
        require(
            not self.tune or self.compare is not None,
            "tune",
            self.tune,
            "keys tuned per study.compare value: set study.compare too",
        )
        require(self.compare not in self.tune, "tune", self.tune, f"keys other than study.compare={self.compare}")
