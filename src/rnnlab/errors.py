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
