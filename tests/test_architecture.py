"""The package's shape: layers that import one way (import-linter's contracts in pyproject.toml), no import cycles,
small modules, and byte writers that do not pull in matplotlib."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ENV

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "src").rglob("*.py"))
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_the_layer_contracts_hold():
    result = subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout and "KEPT" in result.stdout


def test_the_contracts_catch_an_upward_import_and_a_cycle(tmp_path):
    """The checker itself: a copy of the package with one upward import (errors -> cli) and one cycle inside cli
    breaks both contracts."""
    import shutil

    copy = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "rnnlab", copy / "rnnlab", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "rnnlab" / "errors.py").write_text(
        (copy / "rnnlab" / "errors.py").read_text() + "\nimport rnnlab.cli.exits\n"
    )
    (copy / "rnnlab" / "cli" / "exits.py").write_text(
        (copy / "rnnlab" / "cli" / "exits.py").read_text() + "\n\ndef _f():\n    import rnnlab.cli.argv  # noqa\n"
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**ENV, "PYTHONPATH": str(copy)},
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "rnnlab.errors is not allowed to import rnnlab.cli" in result.stdout
    assert "No cycles are allowed in rnnlab.cli" in result.stdout


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT / "src")))
def test_modules_and_functions_stay_small(path):
    """Counted in statements, not lines: ruff format decides the lines (one argument per line where a call is long).
    Before the formatter, 200 statements were about 300 lines, 48 statements about 55."""

    def statements(node: ast.AST) -> int:
        return sum(isinstance(n, ast.stmt) for n in ast.walk(node))

    tree = ast.parse(path.read_text())
    assert statements(tree) <= 200, f"{path}: {statements(tree)} statements"
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert statements(node) - 1 <= 48, f"{path}: {node.name} has {statements(node) - 1} statements"


def test_modules_that_write_bytes_do_not_import_matplotlib():
    modules = [
        "rnnlab.files",
        "rnnlab.training.checkpoints",
        "rnnlab.runner.predict",
        "rnnlab.reporting.run_report",
        "rnnlab.cli.train",
    ]
    code = f"import sys; import {', '.join(modules)}; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120)
    assert result.stdout.strip() == "False", result.stdout + result.stderr
