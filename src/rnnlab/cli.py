"""Command-line entry points.

    rnnlab task=index_recall model=gru model.hidden_size=10       # train, then test; reports in the run dir
    rnnlab -m task=index_recall model=rnn,lstm,gru                # a sweep, one run dir per job
    rnnlab --help                                                 # groups, options and the composed config

A mistake of the user's (bad value, impossible combination) is one line on stderr and exit code 2;
HYDRA_FULL_ERROR=1 shows the traceback as well.
"""

from __future__ import annotations

import os
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from rnnlab.config import ConfigError
from rnnlab.runner import run

USAGE_ERROR = 2


@hydra.main(version_base="1.3", config_path="pkg://rnnlab.conf", config_name="config")
def train(cfg: DictConfig) -> float:
    try:
        report = run(cfg, HydraConfig.get().runtime.output_dir)
    except ConfigError as err:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"rnnlab: error: {err}", file=sys.stderr)
        sys.exit(USAGE_ERROR)
    if report["status"] != "ok":
        print(f"rnnlab: {report['status']}", file=sys.stderr)
        sys.exit(1)
    return report["val"][report["metric"]]  # what a sweeper (Optuna) would maximise
