"""What every task gives the runner: its sizes, a seeded batch generator, fixed validation and test sets, metrics.

A task is pure: ``make_batch(n, generator, device)`` builds a whole batch in a few tensor ops on the target device,
and the same generator state always gives the same batch. Validation and test sets come from their own fixed
seeds, so every run of a task (any model, any seed) is scored on the same sequences.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from torch import Tensor

from rnnlab.errors import require

VAL_SEED = 1_000_003
TEST_SEED = 2_000_003
IGNORE = -1  # target of a step past a sequence's end: never scored, never trained on
# Metrics that are counts, not rates: they add up over test sets and are left out of curves and per-length tables.
COUNTS = frozenset({"wrong", "n"})
# Task.sets names the training batch and the validation set so; every other set it names is a test set.
TRAINING_BATCH, VALIDATION_SET = "a training batch", "the validation set"


@dataclass(frozen=True)
class Batch:
    """x: float (n, steps, input_size). y: long, (n,) for one class per sequence or (n, steps) for one per step,
    IGNORE past each sequence's end. lengths: long (n,), the true length of each sequence."""

    x: Tensor
    y: Tensor
    lengths: Tensor

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, index: slice | Tensor) -> Batch:
        return Batch(self.x[index], self.y[index], self.lengths[index])


def abbreviate(text: str, keep: int = 48) -> str:
    """Long sequences in text samples: the first and last keep/2 symbols around an ellipsis."""
    if len(text) <= keep:
        return text
    return f"{text[: keep // 2]}…{text[-keep // 2 :]}"


def user_path(path: str) -> str:
    """A path from the command line, relative to where the user started the command (also under
    hydra.job.chdir=true, where the process works in the run dir); ~ expanded."""
    from hydra.utils import to_absolute_path

    return to_absolute_path(os.path.expanduser(path))


def seeded(seed: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


def uniform_lengths(n: int, low: int, high: int, generator: torch.Generator, device: torch.device) -> Tensor:
    return torch.randint(low, high + 1, (n,), generator=generator, device=device)


def step_mask(lengths: Tensor, steps: int) -> Tensor:
    """(n, steps) bool: True where a step lies inside its sequence."""
    return torch.arange(steps, device=lengths.device) < lengths[:, None]


class Task(ABC):
    """Subclasses set the class attributes and implement ``make_batch`` and ``describe``."""

    name: str
    input_size: int
    num_classes: int
    per_step: bool  # one target per step (addition) or one per sequence (read at its last step)
    regression = False  # the target is a real number (adding), not a class: loss=mse alone, on the raw output
    # Optional reporting hooks, with their defaults (a task overrides what it knows better):
    train_lengths: tuple[int, int] | None = None  # the lengths trained on, shaded in by-length figures
    length_label = "sequence length"  # what a "length" counts (MQAR: key-value pairs), the by-length axis
    step_metric = "step_acc"  # per-step tasks: name of the fraction of steps right ("bit_acc" for addition)

    def __init__(self, val_size: int = 1000, test_size: int = 1000, stop_window: int = 0) -> None:
        self.val_size = val_size
        self.test_size = test_size
        self.stop_window = stop_window

    @property
    def metric(self) -> str:
        """The headline metric: validation progress, the best checkpoint and the by-length table use it."""
        return self.step_metric if self.per_step else "acc"

    @property
    def test_lengths(self) -> list[int]:
        """Lengths the test is broken down by; an empty list means one test set of the training distribution."""
        return []

    @property
    def headline_length(self) -> int | None:
        """The test length the headline metrics (test.<metric>) are measured at; None: the mean over the test
        lengths, each counting once (a task trained on a range of lengths)."""
        return None

    @abstractmethod
    def make_batch(self, n: int, generator: torch.Generator, device: torch.device, length: int | None = None) -> Batch:
        """n sequences drawn from the training distribution, or all of one length when `length` is given."""

    @abstractmethod
    def describe(self, batch: Batch, predictions: Tensor, i: int) -> str:
        """One sequence as people read it: input, predicted, true."""

    @abstractmethod
    def steps(self, length: int | None = None) -> int:
        """Steps of the longest sequence make_batch draws (all of one test length when `length` is given)."""

    def sets(self, batch_size: int) -> dict[str, tuple[int, int]]:
        """(sequences, steps) of each set a run holds in memory: a training batch, the validation set, and the test
        sets (all held at once while testing). What the memory estimate (src/rnnlab/runner/memory.py) sizes."""
        test = {f"the test set at length {n}": (self.test_size, self.steps(n)) for n in self.test_lengths}
        return {
            TRAINING_BATCH: (batch_size, self.steps()),
            VALIDATION_SET: (self.val_size, self.steps()),
            **(test or {"the test set": (self.test_size, self.steps())}),
        }

    def state_dict(self) -> dict:
        """Sampling state beyond the generator (an epoch's permutation), saved in checkpoints."""
        return {}

    def load_state_dict(self, state: dict) -> None:  # noqa: B027 (an optional hook: most tasks keep no state)
        pass

    def check_data(self) -> None:  # noqa: B027 (an optional hook)
        """Raise ConfigError for data that are missing or unreadable (files the task reads), before a run starts."""

    def check_model(self, model_cfg) -> None:  # noqa: B027 (an optional hook)
        """Raise ConfigError for a model this task cannot use honestly."""

    def extra_tests(self, model, device: torch.device) -> dict:
        """Test results beyond the metrics of the test sets (the char task's generated text)."""
        return {}

    def report_extras(self, predictions: Tensor, batch: Batch) -> tuple[dict, dict]:
        """Task-specific test results: (report entries, {name: figure}); the runner writes and logs them."""
        return {}, {}

    @property
    def chance(self) -> float:
        """The accuracy of guessing: a line on plots, a baseline in reports."""
        return 1 / self.num_classes

    def reference(self) -> list[str]:
        """Numbers to read the result against (a baseline, published results): report.md lists them."""
        return []

    @property
    def floor(self) -> float:
        """What the headline metric reaches without the memory the task tests (chance, unless the task knows a
        higher level a memoryless model gets to): a comparison says 'all at the floor' for a grid that stayed there."""
        return self.chance

    # Published results by model name (the option's name: lstm, s6, transformer), shown beside each model's row of a
    # tuned comparison (rnnlab-report); only what a paper reports for a setting close to this task's.
    published: dict[str, str] = {}

    def relevant_steps(self, batch: Batch) -> Tensor | None:
        """(n, steps) bool: the steps that decide the answer, where the task knows them (None: it does not).
        Attention figures mark them, and test.attention_on_target is the weight an attention model puts there."""
        return None

    def class_label(self, label: int) -> str:
        return str(label)

    def validation_set(self, device: torch.device) -> Batch:
        return self.make_batch(self.val_size, seeded(VAL_SEED, device), device)

    def test_sets(self, device: torch.device) -> dict[str, Batch]:
        """Named test sets: one per test length, or a single "all" set."""
        if not self.test_lengths:
            return {"all": self.make_batch(self.test_size, seeded(TEST_SEED, device), device)}
        return {
            str(length): self.make_batch(self.test_size, seeded(TEST_SEED + length, device), device, length)
            for length in self.test_lengths
        }

    def sequences_right(self, predictions: Tensor, batch: Batch) -> Tensor:
        """(n,) bool: the whole sequence's output is right."""
        if not self.per_step:
            return predictions == batch.y
        return ((predictions == batch.y) | (batch.y == IGNORE)).all(dim=1)

    def metrics(self, predictions: Tensor, batch: Batch) -> dict[str, float]:
        # Ratios of exact counts, in Python floats: 1 wrong bit in 10^6 must not round to 1.0.
        if not self.per_step:
            right = int((predictions == batch.y).sum())
            return {"acc": right / len(batch), "wrong": len(batch) - right, "n": len(batch)}
        scored = batch.y != IGNORE
        steps_right = int(((predictions == batch.y) & scored).sum())
        return {
            self.step_metric: steps_right / int(scored.sum()),
            "seq_acc": int(self.sequences_right(predictions, batch).sum()) / len(batch),
        }


class LengthTask(Task):
    """A task trained on lengths drawn from [min, max] and tested at each of a list of lengths."""

    train_lengths: tuple[int, int]  # set by the constructor, always

    def __init__(self, train_lengths: list[int], test_lengths: list[int], **common: int) -> None:
        # every length task's, a user's too: a length below 1 or a range the wrong way round fails in make_batch
        require(
            len(train_lengths) == 2
            and all(isinstance(n, int) and n >= 1 for n in train_lengths)
            and train_lengths[0] <= train_lengths[1],
            "task.train_lengths",
            list(train_lengths),
            "[min, max] with 1 <= min <= max",
        )
        require(
            all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in test_lengths),
            "task.test_lengths",
            list(test_lengths),
            "lengths >= 1",
        )
        super().__init__(**common)
        self.train_lengths = (train_lengths[0], train_lengths[1])
        self._test_lengths = list(test_lengths)

    @property
    def test_lengths(self) -> list[int]:
        return self._test_lengths

    def steps(self, length: int | None = None) -> int:
        return self.length_range(length)[1]

    def length_range(self, length: int | None) -> tuple[int, int]:
        """(low, high) of the lengths to draw: the training range, or exactly `length`."""
        return (length, length) if length is not None else self.train_lengths


class FixedLengthTask(LengthTask):
    """A task trained at one length T (task.length) and tested at T and 2T unless task.test_lengths says otherwise:
    the long-memory benchmarks (adding, copy_memory)."""

    # named keys, no **common: a subclass's keys (typed from its constructor) end here, without LengthTask's
    # train_lengths, which T sets
    def __init__(
        self, length: int, test_lengths: list[int], val_size: int = 1000, test_size: int = 1000, stop_window: int = 0
    ) -> None:
        require(isinstance(length, int) and length >= 1, "task.length", length, "steps T >= 1")
        super().__init__(
            train_lengths=[length, length],
            test_lengths=test_lengths or [length, 2 * length],
            val_size=val_size,
            test_size=test_size,
            stop_window=stop_window,
        )
        self.length = length

    @property
    def headline_length(self) -> int | None:
        """T, the length it trained at, where it is tested there: the other lengths are generalisation, reported by
        length beside the headline and never averaged into it."""
        return self.length if self.length in self.test_lengths else None
