"""Hydra, set up to compose rnnlab's configs as the rnnlab command does: conf/ (shipped as rnnlab.conf), and a
user's own config dir (`--config-dir DIR`, holding model/<name>.yaml, task/<name>.yaml ...) where one is given,
at the place Hydra's own command line puts it in the search path.

    with rnnlab_configs(config_dir="my_conf"):
        cfg = compose("config", overrides=["model=indrnn"])
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from hydra import version
from hydra.core.config_search_path import SearchPathQuery
from hydra.initialize import get_gh_backup, restore_gh_from_backup

from rnnlab.config import CONFIG_MODULE
from rnnlab.config.hydra_internals import Hydra, create_automatic_config_search_path
from rnnlab.errors import ConfigError


def user_config_dir(config_dir: str | None) -> str | None:
    """The absolute --config-dir; a ConfigError when it is not a directory."""
    if config_dir is None:
        return None
    path = os.path.abspath(os.path.expanduser(config_dir))
    if not os.path.isdir(path):
        raise ConfigError(
            f"--config-dir {config_dir}: not a directory (it should hold model/<name>.yaml, task/<name>.yaml ...)"
        )
    return path


@contextlib.contextmanager
def rnnlab_configs(config_dir: str | None = None) -> Iterator[None]:
    """initialize_config_module(rnnlab.conf), plus the user's config dir."""
    search_path = create_automatic_config_search_path(None, f"{CONFIG_MODULE}.rnnlab", None)
    if (path := user_config_dir(config_dir)) is not None:
        search_path.prepend(provider="command-line", path=f"file://{path}", anchor=SearchPathQuery(provider="schema"))
    saved = get_gh_backup()  # as initialize_config_module does: a Hydra set up before is back afterwards
    version.setbase("1.3")
    Hydra.create_main_hydra2("rnnlab", search_path)
    try:
        yield
    finally:
        restore_gh_from_backup(saved)


RECIPE_GROUPS = ("task_defaults", "task_model_defaults")  # the optional recipes conf/config.yaml composes


def config_file(relative: str, config_dir: str | None) -> tuple[str, str] | None:
    """(where, text) of a config file such as model/lstm.yaml: in the user's --config-dir, else rnnlab's own (shown
    as conf/...); None where neither has it. (The up-front check refuses a user's file that rnnlab's shadows.)"""
    from importlib import resources

    mine = Path(config_dir) / relative if config_dir else None
    if mine is not None and mine.is_file():
        return str(mine), mine.read_text()
    own = resources.files(CONFIG_MODULE).joinpath(relative)
    return (f"conf/{relative}", own.read_text()) if own.is_file() else None
