"""jupyter-msal: Microsoft Entra ID tokens for Jupyter.

Sign in once, from a notebook, a terminal or the JupyterLab UI; every kernel and terminal
of that user then gets access tokens that refresh themselves.

In a notebook::

    %load_ext jupyter_msal
    token = %msal_token https://storage.azure.com/.default

or from Python::

    import jupyter_msal
    token = jupyter_msal.get_token("https://storage.azure.com/.default")
    client = BlobServiceClient(url, credential=jupyter_msal.Credential())

This module only holds entry points; the kernel API is imported on first use so that
``import jupyter_msal`` stays cheap (and never imports msal in a server-backed kernel).
"""

from __future__ import annotations

from typing import Any

try:
    from ._version import __version__
except ImportError:  # a source tree that was never built
    __version__ = "0.0.0"

__all__ = [
    "AccessToken",
    "BearerAuth",
    "Credential",
    "LoginWidget",
    "__version__",
    "accounts",
    "get_token",
    "load_ipython_extension",
    "login",
    "logout",
]

_KERNEL_API = {
    "AccessToken",
    "BearerAuth",
    "Credential",
    "LoginWidget",
    "accounts",
    "get_token",
    "login",
    "logout",
}


def __getattr__(name: str) -> Any:
    if name in _KERNEL_API:
        from . import kernel

        return getattr(kernel, name)
    raise AttributeError(f"module 'jupyter_msal' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _KERNEL_API)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Tell jupyter_server where the extension app lives."""
    from .server.app import JupyterMsalApp

    return [{"module": "jupyter_msal", "app": JupyterMsalApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Tell JupyterLab where the prebuilt front end lives."""
    return [{"src": "labextension", "dest": "jupyter-msal"}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_msal``: register the ``%msal_*`` magics."""
    from .kernel.magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext jupyter_msal``."""
    from .kernel.magics import unload_ipython_extension as _unload

    _unload(ipython)
