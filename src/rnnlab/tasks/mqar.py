"""Multi-query associative recall (MQAR; Arora et al. 2023, Zoology), scaled to a CPU: P key-value pairs, then each
of the P keys again in a random order, answered with its value.

    rnnlab task=mqar model=lstm            # tested by P: accuracy by number of pairs at a fixed state size

A sequence of P pairs has 3P steps: k1 v1 k2 v2 ... kP vP, then the P keys shuffled. Keys of one sequence are
distinct (drawn from `keys`), values are drawn from `values` with repeats. The model answers at every query step;
only those are scored and trained on (the rest are IGNORE). What it must hold grows with P: a fixed-size state
fills up, attention's does not, which is what Zoology measured.

"Length" here is P: task.train_lengths draws P per sequence, task.test_lengths lists the P to test at. Metrics:
`acc`, the share of queries answered right (the headline: the mean over the test P, each counting once), and
`seq_acc`, the share of sequences with every query right.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnlab.errors import require
from rnnlab.tasks.base import IGNORE, Batch, LengthTask, uniform_lengths


class MQAR(LengthTask):
    name = "mqar"
    per_step = True
    step_metric = "acc"
    length_label = "key-value pairs (P)"  # what "length" counts here: the by-length figure's axis
    published = {"transformer": "attention ~100% at every P (Zoology Fig. 2)"}

    def __init__(self, keys: int = 32, values: int = 16, **lengths_and_common) -> None:
        super().__init__(**lengths_and_common)
        most = max(self.train_lengths[1], *self.test_lengths)
        require(
            keys >= most,
            "task.keys",
            keys,
            f"at least the most pairs trained or tested at ({most}): a sequence's keys are distinct",
        )
        require(values >= 2, "task.values", values, "an integer >= 2")
        self.keys, self.values = keys, values
        self.input_size = keys + values  # a key or a value, one-hot; padding is all zero
        self.num_classes = values

    def steps(self, length: int | None = None) -> int:
        return 3 * self.length_range(length)[1]

    def make_batch(self, n: int, generator: torch.Generator, device: torch.device, length: int | None = None) -> Batch:
        low, high = self.length_range(length)
        pairs = uniform_lengths(n, low, high, generator, device)[:, None]  # P of each sequence
        keys = torch.rand(n, self.keys, generator=generator, device=device).argsort(1)[:, :high]  # distinct
        values = torch.randint(0, self.values, (n, high), generator=generator, device=device)
        # the order of the queries: a permutation of the sequence's own P pairs (pairs past P sort last)
        beyond = torch.arange(high, device=device) >= pairs
        order = (torch.rand(n, high, generator=generator, device=device) + beyond).argsort(1)
        t = torch.arange(3 * high, device=device).expand(n, -1)
        in_pairs, in_queries = t < 2 * pairs, (t >= 2 * pairs) & (t < 3 * pairs)
        pair = torch.where(in_pairs, t // 2, order.gather(1, (t - 2 * pairs).clamp(0, high - 1)))
        key, value = keys.gather(1, pair), values.gather(1, pair)
        is_value = in_pairs & (t % 2 == 1)
        token = torch.where(is_value, self.keys + value, key)
        token = torch.where(in_pairs | in_queries, token, self.input_size)  # padding: one past the last token
        x = F.one_hot(token, self.input_size + 1)[..., :-1].float()
        y = torch.where(in_queries, value, IGNORE)
        return Batch(x=x, y=y, lengths=3 * pairs[:, 0])

    def describe(self, batch: Batch, predictions: Tensor, i: int) -> str:
        n = int(batch.lengths[i]) // 3
        tokens = batch.x[i, : 3 * n].argmax(-1).tolist()
        name = lambda c: f"k{c}" if c < self.keys else f"v{c - self.keys}"  # noqa: E731
        pairs = " ".join(f"{name(tokens[2 * j])}={name(tokens[2 * j + 1])}" for j in range(min(n, 6)))
        asked = " ".join(name(c) for c in tokens[2 * n : 2 * n + min(n, 6)])
        said = " ".join(f"v{int(v)}" for v in predictions[i, 2 * n : 2 * n + min(n, 6)])
        true = " ".join(f"v{int(v)}" for v in batch.y[i, 2 * n : 2 * n + min(n, 6)])
        right = int((predictions[i, 2 * n : 3 * n] == batch.y[i, 2 * n : 3 * n]).sum())
        more = " …" if n > 6 else ""
        return f"{right}/{n} right | {pairs}{more} | asked {asked}{more} said {said} true {true}"

    def mode_level(self, pairs: int, draws: int = 20_000) -> float:
        """What answering every query with the sequence's most frequent value gets at P pairs: E[max count] / P (values
        drawn with repeats). A model that counts the values it saw but binds none to its key reaches it. Seeded."""
        values = torch.randint(0, self.values, (draws, pairs), generator=torch.Generator().manual_seed(pairs))
        return float(F.one_hot(values, self.values).sum(1).max(1).values.float().mean()) / pairs

    @functools.cached_property
    def floor(self) -> float:
        """The mode level on the validation set's distribution (P drawn from task.train_lengths, every query counting),
        where a comparison reads its validation values: the plateau every model sits on before it binds keys."""
        low, high = self.train_lengths
        levels = {p: self.mode_level(p, 4_000) for p in range(low, high + 1)}
        return sum(p * level for p, level in levels.items()) / sum(levels)

    def reference(self) -> list[str]:
        return [
            "no key bound (each query answered with the sequence's most frequent value): acc "
            + " / ".join(f"{self.mode_level(p):.3f}" for p in self.test_lengths)
            + " at P = "
            + " / ".join(map(str, self.test_lengths))
            + f"; {self.floor:.3f} on the validation set",
            f"chance: acc {self.chance:.3f} (a guess among {self.values} values)",
            "Zoology (Arora et al. 2023), Figure 2: attention answers MQAR at every number of pairs; gated "
            "convolutions and recurrences fall as the pairs outgrow their state",
        ]
