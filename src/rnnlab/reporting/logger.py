"""Where a run's scalars, figures and text go: TensorBoard event files in the run dir, or nowhere.

    tensorboard --logdir outputs

Tags are the metric names used everywhere else (train/loss, val/acc, test/bit_acc, test/acc@100 ...), so the
dashboard, the report and a sweep table agree.

HPARAMS: each run writes its settings as a session start (and its status as a session end), but no experiment
summary of its own. TensorBoard then builds the experiment from every run in the log dir: the columns are the union
of all runs' settings, the ones that differ between runs come first and are shown by default, and every run's
scalars are its metrics, whatever its task. (An experiment summary per run would hide all but the first one found.)
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

TENSORBOARD_SCALE = 0.62  # a figure's size in TensorBoard, against its PNG file (see TensorBoardLogger.figure)

# TensorBoard loads with the first TensorBoardLogger: logger=none runs skip its ~0.4 s of imports (tensorboard's
# file layer pulls in boto3 when present)
if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.plugins.hparams import plugin_data_pb2
    from torch.utils.tensorboard.writer import FileWriter


def _hparams_summary(tag: str, data: plugin_data_pb2.HParamsPluginData) -> Summary:
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.plugins.hparams import metadata

    data.version = metadata.PLUGIN_DATA_VERSION
    plugin = SummaryMetadata.PluginData(plugin_name=metadata.PLUGIN_NAME, content=data.SerializeToString())
    return Summary(value=[Summary.Value(tag=tag, metadata=SummaryMetadata(plugin_data=plugin))])


def session_start(params: dict[str, bool | int | float | str]) -> Summary:
    """The run's settings as typed values (a bool stays a bool: TensorBoard shows it as true/false)."""
    from tensorboard.plugins.hparams import metadata, plugin_data_pb2

    start = plugin_data_pb2.SessionStartInfo()
    for key, value in params.items():
        if isinstance(value, bool):
            start.hparams[key].bool_value = value
        elif isinstance(value, (int, float)):
            start.hparams[key].number_value = value
        else:
            start.hparams[key].string_value = str(value)
    return _hparams_summary(
        metadata.SESSION_START_INFO_TAG, plugin_data_pb2.HParamsPluginData(session_start_info=start)
    )


def session_end(status: str) -> Summary:
    """The run's status as the HPARAMS tab shows it: ok succeeded, interrupted is unknown, anything else failed."""
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

    shown = {"ok": api_pb2.STATUS_SUCCESS, "interrupted": api_pb2.STATUS_UNKNOWN}.get(status, api_pb2.STATUS_FAILURE)
    end = plugin_data_pb2.SessionEndInfo(status=shown)
    return _hparams_summary(metadata.SESSION_END_INFO_TAG, plugin_data_pb2.HParamsPluginData(session_end_info=end))


class NullLogger:
    """Logs nothing (logger=none): the runner's overhead without TensorBoard."""

    def __init__(self, log_dir: str | Path, samples: int = 0) -> None:
        self.samples = samples

    def scalars(self, values: dict[str, float], step: int) -> None: ...

    def text(self, tag: str, text: str, step: int) -> None: ...

    def figure(self, tag: str, figure: Figure, step: int) -> None: ...

    def start_session(self, params: dict[str, bool | int | float | str]) -> None: ...

    def end_session(self, status: str) -> None: ...

    def close(self) -> None: ...


class TensorBoardLogger(NullLogger):
    def __init__(self, log_dir: str | Path, samples: int = 5) -> None:
        super().__init__(log_dir, samples)
        from torch.utils.tensorboard import (
            SummaryWriter,  # (figures reach it from reports.py, which picks Agg)
        )

        # A queue of 10 events (the default) fills within one log call, and then every add_scalar waits on the
        # writer thread: 40-90 us each instead of 5 (measured). Events reach the file every 10 s for a live dashboard.
        self.writer = SummaryWriter(log_dir=str(log_dir), max_queue=1000, flush_secs=10)

    def scalars(self, values: dict[str, float], step: int) -> None:
        for tag, value in values.items():
            self.writer.add_scalar(tag, value, step)

    def text(self, tag: str, text: str, step: int) -> None:
        self.writer.add_text(tag, text, step)

    def figure(self, tag: str, figure: Figure, step: int) -> None:
        """The figure at TENSORBOARD_SCALE of its size in inches, the same point sizes: TensorBoard fits an image to
        its card (~330 px wide), where the file's 9-point legends came out ~6 px high; drawn smaller, its text is
        1.6x larger against the picture. The file (written after this) keeps its own size."""
        width, height = figure.get_size_inches()
        figure.set_size_inches(width * TENSORBOARD_SCALE, height * TENSORBOARD_SCALE)
        suptitle = figure._suptitle  # type: ignore[attr-defined]  # the Text; get_suptitle() gives its str
        titles = [t for t in (suptitle, *(ax.title for ax in figure.axes)) if t is not None]
        for title in titles:  # a title as wide as the file's figure would overrun the smaller one: wrap it
            title.set_wrap(True)
        try:
            with warnings.catch_warnings():  # a wrapped title over a short grid (a few misclassified digits) cannot
                # be fitted at this size; matplotlib then keeps the layout it had, which is readable, and says so on
                # the user's console for every run
                warnings.filterwarnings("ignore", "Tight layout not applied", UserWarning)
                figure.tight_layout()
            self.writer.add_figure(tag, figure, step, close=False)  # the runner closes it once the PNG is written
        finally:
            for title in titles:
                title.set_wrap(False)
            figure.set_size_inches(width, height)
            figure.tight_layout()

    def start_session(self, params: dict[str, bool | int | float | str]) -> None:
        # Into this run's own event file (SummaryWriter.add_hparams would start a sub-run and an experiment summary).
        self._file_writer().add_summary(session_start(params))

    def end_session(self, status: str) -> None:
        self._file_writer().add_summary(session_end(status))

    def _file_writer(self) -> FileWriter:
        writer = self.writer.file_writer
        assert writer is not None, "the SummaryWriter is closed"  # it opens one in __init__; close() drops it
        return writer

    def close(self) -> None:
        self.writer.close()
