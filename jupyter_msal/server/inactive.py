"""jupyter-msal inactive: the extension could not start on this server, and says why.

When the settings are invalid or the token cache cannot be opened, the extension still loads
(:class:`~jupyter_msal.server.app.JupyterMsalApp` logs the reason at ERROR): kernels and
terminals still get the server's URL and kernel secret, and every ``jupyter-msal/...`` route
answers an authenticated caller ``503 {"error": "inactive", "message": "jupyter-msal is not
active on this server: <reason>", "hint": ...}`` (:class:`~jupyter_msal.errors.ExtensionInactive`).
So the JupyterLab panel, kernels and ``jupyter msal`` in a terminal say what is wrong, where
users of JupyterHub never see the server's log, instead of "not installed" or "restart this
kernel". Callers that are not authenticated get the 401/403 they get from an active server.

The managed-identity endpoint answers in its own protocol: a 4xx (which the Azure SDKs do not
retry) carrying the same ``error`` and message.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..constants import API_PATH, MANAGED_IDENTITY_PATH, TENANTS_SEGMENT
from ..errors import ExtensionInactive
from .handlers import MsalHandler
from .managed_identity import ManagedIdentityEndpoint, ManagedIdentityHandler

__all__ = ["InactiveHandler", "InactiveManagedIdentityHandler", "inactive_routes"]


class InactiveHandler(MsalHandler):
    """Any ``jupyter-msal/...`` request: 503 ``inactive`` with the reason, once authenticated."""

    def initialize(self, reason: str, kernel_secret: str) -> None:  # type: ignore[override]
        """Route kwargs: why the extension is inactive, and this server's kernel secret."""
        self.reason = reason
        self.kernel_secret = kernel_secret

    @web.authenticated
    @authorized
    async def get(self) -> None:
        raise ExtensionInactive.because(self.reason)

    @web.authenticated
    @authorized
    async def post(self) -> None:
        raise ExtensionInactive.because(self.reason)

    @web.authenticated
    @authorized
    async def put(self) -> None:
        raise ExtensionInactive.because(self.reason)

    @web.authenticated
    @authorized
    async def patch(self) -> None:
        raise ExtensionInactive.because(self.reason)

    @web.authenticated
    @authorized
    async def delete(self) -> None:
        raise ExtensionInactive.because(self.reason)


class InactiveManagedIdentityHandler(ManagedIdentityHandler):
    """``jupyter-msal/managed-identity``: the identity header authenticates, then the reason."""

    def initialize(self, reason: str, identity_secret: str) -> None:  # type: ignore[override]
        """Route kwargs: why the extension is inactive, and the identity header's secret."""
        self.reason = reason
        self.identity_secret = identity_secret

    @web.authenticated  # by the identity header alone (see ManagedIdentityHandler)
    async def get(self, tenant: str | None = None) -> None:
        """The reason, in the managed-identity protocol's error shape (any tenant's path)."""
        raise ExtensionInactive.because(self.reason)


def inactive_routes(
    reason: str, kernel_secret: str, managed_identity: ManagedIdentityEndpoint | None
) -> list[tuple[str, type, dict[str, Any]]]:
    """URL patterns (relative to base_url): the managed-identity endpoint when it is on, then
    everything else below ``jupyter-msal/``."""
    routes: list[tuple[str, type, dict[str, Any]]] = []
    secret = None if managed_identity is None else managed_identity.secret
    if secret is not None:
        routes.append(
            (
                rf"/{MANAGED_IDENTITY_PATH}(?:/{TENANTS_SEGMENT}/([^/]+))?",
                InactiveManagedIdentityHandler,
                {"reason": reason, "identity_secret": secret},
            )
        )
    kwargs = {"reason": reason, "kernel_secret": kernel_secret}
    routes.append((rf"/{API_PATH}(?:/.*)?", InactiveHandler, kwargs))
    return routes
