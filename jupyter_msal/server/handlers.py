"""Thin REST handlers over :class:`~jupyter_msal.service.TokenService`.

Every handler is authenticated (Jupyter's identity provider, or the per-server kernel secret)
and authorized (``auth_resource = "msal"``); cookie requests are XSRF-checked by
jupyter_server. :func:`error_body` is the one place errors become HTTP answers.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from jupyter_server.auth.decorator import authorized
from jupyter_server.auth.identity import User
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..constants import API_PATH, SECRET_HEADER
from ..errors import BadRequest, BodyTooLarge, Forbidden, JupyterMsalError
from ..service import TokenService
from .openapi import openapi_document

__all__ = ["MAX_BODY_BYTES", "error_body", "make_routes"]

MAX_BODY_BYTES = 64 * 1024
MAX_WAIT_SECONDS = 30.0
_HTTP_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
}



def error_body(err: BaseException) -> tuple[int, dict[str, Any]]:
    """HTTP status and JSON body for any error a handler meets."""
    if isinstance(err, JupyterMsalError):
        return err.http_status, err.to_dict()
    if isinstance(err, web.HTTPError):
        status = err.status_code
        message = err.log_message % err.args if err.log_message and err.args else err.log_message
        return status, {
            "error": _HTTP_CODES.get(status, "error"),
            "message": message or err.reason or f"HTTP {status}",
        }
    return 500, {
        "error": "internal_error",
        "message": "Internal error in jupyter-msal; see the server log.",
    }


class _KernelAuthorizer:
    """Kernels and terminals proved they were started by this server: they may do anything."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return True


class MsalHandler(APIHandler):
    """Base: kernel-secret authentication, JSON bodies, typed errors as JSON."""

    auth_resource = "msal"
    _kernel_authenticated = False

    def initialize(self, service: TokenService, kernel_secret: str) -> None:  # type: ignore[override]
        """Route kwargs: the service and this server's kernel secret."""
        self.service = service
        self.kernel_secret = kernel_secret

    async def prepare(self) -> None:  # type: ignore[override]
        """Authenticate kernels by their secret header; everyone else the Jupyter way."""
        presented = self.request.headers.get(SECRET_HEADER)
        if presented is None:
            await super().prepare()
            return
        if not self.check_host():
            raise web.HTTPError(403)
        if not hmac.compare_digest(presented.encode(), self.kernel_secret.encode()):
            raise web.HTTPError(403, "Wrong %s header.", SECRET_HEADER)
        self._kernel_authenticated = True
        user = User(username="jupyter-msal-kernel", name="kernel or terminal of this server")
        self.current_user = self._jupyter_current_user = user

    @property
    def authorizer(self) -> Any:
        """Kernel-authenticated requests skip the server's authorizer (see _KernelAuthorizer)."""
        if self._kernel_authenticated:
            return _KernelAuthorizer()
        return super().authorizer

    def check_xsrf_cookie(self) -> None:
        """Header-authenticated kernels carry no cookie; everyone else is checked as usual."""
        if self._kernel_authenticated:
            return None
        return super().check_xsrf_cookie()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error as ``{"error", "message", ...}`` JSON."""
        exc_info = kwargs.get("exc_info")
        err = exc_info[1] if exc_info else web.HTTPError(status_code)
        status, body = error_body(err)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Expected errors are logged in one line, without a traceback."""
        if isinstance(value, JupyterMsalError):
            self.log.info(
                "jupyter-msal: %s %s -> %s: %s",
                self.request.method,
                self.request.path,
                value.http_status,
                value.message,
            )
            return
        super().log_exception(typ, value, tb)

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        """Use the status our typed errors carry instead of tornado's 500."""
        exc_info = kwargs.get("exc_info")
        if exc_info and isinstance(exc_info[1], JupyterMsalError):
            status_code = exc_info[1].http_status
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
        except (ValueError, UnicodeDecodeError) as err:
            raise BadRequest(f"The request body is not valid JSON: {err}") from err
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
        accounts = await self.service.read_cache(self.service.list_accounts)
        self.reply(self.service.status(accounts))


class AccountsHandler(MsalHandler):
    """``GET accounts``; ``DELETE accounts[/{account}]`` signs out one or all."""

    @api
    async def get(self, account: str | None = None) -> None:
        accounts = await self.service.read_cache(self.service.list_accounts)
        if account:
            match = [a for a in accounts if a.matches(unquote(account))]
            if not match:
                raise web.HTTPError(404, "No signed-in account matches %r.", unquote(account))
            self.reply(match[0].to_dict())
            return
        self.reply({"accounts": [a.to_dict() for a in accounts], "revision": self.service.revision})

    @api
    async def delete(self, account: str | None = None) -> None:
        selector = unquote(account) if account else None
        removed = await self.service.run_blocking(
            self.service.sign_out, selector, all_accounts=selector is None
        )
        accounts = await self.service.read_cache(self.service.list_accounts)
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
        if not (self._kernel_authenticated or self.token_authenticated):
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
        flow = await self.service.run_blocking(self.service.flows.start, method, scopes, claims)
        self.reply(flow.to_dict(), status=202)


class SignInHandler(MsalHandler):
    """``GET sign-ins/{id}[?wait=S]`` (long poll) and ``DELETE sign-ins/{id}`` (cancel)."""

    @api
    async def get(self, flow_id: str) -> None:
        wait = _wait_seconds(self)
        flow = self.service.flows.get(flow_id)
        if wait:
            await flow.wait_async(wait)
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
