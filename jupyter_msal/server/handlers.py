"""Thin REST handlers over :class:`~jupyter_msal.service.TokenService`.

Every handler is authenticated (Jupyter's identity provider, or the per-server kernel secret:
see :mod:`.auth`) and authorized (``auth_resource = "msal"``); cookie requests are
XSRF-checked by jupyter_server. Errors become HTTP answers in :mod:`.errors` only.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..constants import API_PATH
from ..errors import BadRequest, BodyTooLarge, Forbidden, JupyterMsalError, NotFound
from ..metrics import token_request
from ..scopes import check_account_selector
from ..service import TokenService
from ..status import status_document
from .auth import KernelAwareAuthorizer, KernelSecretIdentity, KernelUser
from .errors import error_body, error_headers, http_status
from .openapi import openapi_document

__all__ = ["MAX_BODY_BYTES", "make_routes"]

MAX_BODY_BYTES = 64 * 1024
MAX_WAIT_SECONDS = 30.0
#: How deep arrays and objects may nest in a request body (the API needs 2).
MAX_JSON_DEPTH = 8


def _too_deep(value: Any) -> bool:
    """Whether ``value`` (parsed JSON) nests deeper than :data:`MAX_JSON_DEPTH`; no recursion."""
    level = [value]
    for _ in range(MAX_JSON_DEPTH):
        level = [
            child
            for item in level
            if isinstance(item, (dict, list))
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return False
    return any(isinstance(item, (dict, list)) for item in level)


class MsalHandler(APIHandler):
    """Base: kernel-secret authentication, JSON bodies, typed errors as JSON."""

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

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error as ``{"error", "message", ...}`` JSON."""
        exc_info = kwargs.get("exc_info")
        err = exc_info[1] if exc_info else web.HTTPError(status_code)
        status, body = error_body(err)
        self.set_status(status)
        for name, value in error_headers(err).items():
            self.set_header(name, value)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Expected errors are logged in one line, without a traceback."""
        if isinstance(value, JupyterMsalError):
            self.log.info(
                "jupyter-msal: %s %s -> %s: %s",
                self.request.method,
                self.request.path,
                http_status(value),
                value.message,
            )
            return
        super().log_exception(typ, value, tb)

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        """Use the status our typed errors carry instead of tornado's 500."""
        exc_info = kwargs.get("exc_info")
        if exc_info and isinstance(exc_info[1], JupyterMsalError):
            status_code = http_status(exc_info[1])
        super().send_error(status_code, **kwargs)

    def json_body(self, allowed: set[str]) -> dict[str, Any]:
        """The request body as a JSON object with only ``allowed`` keys (empty body = {})."""
        raw = self.request.body or b""
        if len(raw) > MAX_BODY_BYTES:
            raise BodyTooLarge(f"The request body is over {MAX_BODY_BYTES // 1024} KiB.")
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except RecursionError:
            body = None
        except (ValueError, UnicodeDecodeError) as err:
            raise BadRequest(f"The request body is not valid JSON: {err}") from err
        if body is None or _too_deep(body):
            raise BadRequest(f"The request body nests more than {MAX_JSON_DEPTH} levels deep.")
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object.")
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise BadRequest(
                f"Unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}."
            )
        return body

    def reply(self, body: Any, status: int = 200) -> None:
        """Answer JSON."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


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


Method = Callable[..., Awaitable[None]]


def api(method: Method) -> Method:
    """Authenticated + authorized handler method (the Jupyter way, or by kernel secret)."""
    return web.authenticated(authorized(method))  # type: ignore[no-any-return]


class StatusHandler(MsalHandler):
    """``GET status``: non-secret configuration, cache, broker, region and accounts."""

    @api
    async def get(self) -> None:
        accounts = await self.service.workers.call_cache(self.service.list_accounts)
        self.reply(status_document(self.service, accounts))


class AccountsHandler(MsalHandler):
    """``GET accounts``; ``DELETE accounts[/{account}]`` signs out one or all."""

    @api
    async def get(self, account: str | None = None) -> None:
        if account:
            check_account_selector(unquote(account))
        accounts = await self.service.workers.call_cache(self.service.list_accounts)
        if account:
            match = [a for a in accounts if a.matches(unquote(account))]
            if not match:
                raise NotFound(f"No signed-in account matches {unquote(account)!r}.")
            self.reply(match[0].to_dict())
            return
        self.reply({"accounts": [a.to_dict() for a in accounts], "revision": self.service.revision})

    @api
    async def delete(self, account: str | None = None) -> None:
        selector = unquote(account) if account else None
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

    @api
    async def post(self) -> None:
        if not self.token_authenticated:
            token_request("browser", Forbidden.code)
            raise Forbidden(
                "Access tokens are not handed to browsers; use them from a kernel or terminal.",
                hint="In a notebook: %msal_token SCOPE, or jupyter_msal.get_token(SCOPE).",
            )
        body = self.json_body({"scopes", "account", "force_refresh", "claims"})
        token = await self.service.acquire_token_async(
            _field(body, "scopes", list),
            account=_field(body, "account", str),
            force_refresh=bool(_field(body, "force_refresh", bool, False)),
            claims=_field(body, "claims", str),
            client="kernel" if isinstance(self.current_user, KernelUser) else "jupyter_token",
        )
        self.set_header("Cache-Control", "no-store")
        self.set_header("Pragma", "no-cache")
        self.reply(token.to_dict())


class SignInsHandler(MsalHandler):
    """``GET sign-ins`` lists flows; ``POST sign-ins`` starts one (202)."""

    @api
    async def get(self) -> None:
        self.reply({"sign_ins": [f.to_dict() for f in self.service.flows.list()]})

    @api
    async def post(self) -> None:
        body = self.json_body({"method", "scopes", "claims"})
        method = _field(body, "method", str, "auto")
        scopes = _field(body, "scopes", list, [])
        claims = _field(body, "claims", str)
        flow = await self.service.workers.call_sign_in(
            self.service.flows.start, method, scopes, claims
        )
        self.reply(flow.to_dict(), status=202)


class SignInHandler(MsalHandler):
    """``GET sign-ins/{id}[?wait=S[&since=STEP]]`` (long poll) and ``DELETE sign-ins/{id}``."""

    @api
    async def get(self, flow_id: str) -> None:
        wait = _wait_seconds(self)
        since = self.get_query_argument("since", "")
        if since and not since.isdigit():
            raise BadRequest(f"since must be the step a client has seen, not {since!r}.")
        flow = self.service.flows.get(flow_id)
        if wait:
            await flow.wait_async(wait, int(since) if since else None)
        self.reply(flow.to_dict())

    @api
    async def delete(self, flow_id: str) -> None:
        self.reply(self.service.flows.cancel(flow_id).to_dict())


class OpenAPIHandler(MsalHandler):
    """``GET openapi.json``: the machine-readable description of this API."""

    @api
    async def get(self) -> None:
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
        (rf"{prefix}/sign-ins", SignInsHandler, kwargs),
        (rf"{prefix}/sign-ins/([^/]+)", SignInHandler, kwargs),
        (rf"{prefix}/openapi.json", OpenAPIHandler, kwargs),
    ]
