"""Who may call the REST API: Jupyter's own users, and this server's kernels and terminals.

Kernels and terminals the server starts inherit a secret minted per server start and send it
in :data:`~jupyter_msal.constants.SECRET_HEADER`. :class:`KernelSecretIdentity` wraps the
server's identity provider: a request carrying the header is the :class:`KernelUser` when the
secret matches (compared in constant time) and refused when it does not; every other request
is authenticated by the server's own provider. :class:`KernelAwareAuthorizer` lets the kernel
user through and asks the server's authorizer about everyone else. Both plug into the public
``identity_provider`` and ``authorizer`` of jupyter_server's handlers, so every request still
goes through ``APIHandler.prepare`` (host and origin checks included).
"""

from __future__ import annotations

import hmac
from typing import Any

from jupyter_server.auth.identity import User
from tornado import web

from ..constants import SECRET_HEADER

__all__ = ["KernelAwareAuthorizer", "KernelSecretIdentity", "KernelUser"]


class KernelUser(User):
    """A kernel or terminal of this server (it holds the server's kernel secret)."""


def _kernel_user() -> KernelUser:
    return KernelUser(username="jupyter-msal-kernel", name="kernel or terminal of this server")


class KernelSecretIdentity:
    """The server's identity provider, plus authentication by the kernel secret header."""

    def __init__(self, inner: Any, secret: str) -> None:
        self.inner = inner
        self._secret = secret.encode()

    def _presented(self, handler: web.RequestHandler) -> str | None:
        return handler.request.headers.get(SECRET_HEADER)

    def _valid(self, handler: web.RequestHandler) -> bool:
        presented = self._presented(handler)
        return presented is not None and hmac.compare_digest(presented.encode(), self._secret)

    def get_user(self, handler: web.RequestHandler) -> Any:
        """The kernel user for a valid secret; 403 for a wrong one; else the server's answer."""
        if self._presented(handler) is None:
            return self.inner.get_user(handler)
        if not self._valid(handler):
            raise web.HTTPError(403, "Wrong %s header.", SECRET_HEADER)
        return _kernel_user()

    def is_token_authenticated(self, handler: web.RequestHandler) -> bool:
        """Header-authenticated requests carry no cookie, so they need no XSRF token."""
        return self._valid(handler) or bool(self.inner.is_token_authenticated(handler))

    def should_check_origin(self, handler: web.RequestHandler) -> bool:
        """Kernels send no Origin; everyone else is checked as the server checks them."""
        return not self._valid(handler) and bool(self.inner.should_check_origin(handler))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class KernelAwareAuthorizer:
    """The server's authorizer, except that this server's kernels may use the whole API."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> Any:
        """True for the kernel user; the server's authorizer decides for everyone else."""
        if isinstance(user, KernelUser):
            return True
        return self.inner.is_authorized(handler, user, action, resource)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
