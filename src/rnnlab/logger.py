"""Where a run's scalars, figures and text go: TensorBoard event files in the run dir, or nowhere.

    tensorboard --logdir outputs

Tags are the metric names used everywhere else (train/loss, val/acc, test/bit_acc ...), so the dashboard, the
report and a sweep table agree. The final config and test metrics go to the HPARAMS tab.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display needed; figures only go to files and TensorBoard
from matplotlib.figure import Figure  # noqa: E402
from torch.utils.tensorboard import SummaryWriter  # noqa: E402
from torch.utils.tensorboard.summary import hparams  # noqa: E402


class NullLogger:
    """Logs nothing (logger=none): the runner's overhead without TensorBoard."""

    def __init__(self, log_dir: str | Path, samples: int = 0) -> None:
        self.samples = samples

    def scalars(self, values: dict[str, float], step: int) -> None: ...

    def text(self, tag: str, text: str, step: int) -> None: ...

    def figure(self, tag: str, figure: Figure, step: int) -> None: ...

    def hparams(self, params: dict[str, Any], metrics: dict[str, float]) -> None: ...

    def close(self) -> None: ...


class TensorBoardLogger(NullLogger):
    def __init__(self, log_dir: str | Path, samples: int = 5) -> None:
        super().__init__(log_dir, samples)
        # A queue of 10 events (the default) fills within one log call, and then every add_scalar waits on the
        # writer thread: 40-90 us each instead of 5 (measured). Events reach the file every 10 s for a live dashboard.
        self.writer = SummaryWriter(log_dir=str(log_dir), max_queue=1000, flush_secs=10)

    def scalars(self, values: dict[str, float], step: int) -> None:
        for tag, value in values.items():
            self.writer.add_scalar(tag, value, step)

    def text(self, tag: str, text: str, step: int) -> None:
        self.writer.add_text(tag, text, step)

    def figure(self, tag: str, figure: Figure, step: int) -> None:
        self.writer.add_figure(tag, figure, step, close=False)

    def hparams(self, params: dict[str, Any], metrics: dict[str, float]) -> None:
        # Written into this run's own event file (SummaryWriter.add_hparams would start a new sub-run), so a
        # sweep's runs line up in the HPARAMS tab with the swept values as columns. The metric tags name
        # scalars that were logged already (test/...).
        for summary in hparams(params, metrics):
            self.writer.file_writer.add_summary(summary)

    def close(self) -> None:
        self.writer.close()
