"""The adding problem: remember two marked numbers among T and output their sum (a regression task).

    rnnlab task=adding                          # T=200, the LSTM's recipe (chrono, 5,000 steps): MSE < 1e-4
    rnnlab task=adding task.length=600 trainer.max_steps=10000

Hochreiter & Schmidhuber (1997), Experiment 4, in the variant of the uRNN (Arjovsky et al. 2016) and TCN (Bai et
al. 2018) papers: each step has two inputs, a value drawn from U(0, 1) and a marker that is 1 at exactly two
steps, one in each half of the sequence; the target is the sum of the two marked values. The one real output is
read after the last step and trained with loss=mse.

Metrics: `mse`, and `acc`, the share of sequences whose absolute error is below 0.04 (the 1997 criterion, also
what the stop rule counts). Predicting 1 whatever the input gives MSE 1/6 = 0.167 (the variance of the sum).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnlab.tasks.base import Batch, FixedLengthTask

TOLERANCE = 0.04  # |error| below this counts as right (Hochreiter & Schmidhuber 1997)
BASELINE_MSE = 1 / 6  # always predicting 1: the variance of the sum of two U(0, 1) values


class Adding(FixedLengthTask):
    name = "adding"
    input_size = 2
    num_classes = 1  # one real output
    regression = True
    per_step = False
    # What always predicting 1 reaches: P(|a + b - 1| < 0.04) for a, b ~ U(0, 1).
    chance = 2 * TOLERANCE - TOLERANCE**2
    published = {"lstm": "MSE 0.164 at T=600 (TCN Table 1)", "gru": "MSE 5.3e-5 at T=600 (TCN Table 1)"}

    def make_batch(self, n: int, generator: torch.Generator, device: torch.device, length: int | None = None) -> Batch:
        steps = self.length_range(length)[1]
        values = torch.rand(n, steps, generator=generator, device=device)
        half = steps // 2  # one marker in [0, half), the other in [half, steps)
        first = torch.randint(0, half, (n,), generator=generator, device=device)
        second = torch.randint(half, steps, (n,), generator=generator, device=device)
        markers = torch.zeros(n, steps, device=device)
        rows = torch.arange(n, device=device)
        markers[rows, first] = 1.0
        markers[rows, second] = 1.0
        y = values[rows, first] + values[rows, second]
        return Batch(x=torch.stack([values, markers], dim=-1), y=y, lengths=torch.full((n,), steps, device=device))

    def relevant_steps(self, batch: Batch) -> Tensor:
        """The two marked steps."""
        return batch.x[..., 1] > 0

    def sequences_right(self, predictions: Tensor, batch: Batch) -> Tensor:
        return (predictions - batch.y).abs() < TOLERANCE

    def metrics(self, predictions: Tensor, batch: Batch) -> dict[str, float]:
        error = predictions - batch.y
        return {"acc": float((error.abs() < TOLERANCE).float().mean()), "mse": float(error.pow(2).mean())}

    def describe(self, batch: Batch, predictions: Tensor, i: int) -> str:
        marked = batch.x[i, :, 0][batch.x[i, :, 1] > 0].tolist()
        error = float(predictions[i] - batch.y[i])
        mark = "right" if abs(error) < TOLERANCE else "WRONG"
        return (
            f"{mark} | predicted {float(predictions[i]):.4f} true {float(batch.y[i]):.4f} (error {error:+.4f}) | "
            f"marked {marked[0]:.3f} + {marked[1]:.3f} of {batch.x.shape[1]} steps"
        )

    def reference(self) -> list[str]:
        return [
            f"always predicting 1: MSE {BASELINE_MSE:.3f}, acc {self.chance:.3f}",
            "TCN paper (Bai et al. 2018) Table 1, T=600: LSTM MSE 0.164 (failed), GRU 5.3e-5, TCN 5.8e-5",
        ]
