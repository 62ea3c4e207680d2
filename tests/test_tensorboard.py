"""A sweep and a run of another task in one log dir, read back by a real TensorBoard server on 127.0.0.1 through
its hparams API (what the HPARAMS tab shows): run names carry what varied, every run has its settings and its
metrics, and the swept settings are the ones marked as differing (shown by default)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_cli import FAST

from rnnlab.runner.run import run

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def experiment(port: int, runs: int, timeout: float = 90) -> tuple[dict, dict]:
    """The hparams plugin's experiment and session groups, once every run is loaded."""
    base = f"http://127.0.0.1:{port}/data/plugin/hparams"
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = post(f"{base}/experiment", {"experimentName": ""})
            groups = post(
                f"{base}/session_groups",
                {
                    "experimentName": "",
                    "startIndex": 0,
                    "sliceSize": 100,
                    "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
                    "colParams": [],
                    "aggregationType": "AGGREGATION_AVG",
                },
            )
            if len(groups.get("sessionGroups", [])) == runs and found.get("metricInfos"):
                return found, groups
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("TensorBoard did not serve every run in time")
        time.sleep(1)


@pytest.mark.slow  # a whole sweep or two processes: the slow tier (make test-slow)
def test_tensorboard_shows_a_sweep_and_another_task_side_by_side(tmp_path, command_here, tiny_config):
    logs = tmp_path / "logs"
    sweep = command_here(
        "rnnlab",
        "-m",
        "task=index_recall",
        "model=rnn,lstm",
        "model.hidden_size=2,5",
        *FAST,
        "trainer.max_steps=10",
        f"hydra.sweep.dir={logs}/sweep",
        cwd=tmp_path,
    )
    assert sweep.returncode == 0, sweep.stderr[-2000:]
    run(tiny_config("task=binary_addition", "logger=tensorboard", "trainer.max_steps=10"), logs / "addition")

    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "tensorboard"),
            "--logdir",
            str(logs),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--reload_interval",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        found, groups = experiment(port, runs=5)
    finally:
        server.terminate()
        server.wait(timeout=30)

    # Run names carry what varied in the sweep, and nothing that every job shared.
    names = sorted(g["name"] for g in groups["sessionGroups"])
    assert names == [
        "addition",
        "sweep/0_model.hidden_size=2,model=rnn",
        "sweep/1_model.hidden_size=5,model=rnn",
        "sweep/2_model.hidden_size=2,model=lstm",
        "sweep/3_model.hidden_size=5,model=lstm",
    ]
    # The swept settings (and the task, which differs between the two tasks) are marked as differing: TensorBoard
    # shows those columns by default. Constant ones are not.
    differs = {h["name"]: h.get("differs", False) for h in found["hparamInfos"]}
    assert differs["model.cell"] and differs["model.hidden_size"] and differs["task"] and differs["model.params"]
    assert not differs["optimizer"] and not differs["loss"] and not differs["seed"]
    types = {h["name"]: h["type"] for h in found["hparamInfos"]}
    assert types["model.bidirectional"] == "DATA_TYPE_BOOL" and types["task"] == "DATA_TYPE_STRING"
    # Every run has its settings and its test metrics, whatever its task.
    metrics = {m["name"]["tag"] for m in found["metricInfos"]}
    assert {
        "test/acc",
        "test/acc@100",
        "val/best_acc",
        "test/bit_acc",
        "test/bit_acc@1000",
        "test/seq_acc@1000",
    } <= metrics
    by_name = {g["name"]: g for g in groups["sessionGroups"]}
    for name, group in by_name.items():
        values = {m["name"]["tag"] for m in group["metricValues"]}
        assert ("test/bit_acc@1000" if name == "addition" else "test/acc@100") in values, name
        assert group["hparams"]["task"] == ("binary_addition" if name == "addition" else "index_recall")
    assert by_name["sweep/3_model.hidden_size=5,model=lstm"]["hparams"]["model.hidden_size"] == 5
    assert by_name["sweep/3_model.hidden_size=5,model=lstm"]["hparams"]["model.cell"] == "lstm"
