"""The hub service's HTTP API, below its JupyterHub prefix (``/services/jupyter-msal/``).

* ``GET api/account``: the Entra ID account of the caller's hub login.
* ``POST api/token`` ``{"scopes": [...], "claims"?, "force_refresh"?}``: an access token
  from the caller's hub login (never a refresh token).
* ``POST api/states`` ``{"state", "redirect_path"}``: route an auth-code answer back to one
  of the caller's servers.
* ``GET redirect?code=...&state=...``: the hub's one redirect URI; sends the browser on to
  the server that registered ``state`` (once).

The ``api/`` calls need a JupyterHub token of a *user* (a user server's
``JUPYTERHUB_API_TOKEN``, or the user's own API token) that may access this service
(``access:services!service=<name>``); each user only ever gets their own login's tokens.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tornado import web
from tornado.ioloop import IOLoop

from ..errors import BadRequest, Forbidden, JupyterMsalError, Unauthenticated
from ..server.errors import error_body, error_headers
from .states import StateRoutes
from .tokens import HubTokens

__all__ = ["make_app"]

_MAX_BODY = 64 * 1024


class _ServiceHandler(web.RequestHandler):
    """Common parts: JSON errors, the caller's hub identity, work off the event loop."""

    def initialize(  # type: ignore[override]
        self, tokens: HubTokens, states: StateRoutes, auth: Any, pool: ThreadPoolExecutor
    ) -> None:
        self.tokens = tokens
        self.states = states
        self.auth = auth
        self.pool = pool

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")

    def check_xsrf_cookie(self) -> None:
        """API calls authenticate with a token header, never a cookie: nothing to check."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        err = kwargs.get("exc_info", (None, None))[1]
        status, body = error_body(err if err is not None else web.HTTPError(status_code))
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def fail(self, err: BaseException) -> None:
        """Answer ``err`` as JSON (its status, ``Retry-After`` where it applies)."""
        if isinstance(err, Unauthenticated):
            status, body = 401, err.to_dict()
        else:
            status, body = error_body(err)
        if status >= 500 and not isinstance(err, JupyterMsalError):
            logging.getLogger("jupyter_msal.hub").error("request failed", exc_info=err)
        for name, value in error_headers(err).items():
            self.set_header(name, value)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    async def caller(self) -> str:
        """The hub user the request's token belongs to (401/403 otherwise)."""
        header = self.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("token", "bearer") or not token.strip():
            raise Unauthenticated(
                "Send a JupyterHub API token: Authorization: token <JUPYTERHUB_API_TOKEN>."
            )
        model = await self.auth.user_for_token(token.strip(), sync=False)
        if not model:
            raise Unauthenticated("JupyterHub does not know this token.")
        if model.get("kind", "user") != "user":
            raise Forbidden("Only users have hub logins: this token is not a user's.")
        if not self.auth.check_scopes(self.auth.access_scopes, model):
            raise Forbidden(
                "This token may not use the jupyter-msal service (it lacks "
                f"{', '.join(sorted(self.auth.access_scopes))})."
            )
        return str(model["name"])

    def json_body(self) -> dict[str, Any]:
        """The request's JSON object (400 when it is not one)."""
        if len(self.request.body) > _MAX_BODY:
            raise BadRequest("The request body is too large.")
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise BadRequest("The request body must be a JSON object.") from None
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object.")
        return body

    async def run(self, work: Any, *args: Any, **kwargs: Any) -> Any:
        """Blocking ``work`` on the service's threads."""
        return await IOLoop.current().run_in_executor(self.pool, lambda: work(*args, **kwargs))


class AccountHandler(_ServiceHandler):
    """``GET api/account``."""

    async def get(self) -> None:
        try:
            user = await self.caller()
            account = await self.run(self.tokens.account, user)
        except Exception as err:
            self.fail(err)
            return
        self.finish(account.to_dict())


class TokenHandler(_ServiceHandler):
    """``POST api/token``."""

    async def post(self) -> None:
        try:
            user = await self.caller()
            body = self.json_body()
            scopes = body.get("scopes")
            if not isinstance(scopes, list) or not scopes:
                raise BadRequest("Field 'scopes' must be a non-empty list of scopes.")
            claims = body.get("claims")
            if claims is not None and not isinstance(claims, str):
                raise BadRequest("Field 'claims' must be a string (a claims challenge).")
            force = body.get("force_refresh", False)
            if not isinstance(force, bool):
                raise BadRequest("Field 'force_refresh' must be true or false.")
            token = await self.run(
                self.tokens.token, user, scopes, claims=claims, force_refresh=force
            )
        except Exception as err:
            self.fail(err)
            return
        self.finish(token.to_dict())


class StatesHandler(_ServiceHandler):
    """``POST api/states``."""

    async def post(self) -> None:
        try:
            user = await self.caller()
            body = self.json_body()
            state, path = body.get("state"), body.get("redirect_path")
            if not isinstance(state, str) or not isinstance(path, str):
                raise BadRequest("Fields 'state' and 'redirect_path' must be strings.")
            self.states.register(user, state, path)
        except Exception as err:
            self.fail(err)
            return
        self.set_status(201)
        self.finish({"registered": True})


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
<h1>{title}</h1><p>{message}</p></body></html>"""


class RedirectHandler(_ServiceHandler):
    """``GET redirect``: send the browser on to the server that started this sign-in."""

    def get(self) -> None:
        self.set_header("Referrer-Policy", "no-referrer")
        state = self.get_query_argument("state", "")
        route = self.states.take(state) if state else None
        if route is None:
            self.set_status(400)
            self.finish(
                _PAGE.format(
                    title="Sign-in failed",
                    message="This sign-in answer is unknown, expired or already used. Start a "
                    "new sign-in from your notebook or the jupyter-msal panel.",
                )
            )
            return
        self.redirect(f"{route[1]}?{self.request.query}")


def _log_request(handler: web.RequestHandler) -> None:
    """Access log without query strings (they carry authorization codes)."""
    request = handler.request
    logging.getLogger("jupyter_msal.hub.access").info(
        "%d %s %s %.1fms",
        handler.get_status(),
        request.method,
        request.path,
        1000.0 * request.request_time(),
    )


def make_app(
    tokens: HubTokens, states: StateRoutes, auth: Any, prefix: str, *, threads: int = 8
) -> web.Application:
    """The service's tornado application, its routes below ``prefix``."""
    pool = ThreadPoolExecutor(threads, thread_name_prefix="jupyter-msal-hub")
    kwargs = {"tokens": tokens, "states": states, "auth": auth, "pool": pool}
    base = prefix if prefix.endswith("/") else prefix + "/"
    return web.Application(
        [
            (f"{base}api/account", AccountHandler, kwargs),
            (f"{base}api/token", TokenHandler, kwargs),
            (f"{base}api/states", StatesHandler, kwargs),
            (f"{base}redirect", RedirectHandler, kwargs),
        ],
        log_function=_log_request,
    )
