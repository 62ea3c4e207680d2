"""How a command ends for the user: one `prog: error: ...` line and exit code 2 for a mistake, quietly when its
reader closed the pipe; HYDRA_FULL_ERROR=1 asks for tracebacks instead.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Iterator
from typing import NoReturn

from rnnlab.errors import ConfigError

USAGE_ERROR = 2


def fail(message: str, prog: str = "rnnlab") -> NoReturn:
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(USAGE_ERROR)


def quiet_when_piped(command):
    """`rnnlab --help | head`: a reader that stops early closes the pipe; end quietly, as Unix tools do, instead
    of Python's BrokenPipeError traceback."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the interpreter's final flush too
            sys.exit(141)  # 128 + SIGPIPE, what a shell reports for a tool ended by a closed pipe

    return run


def full_errors() -> bool:
    return os.environ.get("HYDRA_FULL_ERROR") == "1"


@contextlib.contextmanager
def one_line_errors(prog: str = "rnnlab") -> Iterator[None]:
    """A ConfigError inside is the user's mistake: one `prog: error: ...` line and exit 2 (a traceback with
    HYDRA_FULL_ERROR=1)."""
    try:
        yield
    except ConfigError as err:
        if full_errors():
            raise
        fail(str(err), prog)
