"""How the kernel API and the CLI reach the token service: over REST, or in-process.

Both clients have the same methods (:class:`Client`) and raise the typed errors of
:mod:`jupyter_msal.errors`:

* :class:`ServerClient` (server mode): the process was started by a Jupyter server with the
  extension (a kernel or a terminal); talks to its REST API.
* :class:`DirectClient` (direct mode): no such server; runs the token service in-process.

:func:`get_client` picks one from the environment, once per process.
"""

from __future__ import annotations

import logging
import os
import threading

from ..constants import SERVER_SECRET_ENV, SERVER_URL_ENV
from ..errors import JupyterMsalError
from .base import WAIT_CHUNK, Client, SignInInterrupted, flow_error
from .direct import DirectClient
from .server import ServerClient

__all__ = [
    "WAIT_CHUNK",
    "Client",
    "DirectClient",
    "ServerClient",
    "SignInInterrupted",
    "flow_error",
    "get_client",
    "reset_client",
]

log = logging.getLogger("jupyter_msal.client")


_client: Client | None = None
_client_lock = threading.Lock()


def get_client() -> Client:
    """The process-wide client: server mode when ``JUPYTER_MSAL_SERVER_URL`` is set, else direct."""
    global _client
    client = _client
    if client is None:
        with _client_lock:
            if _client is None:
                url = os.environ.get(SERVER_URL_ENV, "").strip()
                if url:
                    _client = ServerClient(url, os.environ.get(SERVER_SECRET_ENV))
                else:
                    _client = DirectClient()
            client = _client
    return client


def reset_client(client: Client | None = None) -> None:
    """Forget the process-wide client (closing it), or install ``client`` instead."""
    global _client
    with _client_lock:
        old, _client = _client, client
    if old is not None and old is not client:
        try:
            old.close()
        except JupyterMsalError:  # pragma: no cover - best effort
            log.debug("closing the old client failed", exc_info=True)
