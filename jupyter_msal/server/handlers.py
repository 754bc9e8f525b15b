"""Thin REST handlers over :class:`~jupyter_msal.service.TokenService`.

Every handler method is authenticated (Jupyter's identity provider, or the per-server kernel
secret: see :mod:`.auth`) and authorized (``auth_resource = "msal"``), spelled out as
``@web.authenticated`` and ``@authorized`` on each method as jupyter_server's own handlers do;
cookie requests are XSRF-checked by jupyter_server. Bodies and errors follow
:class:`~.json_api.JsonApiMixin`; errors become HTTP answers in :mod:`.errors` only.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..constants import API_PATH
from ..errors import BadRequest, Forbidden, NotFound, SignInRequired
from ..metrics import token_request
from ..scopes import check_account_selector
from ..service import TokenService
from ..status import status_document
from .auth import KernelAwareAuthorizer, KernelSecretIdentity, KernelUser
from .json_api import MAX_BODY_BYTES, JsonApiMixin
from .openapi import openapi_document
from .token_wanted import report_token_wanted

__all__ = ["MAX_BODY_BYTES", "MsalHandler", "make_routes"]

MAX_WAIT_SECONDS = 30.0


class MsalHandler(JsonApiMixin, APIHandler):
    """Base: kernel-secret authentication; JSON bodies and typed errors (:class:`JsonApiMixin`).

    Every method of a subclass carries ``@web.authenticated`` and ``@authorized`` itself.
    """

    auth_resource = "msal"

    def initialize(self, service: TokenService, kernel_secret: str) -> None:  # type: ignore[override]
        """Route kwargs: the service and this server's kernel secret."""
        self.service = service
        self.kernel_secret = kernel_secret

    @property
    def identity_provider(self) -> Any:
        """The server's identity provider, which also accepts this server's kernel secret."""
        return KernelSecretIdentity(super().identity_provider, self.kernel_secret)

    @property
    def authorizer(self) -> Any:
        """The server's authorizer, which also lets this server's kernels through."""
        return KernelAwareAuthorizer(super().authorizer)

    def check_xsrf_cookie(self) -> None:
        """Requests authenticated by a header (the kernel secret, a token) carry no cookie, so
        they need no XSRF token. Said here because JupyterHub's single-user server replaces
        Jupyter's own check with one that knows only JupyterHub's tokens."""
        if hasattr(self, "_jupyter_current_user") and self.token_authenticated:
            return
        super().check_xsrf_cookie()


def _field(body: dict[str, Any], name: str, kind: type, default: Any = None) -> Any:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise BadRequest(f"Field {name!r} must be {kind.__name__}, not {type(value).__name__}.")
    return value


def _wait_seconds(handler: MsalHandler) -> float:
    raw = handler.get_query_argument("wait", "0")
    try:
        wait = float(raw)
    except ValueError as err:
        raise BadRequest(f"wait must be a number of seconds, not {raw!r}.") from err
    if not 0 <= wait <= MAX_WAIT_SECONDS:
        raise BadRequest(f"wait must be between 0 and {MAX_WAIT_SECONDS:g} seconds.")
    return wait


class StatusHandler(MsalHandler):
    """``GET status``: non-secret configuration, cache, broker, region and accounts."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """The status document."""
        accounts = await self.service.workers.call_cache(self.service.list_accounts)
        self.reply(status_document(self.service, accounts))


class AudiencesHandler(MsalHandler):
    """``GET audiences``: the audience names and the scope each stands for here."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """The names of this server's cloud, the admin's included."""
        self.reply(self.service.audiences.document())


class AccountsHandler(MsalHandler):
    """``GET accounts``; ``DELETE accounts[/{account}]`` signs out one or all."""

    @web.authenticated
    @authorized
    async def get(self, account: str | None = None) -> None:
        """All signed-in accounts, or the one ``account`` names."""
        # tornado has unquoted the path argument once already (a%2Fb is "a/b")
        if account:
            check_account_selector(account)
        accounts = await self.service.workers.call_cache(self.service.list_accounts)
        if account:
            match = [a for a in accounts if a.matches(account)]
            if not match:
                raise NotFound(f"No signed-in account matches {account!r}.")
            self.reply(match[0].to_dict())
            return
        self.reply({"accounts": [a.to_dict() for a in accounts], "revision": self.service.revision})

    @web.authenticated
    @authorized
    async def delete(self, account: str | None = None) -> None:
        """Sign out of the account ``account`` names, or of all."""
        selector = account or None
        removed = await self.service.workers.call_idp(
            self.service.sign_out, selector, all_accounts=selector is None
        )
        accounts = await self.service.workers.call_cache(self.service.list_accounts)
        self.reply(
            {
                "removed": [a.to_dict() for a in removed],
                "accounts": [a.to_dict() for a in accounts],
                "revision": self.service.revision,
            }
        )


class TokenHandler(MsalHandler):
    """``POST token``: an access token for kernels, terminals and API-token scripts only."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """An access token (never to a browser)."""
        if not self.token_authenticated:
            token_request("browser", Forbidden.code)
            raise Forbidden(
                "Access tokens are not handed to browsers; use them from a kernel or terminal.",
                hint="In a notebook: %msal_token SCOPE, or jupyter_msal.get_token(SCOPE).",
            )
        body = self.json_body({"scopes", "account", "force_refresh", "claims", "tenant"})
        token = await self.service.acquire_token_async(
            _field(body, "scopes", list),
            account=_field(body, "account", str),
            force_refresh=bool(_field(body, "force_refresh", bool, False)),
            claims=_field(body, "claims", str),
            client="kernel" if isinstance(self.current_user, KernelUser) else "jupyter_token",
            tenant=_field(body, "tenant", str),
        )
        self.set_header("Cache-Control", "no-store")
        self.set_header("Pragma", "no-cache")
        self.reply(token.to_dict())

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """As every handler does; a refusal for want of a sign-in also lets the open pages
        offer one (a ``token_wanted`` event)."""
        exc_info = kwargs.get("exc_info")
        if exc_info and isinstance(exc_info[1], SignInRequired):
            kernel = isinstance(self.current_user, KernelUser)
            report_token_wanted(
                self.service.events,
                exc_info[1],
                None,  # a sign-in-required error names the scopes it was asked for
                via="rest",
                user_agent=self.request.headers.get("User-Agent"),
                fallback_tool="kernel_or_terminal" if kernel else "script",
            )
        super().write_error(status_code, **kwargs)


class SignInsHandler(MsalHandler):
    """``GET sign-ins`` lists flows; ``POST sign-ins`` starts one (202)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """The sign-ins in progress or recently finished."""
        self.reply({"sign_ins": [f.to_dict() for f in self.service.flows.list()]})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        """Start a sign-in (for ``tenant``, when a guest tenant wants a sign-in of its own)."""
        body = self.json_body({"method", "scopes", "claims", "tenant"})
        method = _field(body, "method", str, "auto")
        scopes = _field(body, "scopes", list, [])
        claims = _field(body, "claims", str)
        tenant = _field(body, "tenant", str)
        flow = await self.service.workers.call_sign_in(
            self.service.flows.start, method, scopes, claims, tenant
        )
        self.reply(flow.to_dict(), status=202)


class SignInHandler(MsalHandler):
    """``GET sign-ins/{id}[?wait=S[&since=STEP]]`` (long poll) and ``DELETE sign-ins/{id}``."""

    @web.authenticated
    @authorized
    async def get(self, flow_id: str) -> None:
        """One sign-in, after waiting for a change when ``wait`` says so."""
        wait = _wait_seconds(self)
        since = self.get_query_argument("since", "")
        if since and not since.isdigit():
            raise BadRequest(f"since must be the step a client has seen, not {since!r}.")
        flow = self.service.flows.get(flow_id)
        if wait:
            await flow.wait_async(wait, int(since) if since else None)
        self.reply(flow.to_dict())

    @web.authenticated
    @authorized
    async def delete(self, flow_id: str) -> None:
        """Cancel a sign-in."""
        self.reply(self.service.flows.cancel(flow_id).to_dict())


class OpenAPIHandler(MsalHandler):
    """``GET openapi.json``: the machine-readable description of this API."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """The OpenAPI document."""
        self.reply(openapi_document(self.base_url))


def make_routes(
    service: TokenService, kernel_secret: str
) -> list[tuple[str, type, dict[str, Any]]]:
    """URL patterns (relative to base_url) with the handler kwargs."""
    kwargs = {"service": service, "kernel_secret": kernel_secret}
    prefix = f"/{API_PATH}"
    return [
        (rf"{prefix}/status", StatusHandler, kwargs),
        (rf"{prefix}/accounts", AccountsHandler, kwargs),
        (rf"{prefix}/accounts/([^/]+)", AccountsHandler, kwargs),
        (rf"{prefix}/token", TokenHandler, kwargs),
        (rf"{prefix}/audiences", AudiencesHandler, kwargs),
        (rf"{prefix}/sign-ins", SignInsHandler, kwargs),
        (rf"{prefix}/sign-ins/([^/]+)", SignInHandler, kwargs),
        (rf"{prefix}/openapi.json", OpenAPIHandler, kwargs),
    ]
