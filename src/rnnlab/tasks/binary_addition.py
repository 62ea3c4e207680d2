"""Binary addition: two operands, least significant bit first, one pair of bits per step; emit the sum bit by bit.

    rnnlab task=binary_addition model=rnn loss=mse 'task.train_lengths=[1,20]' 'task.test_lengths=[20,100,1000]'

A sequence of length L holds two L-bit operands and one more all-zero step, so that the network can emit the
final carry: L + 1 sum bits. Train on short sums, test on long ones: a network that learned the carry rule adds
1000-bit numbers as well as 10-bit ones.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnlab.tasks.base import (
    IGNORE,
    Batch,
    LengthTask,
    abbreviate,
    step_mask,
    uniform_lengths,
)


def add_bits(a: Tensor, b: Tensor) -> Tensor:
    """Sum bits of two LSB-first bit tensors (..., steps), without a loop over steps.

    The carry into step i is the generate bit (a & b) of the last step j < i whose bits differ from a
    propagate (a ^ b == 0 there), or 0 if there is none: a running maximum finds that step for all i at once.
    """
    generate, propagate = a & b, a ^ b
    steps = torch.arange(a.shape[-1], device=a.device).expand_as(a)
    last_stop = torch.where(propagate == 0, steps, -1).cummax(dim=-1).values
    carry_out = torch.where(last_stop >= 0, generate.gather(-1, last_stop.clamp(min=0)), 0)
    carry_in = torch.nn.functional.pad(carry_out[..., :-1], (1, 0))
    return propagate ^ carry_in


def bits_to_int(bits: list[int]) -> int:
    """LSB-first bits to a Python int (any length)."""
    return sum(bit << i for i, bit in enumerate(bits))


class BinaryAddition(LengthTask):
    name = "binary_addition"
    input_size = 2
    num_classes = 2
    per_step = True
    step_metric = "bit_acc"

    def steps(self, length: int | None = None) -> int:
        return self.length_range(length)[1] + 1  # the final carry's step

    def make_batch(self, n: int, generator: torch.Generator, device: torch.device, length: int | None = None) -> Batch:
        low, high = self.length_range(length)
        bits = uniform_lengths(n, low, high, generator, device)
        steps = high + 1
        operand_bits = step_mask(bits, steps)  # the extra step (and padding) is all zeros
        a = torch.randint(0, 2, (n, steps), generator=generator, device=device) * operand_bits
        b = torch.randint(0, 2, (n, steps), generator=generator, device=device) * operand_bits
        lengths = bits + 1
        y = add_bits(a, b).masked_fill(~step_mask(lengths, steps), IGNORE)
        return Batch(x=torch.stack([a, b], dim=-1).float(), y=y, lengths=lengths)

    def describe(self, batch: Batch, predictions: Tensor, i: int) -> str:
        length = int(batch.lengths[i])
        a, b = (batch.x[i, : length - 1, k].long().tolist() for k in (0, 1))
        true, pred = batch.y[i, :length].tolist(), predictions[i, :length].tolist()

        def msb_first(bits: list[int]) -> str:  # people read numbers most significant bit first
            return abbreviate("".join(map(str, reversed(bits))))

        mark = "right" if true == pred else f"WRONG ({sum(t != p for t, p in zip(true, pred))} bits)"
        decimal = f" ({bits_to_int(a)} + {bits_to_int(b)})" if len(a) <= 32 else ""
        # The network reads and writes least significant bit first; people read the other way round: say which.
        return (
            f"{mark} | MSB first: {msb_first(a)} + {msb_first(b)}{decimal} | "
            f"predicted {msb_first(pred)} true {msb_first(true)}"
        )
