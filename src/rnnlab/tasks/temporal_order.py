"""The temporal-order problem, Experiment 6 of Hochreiter & Schmidhuber (1997), "Long Short-Term Memory".

    rnnlab task=temporal_order task.variant=6a model=lstm

Sequences of 100-110 symbols start with E and end with B; between them stand random distractors a-d, except at
two (6a) or three (6b) times drawn from fixed windows, where X or Y stands. The class, read at the final B, is the
order of those X/Y symbols: XX, XY, YX, YY (6a, 4 classes) or XXX ... YYY (6b, 8 classes). The distractors make
the gap between the relevant symbols long: the problem needs memory over ~60 steps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnlab.tasks.base import Batch, Task, step_mask, uniform_lengths

SYMBOLS = "EabcdXYB"
E, X, B = SYMBOLS.index("E"), SYMBOLS.index("X"), SYMBOLS.index("B")
FIRST_DISTRACTOR, LAST_DISTRACTOR = SYMBOLS.index("a"), SYMBOLS.index("d")
LENGTHS = (100, 110)
# Windows (inclusive) for the times of the relevant X/Y symbols, as in the paper.
WINDOWS = {"6a": ((10, 20), (50, 60)), "6b": ((10, 20), (33, 43), (66, 76))}


class TemporalOrder(Task):
    name = "temporal_order"
    input_size = len(SYMBOLS)
    per_step = False

    def __init__(self, variant: str, **common: int) -> None:
        super().__init__(**common)
        self.variant = variant
        self.windows = WINDOWS[variant]
        self.num_classes = 2 ** len(self.windows)

    def steps(self, length: int | None = None) -> int:
        return length if length is not None else LENGTHS[1]

    def make_batch(self, n: int, generator: torch.Generator, device: torch.device, length: int | None = None) -> Batch:
        low, high = (length, length) if length is not None else LENGTHS
        lengths = uniform_lengths(n, low, high, generator, device)
        symbols = torch.randint(FIRST_DISTRACTOR, LAST_DISTRACTOR + 1, (n, high), generator=generator, device=device)
        symbols[:, 0] = E
        times = torch.stack([uniform_lengths(n, lo, hi, generator, device) for lo, hi in self.windows], dim=1)
        is_y = torch.randint(0, 2, times.shape, generator=generator, device=device)
        symbols.scatter_(1, times, X + is_y)
        symbols.scatter_(1, (lengths - 1).unsqueeze(1), B)
        # The class reads the X/Y choices as a binary number, first symbol most significant: XY -> 1, YX -> 2.
        weights = 2 ** torch.arange(len(self.windows) - 1, -1, -1, device=device)
        x = F.one_hot(symbols, len(SYMBOLS)).float() * step_mask(lengths, high).unsqueeze(-1)
        return Batch(x=x, y=(is_y * weights).sum(dim=1), lengths=lengths)

    def class_name(self, label: int) -> str:
        k = len(self.windows)
        return "".join("Y" if label >> (k - 1 - j) & 1 else "X" for j in range(k))

    class_label = class_name

    def relevant_steps(self, batch: Batch) -> Tensor:
        """The times of the X/Y symbols."""
        return batch.x[..., X : X + 2].sum(-1) > 0

    def describe(self, batch: Batch, predictions: Tensor, i: int) -> str:
        length = int(batch.lengths[i])
        text = "".join(SYMBOLS[s] for s in batch.x[i, :length].argmax(-1).tolist())
        pred, true = self.class_name(int(predictions[i])), self.class_name(int(batch.y[i]))
        return f"{'right' if pred == true else 'WRONG'} | predicted {pred} true {true} | input {text}"
