"""Index recall: read a sequence of random digits (one-hot), then name the digit that stood at `position`.

    rnnlab task=index_recall model=gru model.hidden_size=10 task.position=2

Training lengths are drawn from `train_lengths`; the test is broken down by length, longer ones included, to
show whether the network learned to hold one digit or only to count to the lengths it saw.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnlab.tasks.base import Batch, LengthTask, abbreviate, step_mask, uniform_lengths

DIGITS = 10


class IndexRecall(LengthTask):
    name = "index_recall"
    input_size = DIGITS
    num_classes = DIGITS
    per_step = False

    def __init__(self, position: int, **lengths_and_common) -> None:
        super().__init__(**lengths_and_common)
        self.position = position

    def make_batch(self, n: int, generator: torch.Generator, device: torch.device, length: int | None = None) -> Batch:
        low, high = self.length_range(length)
        lengths = uniform_lengths(n, low, high, generator, device)
        digits = torch.randint(0, DIGITS, (n, high), generator=generator, device=device)
        # Steps past a sequence's end are all-zero input; the model reads out at each sequence's own last step.
        x = F.one_hot(digits, DIGITS).float() * step_mask(lengths, high).unsqueeze(-1)
        return Batch(x=x, y=digits[:, self.position], lengths=lengths)

    def relevant_steps(self, batch: Batch) -> Tensor:
        """The recalled position."""
        steps = torch.arange(batch.x.shape[1], device=batch.x.device)
        return (steps == self.position).expand(len(batch), -1)

    def describe(self, batch: Batch, predictions: Tensor, i: int) -> str:
        length = int(batch.lengths[i])
        digits = batch.x[i, :length].argmax(-1).tolist()
        shown = abbreviate(" ".join(f"[{d}]" if t == self.position else str(d) for t, d in enumerate(digits)), 60)
        mark = "right" if predictions[i] == batch.y[i] else "WRONG"
        said, true = int(predictions[i]), int(batch.y[i])
        return f"{mark} | predicted {said} true {true} | position {self.position} | input {shown}"
