"""Every rnnlab command in the README and docs/ is one the up-front check accepts: its groups, options and keys exist,
its values are in range, its task, model and loss fit together (built on the meta device), its data are there. The
check stops before training, so the whole set takes a minute, not hours: the slow tier runs it."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest

from rnnlab.cli.check import check_command_line

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DATA = ROOT.parent / "shared" / "data"


def documented_commands() -> list[tuple[str, str, str]]:
    """(page, the directory it runs in, the line) for each rnnlab command in a bash block; placeholders skipped."""
    found = []
    for page in PAGES:
        text = page.read_text()
        inline = [
            span for span in re.findall(r"(?<!`)`(rnnlab [^`\n]+)`(?!`)", re.sub(r"```.*?```", "", text, flags=re.S))
        ]
        for block in [*re.findall(r"```bash\n(.*?)```", text, flags=re.S), "\n".join(inline)]:
            for line in block.splitlines():
                line = line.split("  #")[0].strip()
                where, _, command = line.rpartition("&& ") if "&&" in line else ("", "", line)
                if not command.startswith("rnnlab ") or "<" in command or "..." in command:
                    continue
                folder = where.replace("cd", "", 1).strip() if where else "."
                if (page.name, folder, command) not in found:
                    found.append((page.name, folder, command))
    return found


COMMANDS = documented_commands()


def test_the_docs_have_commands_to_check():
    assert len(COMMANDS) >= 30
    assert any("--config-dir" in command for _, _, command in COMMANDS)


@pytest.mark.slow
@pytest.mark.parametrize("page,folder,command", COMMANDS, ids=[f"{p}:{c[:60]}" for p, _, c in COMMANDS])
def test_a_documented_command_passes_the_up_front_check(page, folder, command, monkeypatch, tmp_path):
    args = shlex.split(command)[1:]
    if any(a.startswith("task=mnist") or "mnist" in a for a in args):
        if not (DATA / "MNIST" / "raw").is_dir():
            pytest.skip("real MNIST files are not here")
        monkeypatch.setenv("RNNLAB_DATA", str(DATA))
    monkeypatch.chdir(ROOT / folder)
    where = (
        ["hydra.sweep.dir=" + str(tmp_path / "sweep")]
        if {"-m", "--multirun"} & set(args)
        else ["hydra.run.dir=" + str(tmp_path / "run")]
    )
    if "--help" in args:
        pytest.skip("--help prints and exits 0: tests/test_cli.py checks it")
    try:
        check_command_line([*args, *where])
    except SystemExit as stop:
        pytest.fail(f"{page}: `{command}` was refused (exit {stop.code})")
    assert not (tmp_path / "run").exists() and os.getcwd() == str(ROOT / folder)
