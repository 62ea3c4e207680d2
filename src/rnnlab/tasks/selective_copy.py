"""Selective copying (Gu & Dao 2023, Mamba, Section 4.1.1 and Table 1), scaled to a CPU: `tokens` symbols at random
positions among T blank steps, a marker, then the symbols written back in order, one per step.

    rnnlab task=selective_copy model=mingru

Unlike the copying problem (task=copy_memory), where the symbols always come first, here they are scattered: a
model must decide from each input whether to store it, which gates that depend on the input (minGRU, minLSTM,
the LSTM, Mamba's S6) can do and a time-invariant recurrence (the LRU, S4) cannot. Only the written-back steps
are scored and trained on (the rest are IGNORE), as in the Mamba setting.

Metrics: `recall_acc`, the share of symbols written back right (the headline, at T), and `seq_acc`, the share of
sequences written back whole.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnlab.errors import require
from rnnlab.tasks.base import IGNORE, Batch, FixedLengthTask


class SelectiveCopy(FixedLengthTask):
    name = "selective_copy"
    per_step = True
    step_metric = "recall_acc"
    published = {
        "s6": "S6 99.8% (Mamba Table 1, T=4,096)",
        "lru": "S4, time-invariant like the LRU: 18.3% (Mamba Table 1)",
    }

    def __init__(
        self, length: int = 64, tokens: int = 8, vocab: int = 8, test_lengths: list[int] | None = None, **common: int
    ) -> None:
        super().__init__(length=length, test_lengths=list(test_lengths or []), **common)
        shortest = min(length, *self.test_lengths)
        require(
            1 <= tokens <= shortest,
            "task.tokens",
            tokens,
            f"1 <= tokens <= {shortest}, the shortest train or test length (the symbols stand at distinct steps)",
        )
        require(vocab >= 2, "task.vocab", vocab, "an integer >= 2")
        self.tokens, self.vocab = tokens, vocab
        self.input_size = vocab + 2  # blank 0, symbols 1..vocab, the marker vocab + 1: one-hot
        self.num_classes = vocab  # the symbol written back

    def steps(self, length: int | None = None) -> int:
        return self.length_range(length)[1] + 1 + self.tokens

    def make_batch(self, n: int, generator: torch.Generator, device: torch.device, length: int | None = None) -> Batch:
        region = self.length_range(length)[1]
        steps = region + 1 + self.tokens
        # `tokens` distinct positions of the region, in order: the first ones of a random permutation, sorted
        where = torch.rand(n, region, generator=generator, device=device).argsort(1)[:, : self.tokens].sort(1).values
        symbols = torch.randint(1, self.vocab + 1, (n, self.tokens), generator=generator, device=device)
        inputs = torch.zeros(n, steps, dtype=torch.long, device=device)
        inputs.scatter_(1, where, symbols)
        inputs[:, region] = self.vocab + 1
        y = torch.full((n, steps), IGNORE, dtype=torch.long, device=device)
        y[:, region + 1 :] = symbols - 1
        lengths = torch.full((n,), steps, device=device)
        return Batch(x=F.one_hot(inputs, self.input_size).float(), y=y, lengths=lengths)

    def relevant_steps(self, batch: Batch) -> Tensor:
        """Where the symbols stand."""
        inputs = batch.x.argmax(-1)
        return (inputs >= 1) & (inputs <= self.vocab)

    def describe(self, batch: Batch, predictions: Tensor, i: int) -> str:
        true = "".join(chr(ord("a") + int(c)) for c in batch.y[i, -self.tokens :])
        said = "".join(chr(ord("a") + int(c)) for c in predictions[i, -self.tokens :])
        inputs = batch.x[i, : -self.tokens - 1].argmax(-1).tolist()
        shown = "".join("." if c == 0 else chr(ord("a") + c - 1) for c in inputs)
        return f"{'right' if said == true else 'WRONG'} | wrote {said} true {true} | read {shown}"

    def reference(self) -> list[str]:
        return [
            f"chance: recall_acc {self.chance:.3f}; a model that stores nothing writes back guesses",
            "Mamba paper (Gu & Dao 2023) Table 1, 16 tokens among 4,096 steps, vocabulary 16: S4 18.3%, "
            "Mamba (S6) 99.8%",
        ]
