"""The task schemas: each task's keys with their types and ranges (see src/rnnlab/config/schemas.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from omegaconf import MISSING

from rnnlab.errors import require, require_choice


def _check_length_range(key: str, lengths: list[int]) -> None:
    require(len(lengths) == 2, key, lengths, "give [min,max] sequence lengths, e.g. [1,20]")
    require(1 <= lengths[0] <= lengths[1], key, lengths, "need 1 <= min <= max")


def _check_lengths(key: str, lengths: list[int]) -> None:
    require(len(lengths) >= 1 and all(n >= 1 for n in lengths), key, lengths, "a non-empty list of lengths >= 1")


@dataclass
class TaskSchema:
    _target_: str = MISSING
    val_size: int = MISSING
    test_size: int = MISSING
    # Stop once the most recent `stop_window` training sequences were all right (the 1997 paper's criterion);
    # 0 never stops early. trainer.early_stop switches the criterion off for every task.
    stop_window: int = MISSING

    def __post_init__(self) -> None:
        require(self.val_size >= 1, "val_size", self.val_size, "an integer >= 1")
        require(self.test_size >= 1, "test_size", self.test_size, "an integer >= 1")
        require(self.stop_window >= 0, "stop_window", self.stop_window, "an integer >= 0 (0 = off)")


@dataclass
class LengthSchema(TaskSchema):
    """A task trained on lengths drawn from [min, max] and tested at each of a list of lengths
    (tasks.base.LengthTask)."""

    train_lengths: list[int] = MISSING
    test_lengths: list[int] = MISSING

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_length_range("train_lengths", self.train_lengths)
        _check_lengths("test_lengths", self.test_lengths)


@dataclass
class IndexRecallSchema(LengthSchema):
    _target_: str = "rnnlab.tasks.index_recall.IndexRecall"
    position: int = MISSING

    def __post_init__(self) -> None:
        super().__post_init__()
        shortest = min(self.train_lengths[0], *self.test_lengths)
        require(
            0 <= self.position < shortest,
            "position",
            self.position,
            f"0 <= position < {shortest}, the shortest train or test length (positions count from 0)",
        )


@dataclass
class BinaryAdditionSchema(LengthSchema):
    _target_: str = "rnnlab.tasks.binary_addition.BinaryAddition"


TEMPORAL_ORDER_VARIANTS = ("6a", "6b")


@dataclass
class TemporalOrderSchema(TaskSchema):
    _target_: str = "rnnlab.tasks.temporal_order.TemporalOrder"
    variant: str = MISSING

    def __post_init__(self) -> None:
        super().__post_init__()
        require_choice("variant", self.variant, TEMPORAL_ORDER_VARIANTS)


@dataclass
class CharSequenceSchema(TaskSchema):
    _target_: str = "rnnlab.tasks.char_sequence.CharSequence"
    text: str = MISSING
    file: str | None = None  # a UTF-8 text file to learn instead of `text`
    prompt: str | None = None  # generation starts from it; null = the text's first character
    temperature: float = MISSING  # 0 = greedy
    window: int = MISSING  # characters per training sequence when the text is longer
    generate_chars: int = MISSING  # characters the test writes after the prompt, at most

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.temperature >= 0, "temperature", self.temperature, "a temperature >= 0 (0 = greedy)")
        require(self.window >= 1, "window", self.window, "an integer >= 1")
        require(self.generate_chars >= 0, "generate_chars", self.generate_chars, "an integer >= 0")


@dataclass
class FixedLengthSchema(TaskSchema):
    """A task trained at one sequence length T and tested at T and longer (the long-memory benchmarks)."""

    shortest: ClassVar[int] = 1
    length: int = MISSING  # T
    test_lengths: list[int] = MISSING  # [] = [T, 2T]

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.length >= self.shortest, "length", self.length, f"an integer >= {self.shortest}")
        require(
            all(n >= self.shortest for n in self.test_lengths),
            "test_lengths",
            self.test_lengths,
            f"lengths >= {self.shortest} ([] = [T, 2T])",
        )


@dataclass
class AddingSchema(FixedLengthSchema):
    _target_: str = "rnnlab.tasks.adding.Adding"
    shortest: ClassVar[int] = 2  # a marker in each half


@dataclass
class CopyMemorySchema(FixedLengthSchema):
    _target_: str = "rnnlab.tasks.copy_memory.CopyMemory"


MNIST_LAYOUTS = ("rows", "pixels")


@dataclass
class MNISTSchema(TaskSchema):
    _target_: str = "rnnlab.tasks.mnist.MNIST"
    root: str = MISSING  # holds MNIST/raw/ (torchvision layout)
    download: bool = MISSING
    layout: str = MISSING
    permute: bool = MISSING

    def __post_init__(self) -> None:
        super().__post_init__()
        require_choice("layout", self.layout, MNIST_LAYOUTS)
