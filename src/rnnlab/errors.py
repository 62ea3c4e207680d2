"""The one error a user's mistake becomes: ConfigError, shown as one line with exit code 2, and the helpers that
raise it naming the key, the bad value and what is allowed."""

from __future__ import annotations

from typing import Any


class ConfigError(ValueError):
    """A mistake in the user's config or command line: shown as one line, exit code 2, no traceback."""


def require(ok: bool, key: str, value: Any, allowed: str) -> None:
    """Raise a ConfigError that names the key, the bad value and what is allowed."""
    if not ok:
        raise ConfigError(f"{key}={show(value)} is not allowed: {allowed}")


def require_choice(key: str, value: Any, choices: tuple[str, ...]) -> None:
    require(value in choices, key, value, "choose one of " + ", ".join(choices))


def show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(show(v) for v in value) + "]"
    return str(value) if not isinstance(value, str) else value


# What a user's code (their module, constructor, forward, make_batch) may raise, all of it that run's failure: any
# Exception, and SystemExit, which sys.exit() and argparse's parse_args() raise and which would otherwise end rnnlab
# itself (exit 0, or another job's sweep). Ctrl-C (KeyboardInterrupt) stays the user's way to stop.
USER_CODE_ERRORS = (Exception, SystemExit)


def explain(err: BaseException) -> str:
    """An exception as one line: 'ValueError: bad shape', 'SystemExit(0): it called sys.exit ...'."""
    if isinstance(err, SystemExit):
        return (
            f"SystemExit({err.code!r}): it called sys.exit() (argparse's parse_args() does, on a command line that "
            "is not its own)"
        )
    return f"{type(err).__name__}: {err}"
