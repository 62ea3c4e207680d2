"""rnnlab-predict: the digit in each image file, from a model trained on the mnist task (rnnlab.runner.predict).

rnnlab-predict checkpoint=outputs/mnist/2026-11-23_10-00-00 inputs='photos/*.png'
"""

from __future__ import annotations

import sys
from pathlib import Path

from rnnlab.cli.argv import key_values
from rnnlab.cli.exits import fail, one_line_errors, quiet_when_piped

PREDICT_USAGE = """usage: rnnlab-predict checkpoint=<run dir or .pt file> inputs=<file, directory or glob>
                      [out=<dir>] [device=cpu]

Predicts the digit in each image (PNG, JPG, BMP ...: a photo or scan of one handwritten digit) with a model
trained on the mnist task. Prints one line per file and writes <out>/predictions.csv (default: the current dir).
An unreadable file gets an error line and the others are still predicted; the exit code is 1 if any failed.
"""


@quiet_when_piped
def predict(argv: list[str] | None = None) -> None:
    """The rnnlab-predict command."""
    pairs = key_values(
        sys.argv[1:] if argv is None else argv, "rnnlab-predict", PREDICT_USAGE, ("checkpoint", "inputs")
    )
    if pairs is None:
        return
    if unknown := set(pairs) - {"checkpoint", "inputs", "out", "device"}:
        fail(f"unknown key {', '.join(sorted(unknown))}: use checkpoint, inputs, out, device", "rnnlab-predict")
    from rnnlab.runner.parts import resolve_device
    from rnnlab.runner.predict import find_inputs, predict_files, write_predictions
    from rnnlab.sweeps.run_dirs import check_out_dir

    out = Path(pairs.get("out", ".")).expanduser().absolute()
    with one_line_errors("rnnlab-predict"):
        check_out_dir(out, pairs.get("out", "."), "predictions.csv")  # before predicting: a mistake costs nothing
        paths = find_inputs(pairs["inputs"])
        results = predict_files(pairs["checkpoint"], paths, resolve_device(pairs.get("device", "auto")))
    width = max(len(str(r.path)) for r in results)
    for r in results:
        if r.error is None:
            print(f"{str(r.path):<{width}}  {r.digit}  {r.probability:.3f}")
        else:
            print(f"rnnlab-predict: error: {r.path}: {r.error}", file=sys.stderr)
    out.mkdir(parents=True, exist_ok=True)
    write_predictions(out / "predictions.csv", results)
    failed = sum(r.error is not None for r in results)
    print(f"{len(results) - failed} predicted, {failed} failed -> {out / 'predictions.csv'}")
    if failed:
        sys.exit(1)
