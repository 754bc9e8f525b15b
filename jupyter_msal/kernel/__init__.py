"""The notebook surface of jupyter-msal: what kernels import.

``get_token``, ``accounts``, ``login``, ``logout``, the redacted :class:`AccessToken`, the
Azure SDK :class:`Credential`, :class:`BearerAuth` for ``requests``/``httpx`` and the
:class:`LoginWidget`. In a kernel started by a Jupyter server with the extension, everything
goes through the server's REST API (msal is never imported here); elsewhere the token service
runs in-process ("direct mode").

Settings:

``refresh_margin``
    Seconds before expiry at which a token kept in the kernel is fetched again (default 300,
    or ``JUPYTER_MSAL_KERNEL_REFRESH_MARGIN``); assign it (``jupyter_msal.kernel.refresh_margin
    = 600``) and it applies to tokens fetched after that. The server's own margin is another
    setting, ``JupyterMsal.token_refresh_margin``.
"""

from __future__ import annotations

from typing import Any

from ..models import AccessToken
from .api import accounts, clear_cache, get_token, login, logout, margin_from_env

__all__ = [
    "AccessToken",
    "AsyncCredential",
    "BearerAuth",
    "Credential",
    "LoginWidget",
    "accounts",
    "clear_cache",
    "get_token",
    "login",
    "logout",
    "refresh_margin",
]

#: Seconds before expiry at which a token kept in the kernel is fetched again (default 300, or
#: ``JUPYTER_MSAL_KERNEL_REFRESH_MARGIN``). Assign it to change it; read at each use.
refresh_margin: float = margin_from_env()

_LAZY = {
    "AsyncCredential": "credential",
    "BearerAuth": "credential",
    "Credential": "credential",
    "LoginWidget": "widget",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_msal.kernel' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
