"""``python -m jupyter_msal.hub``: run the jupyter-msal JupyterHub service.

JupyterHub starts it (``jupyter_msal.hub.enable(c)`` registers the command) with
``JUPYTERHUB_API_TOKEN``, ``JUPYTERHUB_API_URL``, ``JUPYTERHUB_SERVICE_URL`` (where to
listen), ``JUPYTERHUB_SERVICE_PREFIX`` and ``JUPYTERHUB_BASE_URL``; the hub app's settings
come as ``JUPYTER_MSAL_*`` variables (client id, secret, authority, CA bundle ...).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from urllib.parse import urlsplit

__all__ = ["main"]


async def _serve() -> None:
    from jupyterhub.services.auth import HubAuth

    from ..config import JupyterMsal
    from ..redact import install_redaction
    from .hub_api import HubApi
    from .states import StateRoutes
    from .tokens import HubTokens
    from .web import make_app

    install_redaction()
    log = logging.getLogger("jupyter_msal.hub")
    settings = JupyterMsal()
    tokens = HubTokens(settings, HubApi.from_environment(), log=log)
    states = StateRoutes(os.environ.get("JUPYTERHUB_BASE_URL", "/"))
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/jupyter-msal/")
    app = make_app(tokens, states, HubAuth(), prefix)
    where = urlsplit(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
    server = app.listen(where.port or 80, address=where.hostname or "127.0.0.1", xheaders=True)
    log.info(
        "jupyter-msal hub service on %s://%s:%s%s (authority %s)",
        where.scheme,
        where.hostname,
        where.port,
        prefix,
        tokens.authority,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.stop()
    tokens.close()


def main() -> None:
    """Run the service until JupyterHub stops it."""
    logging.basicConfig(
        level=logging.INFO,
        format="[%(levelname).1s %(asctime)s %(name)s] %(message)s",
        stream=sys.stderr,
    )
    from ..errors import JupyterMsalError

    try:
        asyncio.run(_serve())
    except JupyterMsalError as err:
        logging.getLogger("jupyter_msal.hub").error("jupyter-msal hub service not started: %s", err)
        sys.exit(1)


if __name__ == "__main__":
    main()
