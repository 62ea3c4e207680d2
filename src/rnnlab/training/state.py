"""Where training stands: the stop rule's window of recent sequences and the counters last.pt keeps."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any


class RecentSequences:
    """Tracks whether the most recent `size` training sequences were all right, one batch at a time."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.batches: deque[tuple[int, int]] = deque()  # (sequences, wrong) per batch
        self.count = 0
        self.wrong = 0

    def add(self, sequences: int, wrong: int) -> None:
        self.batches.append((sequences, wrong))
        self.count += sequences
        self.wrong += wrong
        # Keep just enough whole batches to cover `size` sequences.
        while self.batches and self.count - self.batches[0][0] >= self.size:
            n, w = self.batches.popleft()
            self.count -= n
            self.wrong -= w

    @property
    def all_right(self) -> bool:
        return self.size > 0 and self.count >= self.size and self.wrong == 0


@dataclass
class TrainState:
    """Where training stands: what last.pt keeps under "trainer", and what a resumed run continues from."""

    recent: RecentSequences  # the stop rule's window of recent training sequences
    step: int = 0  # steps done
    sequences: int = 0  # training sequences seen (a short last batch of an epoch counts as what it holds)
    train_time: float = 0.0  # seconds of training work (batch, forward, backward, update), every session
    wall_s: float = 0.0  # seconds of the sessions before this one
    best: float = -math.inf  # the best validation value of the task's metric (what best.pt holds)
    finished: bool = False  # training ended: a resume goes straight to the test

    def state_dict(self, session_s: float) -> dict[str, Any]:
        return {
            "step": self.step,
            "sequences": self.sequences,
            "train_time": self.train_time,
            "wall_s": self.wall_s + session_s,
            "best": self.best,
            "finished": self.finished,
            "recent": [list(b) for b in self.recent.batches],
        }

    def load_state_dict(self, saved: dict[str, Any], batch_size: int) -> None:
        self.step, self.best, self.finished = saved["step"], saved["best"], saved["finished"]
        self.train_time, self.wall_s = saved["train_time"], saved.get("wall_s", 0.0)
        self.sequences = saved.get("sequences", saved["step"] * batch_size)  # a last.pt from before it was counted
        for sequences, wrong in saved["recent"]:
            self.recent.add(sequences, wrong)
