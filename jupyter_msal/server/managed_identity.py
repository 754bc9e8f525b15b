"""The managed-identity endpoint: the signed-in user's tokens for unmodified Azure code.

Kernels and terminals the server starts inherit ``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER``,
the two variables of the App Service managed-identity protocol. azure-identity's
``DefaultAzureCredential`` and ``ManagedIdentityCredential``, msal's ``ManagedIdentityClient``
and the other Azure SDKs then ask this endpoint for tokens::

    GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=https://storage.azure.com
    X-IDENTITY-HEADER: {IDENTITY_HEADER}

    200 {"access_token": "...", "expires_on": 1767225600, "resource": "https://storage.azure.com",
         "token_type": "Bearer", "client_id": "..."}

The token comes from the same :class:`~jupyter_msal.service.TokenService` as every other token
(same cache, single flight, scope policy), for the scope ``resource + "/.default"``. One
resource per request; ``client_id``, ``mi_res_id``, ``object_id`` and ``principal_id`` select
a user-assigned identity on Azure and are ignored here (there is one signed-in user).

The protocol has no tenant parameter: the token is for the signed-in account's own tenant.
``{IDENTITY_ENDPOINT}/tenants/{tenant}`` (a tenant id or domain name) serves tokens of that
tenant instead, for a user who is a guest there; ``%msal_tenant`` points a kernel's
``IDENTITY_ENDPOINT`` at it and ``jupyter msal endpoint --tenant`` prints it for a terminal.
The SDKs append their query to the path as they do to the plain endpoint.

Only the header authenticates: it is a secret of its own, minted per server start and compared
in constant time. Jupyter's token and cookie do not, so a browser session cannot use this
endpoint. Errors carry ``statusCode`` and ``message`` (what msal reports) plus ``error`` and
``error_description``, always with a 4xx status, which the Azure SDKs do not retry: with nobody
signed in ``DefaultAzureCredential`` gives up at once and its message says how to sign in.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
from collections.abc import MutableMapping
from typing import Any

from jupyter_server.auth.identity import User
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..config.settings import JupyterMsal
from ..constants import (
    IDENTITY_ENDPOINT_ENV,
    IDENTITY_HEADER,
    IDENTITY_HEADER_ENV,
    MANAGED_IDENTITY_PATH,
    TENANTS_SEGMENT,
)
from ..errors import BadRequest, ExtensionInactive, JupyterMsalError, SignInRequired
from ..scopes import check_tenant
from ..service import TokenService
from ..status import real_managed_identity
from .errors import error_body
from .token_wanted import report_token_wanted

__all__ = ["API_VERSION", "ManagedIdentityEndpoint", "ManagedIdentityHandler"]

#: The App Service protocol version served (azure-identity and msal send it).
API_VERSION = "2019-08-01"
#: Query parameters that choose a user-assigned identity on Azure; accepted and ignored.
IGNORED_PARAMETERS = ("client_id", "mi_res_id", "object_id", "principal_id")

_SIGN_IN = (
    "Sign in once in Jupyter: run %load_ext jupyter_msal then %msal_login in a notebook, use "
    "the sign-in item in JupyterLab's status bar, or run `jupyter msal login` in a terminal."
)


class ManagedIdentityUser(User):
    """A kernel or terminal of this server that presented the managed-identity header."""


class IdentityHeaderOnly:
    """An identity provider that knows one credential: this server's identity header.

    A missing header is 401 and a wrong one 403, whatever cookie or Jupyter token the
    request carries. Everything else is the server's own provider's.
    """

    def __init__(self, inner: Any, secret: str) -> None:
        self.inner = inner
        self._secret = secret.encode()

    def get_user(self, handler: web.RequestHandler) -> ManagedIdentityUser:
        """The managed-identity user for the right header; 401/403 otherwise."""
        presented = handler.request.headers.get(IDENTITY_HEADER)
        if presented is None:
            raise web.HTTPError(
                401,
                "This managed-identity endpoint serves the kernels and terminals of this Jupyter "
                "server: send the %s header with the value of their IDENTITY_HEADER variable.",
                IDENTITY_HEADER,
            )
        if not hmac.compare_digest(presented.encode(), self._secret):
            raise web.HTTPError(403, "Wrong %s header.", IDENTITY_HEADER)
        return ManagedIdentityUser(
            username="jupyter-msal-managed-identity", name="managed identity"
        )

    def is_token_authenticated(self, handler: web.RequestHandler) -> bool:
        """The header is not a cookie: no XSRF token is involved."""
        return True

    def should_check_origin(self, handler: web.RequestHandler) -> bool:
        """Requests with an Origin header are checked as the server checks them."""
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _client_status(status: int) -> int:
    """A status the Azure SDKs do not retry (they retry 404, 408, 410, 429 and 5xx)."""
    if status >= 500 or status in (404, 408, 410, 429):
        return 400
    return status


class ManagedIdentityHandler(APIHandler):
    """``GET jupyter-msal/managed-identity[/tenants/{tenant}]?api-version=...&resource=R``."""

    def initialize(self, service: TokenService, identity_secret: str) -> None:  # type: ignore[override]
        """Route kwargs: the token service and this server's identity header secret."""
        self.service = service
        self.identity_secret = identity_secret

    def compute_etag(self) -> None:
        """No ETag: every answer is fresh and not for caches."""
        return None

    @property
    def identity_provider(self) -> Any:
        """Only the identity header authenticates here."""
        return IdentityHeaderOnly(super().identity_provider, self.identity_secret)

    @web.authenticated  # by the identity header alone (see identity_provider)
    async def get(self, tenant: str | None = None) -> None:
        """The signed-in user's token for one resource (of ``tenant``, from the path, if any)."""
        tenant = None if tenant is None else check_tenant(tenant)
        version = self.get_query_argument("api-version", "")
        if version != API_VERSION:
            raise BadRequest(
                f"api-version must be {API_VERSION} (the App Service managed-identity protocol), "
                f"not {version!r}."
            )
        resource = self.get_query_argument("resource", "").strip()
        if not resource:
            raise BadRequest("The resource parameter is required, e.g. https://storage.azure.com")
        scope = resource if resource.endswith("/.default") else resource + "/.default"
        token = await self.service.acquire_token_async([scope], client="kernel", tenant=tenant)
        self.set_header("Cache-Control", "no-store")
        self.set_header("Pragma", "no-cache")
        self.set_header("Content-Type", "application/json")
        self.finish(
            json.dumps(
                {
                    "access_token": str(token.token),
                    "expires_on": int(token.expires_on),
                    "resource": resource,
                    "token_type": token.token_type,
                    "client_id": self.service.settings.client_id,
                }
            )
        )

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors as msal and azure-identity read them, with a status they do not retry."""
        exc_info = kwargs.get("exc_info")
        err = exc_info[1] if exc_info else web.HTTPError(status_code)
        status, body = error_body(err)
        status = _client_status(status)
        message = str(body.get("message") or "")
        if isinstance(err, SignInRequired):
            message = f"jupyter-msal: {message} {_SIGN_IN}"
            # fail fast, and let the open pages offer the sign-in
            report_token_wanted(
                self.service.events,
                err,
                self.get_query_argument("resource", "").strip(),
                via="managed_identity",
                user_agent=self.request.headers.get("User-Agent"),
                fallback_tool="other",
            )
        elif isinstance(err, ExtensionInactive):  # its message begins "jupyter-msal is not ..."
            message = f"{message} {body.get('hint') or ''}".strip()
        elif body.get("hint"):
            message = f"jupyter-msal: {message} {body['hint']}"
        else:
            message = f"jupyter-msal: {message}"
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(
            json.dumps(
                {
                    "error": body.get("error", "error"),
                    "error_description": message,
                    "statusCode": status,
                    "message": message,
                }
            )
        )

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        """Answer typed errors with their own status instead of tornado's 500."""
        exc_info = kwargs.get("exc_info")
        if exc_info and isinstance(exc_info[1], JupyterMsalError):
            status_code = error_body(exc_info[1])[0]
        super().send_error(_client_status(status_code), **kwargs)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Expected errors are one line in the log, without a traceback."""
        if isinstance(value, JupyterMsalError | web.HTTPError):
            self.log.info(
                "jupyter-msal: managed identity -> %s: %s",
                error_body(value)[0],
                error_body(value)[1].get("message"),
            )
            return
        super().log_exception(typ, value, tb)


class ManagedIdentityEndpoint:
    """Whether this server serves managed identity, its secret, and the variables it sets.

    Decided once, from the setting and the server's own environment: a real managed identity
    there (``IDENTITY_ENDPOINT`` or ``MSI_ENDPOINT``) is left alone. ``settings`` is None when
    they could not be read (jupyter-msal inactive): then the setting's default (on) applies.
    """

    def __init__(
        self,
        settings: JupyterMsal | None,
        log: logging.Logger,
        environ: MutableMapping[str, str] | None = None,
    ) -> None:
        self.environ = os.environ if environ is None else environ
        self.log = log
        #: The variable of a real managed identity found in the environment, if any.
        self.real = real_managed_identity(self.environ)
        wanted = settings is None or bool(settings.managed_identity_endpoint)
        #: True when this server serves the endpoint and sets the variables.
        self.enabled = wanted and self.real is None
        self._secret = secrets.token_urlsafe(32)
        if self.enabled:
            log.info("jupyter-msal: managed-identity endpoint on for kernels and terminals")
        elif not wanted:
            log.info("jupyter-msal: managed-identity endpoint off (managed_identity_endpoint)")
        elif self.real:
            log.warning(
                "jupyter-msal: managed-identity endpoint left alone: a real managed identity is "
                "configured (%s is set); kernels use it, not the signed-in user",
                self.real,
            )

    def routes(self, service: TokenService) -> list[tuple[str, type, dict[str, Any]]]:
        """The handler routes, relative to base_url (none when not enabled): the endpoint,
        and the endpoint of one tenant (``.../tenants/{tenant}``)."""
        if not self.enabled:
            return []
        kwargs = {"service": service, "identity_secret": self._secret}
        return [
            (f"/{MANAGED_IDENTITY_PATH}", ManagedIdentityHandler, kwargs),
            (f"/{MANAGED_IDENTITY_PATH}/{TENANTS_SEGMENT}/([^/]+)", ManagedIdentityHandler, kwargs),
        ]

    @property
    def secret(self) -> str | None:
        """The identity header's secret when the endpoint is served (None otherwise)."""
        return self._secret if self.enabled else None

    def publish(self, server_url: str) -> None:
        """Set the variables kernels and terminals inherit (again when the URL changes)."""
        if not self.enabled or not server_url:
            return
        base = server_url if server_url.endswith("/") else server_url + "/"
        self.environ[IDENTITY_ENDPOINT_ENV] = base + MANAGED_IDENTITY_PATH
        self.environ[IDENTITY_HEADER_ENV] = self._secret

    def withdraw(self) -> None:
        """Remove the variables, unless another server has replaced them since."""
        if self.enabled and self.environ.get(IDENTITY_HEADER_ENV) == self._secret:
            self.environ.pop(IDENTITY_HEADER_ENV, None)
            self.environ.pop(IDENTITY_ENDPOINT_ENV, None)
