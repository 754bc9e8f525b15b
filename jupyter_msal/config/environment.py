"""``JUPYTER_MSAL_<NAME>`` environment variables, loaded as the lowest-priority config source.

Every setting of ``JupyterMsal`` that config does not set defaults to its variable
(``JUPYTER_MSAL_CLIENT_ID`` for ``client_id``, ...). :func:`environment_config` reads them all
into a traitlets :class:`~traitlets.config.Config`, which the settings merge config files,
the command line and ``config=`` over, as traitlets' own ``Application.load_config_environ``
does. A variable is read as traitlets reads ``--JupyterMsal.<name>=<value>`` on a command
line; a list may also be a JSON array or items separated by commas or white space; an empty
variable counts as unset.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from traitlets import List, TraitType
from traitlets.config import Config, Configurable
from traitlets.config.loader import DeferredConfigList, DeferredConfigString

__all__ = ["ENV_PREFIX", "env_variable", "environment_config", "from_string"]

ENV_PREFIX = "JUPYTER_MSAL_"


def env_variable(name: str) -> str:
    """The environment variable a setting defaults to: ``JUPYTER_MSAL_<NAME>``."""
    return ENV_PREFIX + name.upper()


def environment_config(
    configurable: type[Configurable],
    *,
    skip: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
) -> Config:
    """The section of ``configurable`` (e.g. ``JupyterMsal``) that its variables set.

    Settings named in ``skip`` (given as keyword arguments, which win anyway) are left out,
    so that an invalid variable behind them raises nothing.
    """
    environ = os.environ if environ is None else environ
    left_out = set(skip)
    section = Config()
    for name, trait in sorted(configurable.class_traits(config=True).items()):
        raw = environ.get(env_variable(name), "").strip()
        if raw and name not in left_out:
            section[name] = from_string(raw, trait)
    return Config({configurable.__name__: section})


def from_string(raw: str, trait: TraitType[Any, Any]) -> Any:
    """``raw`` read as traitlets reads a command-line value for ``trait``.

    A list is a JSON array, or items separated by commas or white space, each read as one
    ``--JupyterMsal.<name> <item>``. What cannot be read comes back as it is, so that
    validating it raises traitlets' own error.
    """
    if not isinstance(trait, List):
        return DeferredConfigString(raw).get_value(trait)
    try:
        items = json.loads(raw) if raw.startswith("[") else re.split(r"[,\s]+", raw)
    except ValueError:
        return raw
    return DeferredConfigList(item for item in items if item != "").get_value(trait)
