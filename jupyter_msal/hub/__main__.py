"""``python -m jupyter_msal.hub``: run the jupyter-msal JupyterHub service.

JupyterHub starts it (``jupyter_msal.hub.enable(c)`` registers the command) with
``JUPYTERHUB_API_TOKEN``, ``JUPYTERHUB_API_URL``, ``JUPYTERHUB_SERVICE_URL`` (where to
listen, unless ``JUPYTER_MSAL_HUB_BIND_URL`` says otherwise), ``JUPYTERHUB_SERVICE_PREFIX``
and ``JUPYTERHUB_BASE_URL``; the hub app's settings come as ``JUPYTER_MSAL_*`` variables
(client id, secret, authority, CA bundle ...).
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

    from ..config.settings import JupyterMsal
    from ..identity.workers import Workers
    from ..redact import install_redaction
    from .hub_api import HubApi, HubApiFromThreads
    from .states import StateRoutes
    from .tokens import HubTokens
    from .web import make_app

    install_redaction()
    log = logging.getLogger("jupyter_msal.hub")
    loop = asyncio.get_running_loop()
    tokens = HubTokens(JupyterMsal(), HubApiFromThreads(HubApi.from_environment(), loop), log=log)
    workers = Workers()
    states = StateRoutes(os.environ.get("JUPYTERHUB_BASE_URL", "/"))
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/jupyter-msal/")
    app = make_app(tokens, states, HubAuth(), prefix, workers)
    where = urlsplit(
        os.environ.get("JUPYTER_MSAL_HUB_BIND_URL")
        or os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101")
    )
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
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.stop()
    workers.close()
    tokens.close()


def main() -> None:
    """Run the service until JupyterHub stops it."""
    logging.basicConfig(
        level=logging.WARNING,
        format="[%(levelname).1s %(asctime)s %(name)s] %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("jupyter_msal").setLevel(logging.INFO)  # ours; others warn and up
    from ..errors import JupyterMsalError

    log = logging.getLogger("jupyter_msal.hub")
    missing = [v for v in ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL") if v not in os.environ]
    if missing:
        log.error(
            "python -m jupyter_msal.hub is the jupyter-msal JupyterHub service: JupyterHub starts "
            "it. Call jupyter_msal.hub.enable(c) in jupyterhub_config.py (%s not set).",
            ", ".join(missing),
        )
        sys.exit(2)
    try:
        import jupyterhub.services.auth  # noqa: F401
    except ImportError:
        log.error("The jupyter-msal hub service runs in the hub: install jupyterhub there.")
        sys.exit(2)
    try:
        asyncio.run(_serve())
    except JupyterMsalError as err:
        log.error("jupyter-msal hub service not started: %s", err)
        sys.exit(1)


if __name__ == "__main__":
    main()
