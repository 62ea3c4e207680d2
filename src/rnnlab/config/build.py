from __future__ import annotations

from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from rnnlab.errors import ConfigError


def build(node: DictConfig, **kwargs: Any) -> Any:
    """Instantiate ``node`` through its ``_target_``; a ConfigError raised inside comes out as itself."""
    try:
        return instantiate(node, _convert_="all", **kwargs)
    except InstantiationException as err:
        cause = err.__cause__
        if isinstance(cause, ConfigError):
            raise cause from None
        raise
