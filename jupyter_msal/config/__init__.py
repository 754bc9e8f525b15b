"""The ``JupyterMsal`` settings (``settings``), their ``JUPYTER_MSAL_*`` variables
(``environment``) and the checks of single values (``checks``); config files read outside a
server (``files``)."""

from __future__ import annotations

from .checks import config_error
from .settings import (
    DEFAULT_AUTHORITY,
    DEFAULT_CLIENT_ID,
    ENV_PREFIX,
    SECRET_SETTINGS,
    JupyterMsal,
    env_variable,
)

__all__ = [
    "DEFAULT_AUTHORITY",
    "DEFAULT_CLIENT_ID",
    "ENV_PREFIX",
    "SECRET_SETTINGS",
    "JupyterMsal",
    "config_error",
    "env_variable",
]
