"""The copying problem: read 10 symbols, wait T steps, then write the 10 symbols back.

    rnnlab task=copy_memory                     # T=100, the LSTM's recipe: >= 99% of symbols recalled

Arjovsky, Shah & Bengio (2016); Bai et al. (2018, TCN). A sequence has T + 20 steps: 10 symbols drawn from 8
categories (1-8), T - 1 blanks (0), the delimiter (9), then 10 more blanks during which the model must output
the 10 symbols in order. The target is blank everywhere else, and the loss counts every step, as in the papers.

Metrics: `recall_acc`, the share of the 10 recalled symbols right (what the stop rule and best.pt use), and
`seq_acc`, the share of sequences recalled whole. A model with no memory outputs blanks, then guesses: its loss
is 10 ln 8 / (T + 20), the baseline in the report.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnlab.tasks.base import Batch, FixedLengthTask

SYMBOLS = 10  # symbols to copy
CATEGORIES = 8  # 1..8; 0 is the blank
BLANK, DELIMITER = 0, 9


class CopyMemory(FixedLengthTask):
    name = "copy_memory"
    input_size = 10  # blank, 8 categories, delimiter: one-hot
    num_classes = 9  # blank and the 8 categories
    per_step = True
    step_metric = "recall_acc"
    chance = 1 / CATEGORIES

    def steps(self, length: int | None = None) -> int:
        return self.length_range(length)[1] + 2 * SYMBOLS

    def make_batch(self, n: int, generator: torch.Generator, device: torch.device, length: int | None = None) -> Batch:
        gap = self.length_range(length)[1]
        steps = gap + 2 * SYMBOLS
        symbols = torch.randint(1, CATEGORIES + 1, (n, SYMBOLS), generator=generator, device=device)
        inputs = torch.full((n, steps), BLANK, device=device)
        inputs[:, :SYMBOLS] = symbols
        inputs[:, SYMBOLS + gap - 1] = DELIMITER
        y = torch.full((n, steps), BLANK, device=device)
        y[:, -SYMBOLS:] = symbols
        return Batch(x=F.one_hot(inputs, self.input_size).float(), y=y, lengths=torch.full((n,), steps, device=device))

    def sequences_right(self, predictions: Tensor, batch: Batch) -> Tensor:
        return (predictions[:, -SYMBOLS:] == batch.y[:, -SYMBOLS:]).all(dim=1)

    def metrics(self, predictions: Tensor, batch: Batch) -> dict[str, float]:
        right = predictions[:, -SYMBOLS:] == batch.y[:, -SYMBOLS:]
        return {"recall_acc": float(right.float().mean()), "seq_acc": float(right.all(dim=1).float().mean())}

    def describe(self, batch: Batch, predictions: Tensor, i: int) -> str:
        true = "".join(str(int(c)) for c in batch.y[i, -SYMBOLS:])
        said = "".join(str(int(c)) for c in predictions[i, -SYMBOLS:])
        verdict = "right" if said == true else "WRONG"
        return f"{verdict} | recalled {said} true {true} | after {batch.x.shape[1] - 2 * SYMBOLS} steps"

    def baseline_loss(self, length: int | None = None) -> float:
        """Cross-entropy per step of a model with no memory: blanks, then a uniform guess over 8 symbols."""
        gap = length or self.length
        return SYMBOLS * math.log(CATEGORIES) / (gap + 2 * SYMBOLS)

    def reference(self) -> list[str]:
        return [
            f"no memory (blanks, then guesses): loss {self.baseline_loss():.4f}, recall_acc {self.chance:.3f}",
            "TCN paper (Bai et al. 2018) Table 1, T=1000: LSTM loss 0.0204 (= the baseline: failed), TCN 3.5e-5",
        ]
