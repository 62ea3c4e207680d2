"""rnnlab-eval: re-test a saved model, with other task settings if asked (rnnlab.runner.evaluate does the work).

rnnlab-eval checkpoint=outputs/binary_addition/2026-11-23_10-00-00 'task.test_lengths=[2000]'
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from rnnlab.cli.argv import key_values
from rnnlab.cli.exits import full_errors, one_line_errors, quiet_when_piped
from rnnlab.errors import USER_CODE_ERRORS, ConfigError, explain

EVAL_USAGE = """usage: rnnlab-eval checkpoint=<run dir or .pt file> [out=<dir>] [key=value ...]

Re-tests a saved model and writes report.json, report.md (and per-length files) to out
(default: <run dir>/eval/<date_time>). Other key=value pairs change the saved config, e.g.
  rnnlab-eval checkpoint=outputs/binary_addition/2026-11-23_10-00-00 'task.test_lengths=[2000]' device=cpu
"""


@quiet_when_piped
def evaluate(argv: list[str] | None = None) -> None:
    """The rnnlab-eval command."""
    pairs = key_values(sys.argv[1:] if argv is None else argv, "rnnlab-eval", EVAL_USAGE, ("checkpoint",))
    if pairs is None:
        return
    from datetime import datetime

    from rnnlab.files import REPORT
    from rnnlab.runner.evaluate import evaluate_checkpoint
    from rnnlab.sweeps.run_dirs import check_out_dir
    from rnnlab.training.checkpoints import resolve_checkpoint

    with one_line_errors("rnnlab-eval"):
        path = resolve_checkpoint(pairs.pop("checkpoint"))
        out = Path(pairs.pop("out", "") or path.parent / "eval" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S"))
        check_out_dir(out, str(out), "the evaluation's reports")
        if out.is_dir() and any(out.iterdir()) and not (out / REPORT).exists():  # the user's own folder
            raise ConfigError(f"out={out} holds files that are not an evaluation's: give a new or empty dir")
        logging.basicConfig(level=logging.INFO, format="%(message)s")
        try:
            evaluate_checkpoint(path, [f"{k}={v}" for k, v in pairs.items()], Path(out))
        except USER_CODE_ERRORS as err:  # a user's model or task that raised or exited while testing
            if isinstance(err, ConfigError) or full_errors():
                raise
            print(f"rnnlab-eval: failed: {explain(err)} (HYDRA_FULL_ERROR=1 shows the traceback)", file=sys.stderr)
            sys.exit(1)
