"""Running parity: read a string of bits and say after each one whether an odd number of 1s came so far. Trained on
strings of 1-20 bits, tested by length: a model that learned the rule (flip on a 1) writes any length right.

    cd examples/parity && rnnlab --config-dir conf task=parity
"""

import torch
import torch.nn.functional as F

from rnnlab import IGNORE, Batch, LengthTask


class Parity(LengthTask):
    name = "parity"
    input_size = 2  # a bit, one-hot
    num_classes = 2  # even, odd
    per_step = True  # a parity after every bit

    def make_batch(self, n, generator, device, length=None) -> Batch:
        low, high = self.length_range(length)  # the training range, or exactly `length`
        lengths = torch.randint(low, high + 1, (n,), generator=generator, device=device)
        inside = torch.arange(high, device=device) < lengths[:, None]
        bits = torch.randint(0, 2, (n, high), generator=generator, device=device) * inside
        parity = bits.cumsum(1) % 2
        return Batch(F.one_hot(bits, 2).float() * inside[..., None], parity.masked_fill(~inside, IGNORE), lengths)

    def describe(self, batch: Batch, predictions: torch.Tensor, i: int) -> str:
        n = int(batch.lengths[i])
        bits, right = batch.x[i, :n].argmax(-1), batch.y[i, :n]
        text = lambda t: "".join(map(str, t.tolist()))  # noqa: E731
        verdict = "right" if bool((predictions[i, :n] == right).all()) else "WRONG"
        return f"{verdict} | bits {text(bits)} parity {text(predictions[i, :n])} true {text(right)}"
