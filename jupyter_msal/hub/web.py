"""The hub service's HTTP API, below its JupyterHub prefix (``/services/jupyter-msal/``).

* ``GET api/account``: the Entra ID account of the caller's hub login.
* ``POST api/token`` ``{"scopes": [...], "claims"?, "force_refresh"?, "tenant"?}``: an
  access token from the caller's hub login (never a refresh token), for ``tenant`` (a guest
  tenant of the login) when named.
* ``POST api/states`` ``{"state", "redirect_path"}``: route an auth-code answer back to one
  of the caller's servers.
* ``GET redirect?code=...&state=...``: the hub's one redirect URI; sends the browser on to
  the server that registered ``state`` (once).

The ``api/`` calls are authenticated by JupyterHub's own ``HubAuthenticated`` mixin
(:mod:`jupyterhub.services.auth`): they need a JupyterHub token of a *user* (a user server's
``JUPYTERHUB_API_TOKEN``, or the user's own API token) that may access this service
(``access:services!service=<name>``, the ``HubAuth.access_scopes`` JupyterHub gives the
service); tokens of services, the service's own included, are refused. Each user only ever
gets their own login's tokens. Bodies and errors follow the server extension's rules
(:class:`~jupyter_msal.server.json_api.JsonApiMixin`): every failure is a JSON answer, never
a login redirect. The token logic runs in worker threads (msal blocks), through
:class:`~jupyter_msal.identity.workers.Workers`.
"""

from __future__ import annotations

import logging
from typing import Any

from jupyterhub.services.auth import HubAuth, HubAuthenticated
from tornado import web

from ..errors import BadRequest, Forbidden, Unauthenticated
from ..identity.workers import Workers
from ..scopes import check_claims
from ..server.json_api import JsonApiMixin
from .states import StateRoutes
from .tokens import HubTokens

__all__ = ["make_app"]

_LOG = logging.getLogger("jupyter_msal.hub")


class _ApiHandler(JsonApiMixin, HubAuthenticated, web.RequestHandler):
    """JSON in and out; the caller is a hub user allowed to use this service."""

    log = _LOG

    def initialize(  # type: ignore[override]
        self, tokens: HubTokens, states: StateRoutes, hub_auth: HubAuth, workers: Workers
    ) -> None:
        """Route kwargs: the token logic, the state routes, JupyterHub's auth, the threads."""
        self.tokens = tokens
        self.states = states
        self.hub_auth = hub_auth
        self.workers = workers

    def set_default_headers(self) -> None:
        """No answer of this API may be cached."""
        self.set_header("Cache-Control", "no-store")

    def check_xsrf_cookie(self) -> None:
        """Callers authenticate with a token header, never a cookie: nothing to check."""

    def get_current_user(self) -> Any:
        """None here: :meth:`prepare` asks JupyterHub without blocking the event loop."""
        return None

    async def prepare(self) -> None:  # type: ignore[override]
        """Identify the caller with JupyterHub (401/403 JSON when it may not call)."""
        model = await self.hub_auth.get_user(self, sync=False)
        if not model:
            raise self._unauthenticated()
        self.current_user = self.check_hub_user(model)

    def _unauthenticated(self) -> Unauthenticated:
        if self.hub_auth.get_token(self, in_cookie=False):
            return Unauthenticated("JupyterHub does not know this token.")
        return Unauthenticated(
            "Send a JupyterHub API token: Authorization: token <JUPYTERHUB_API_TOKEN>."
        )

    def check_hub_user(self, model: dict[str, Any]) -> dict[str, Any]:
        """``model`` when it is a user holding this service's access scope; else 403."""
        if model.get("kind", "user") != "user":
            raise Forbidden("Only users have hub logins: this token is not a user's.")
        required = self.hub_scopes or set()
        if not required or not self.hub_auth.check_scopes(required, model):
            raise Forbidden(
                "This token may not use the jupyter-msal service (it lacks "
                f"{', '.join(sorted(required)) or 'the service access scope'})."
            )
        return model

    def get_login_url(self) -> str:
        """API callers are never sent to a login page: 401 JSON instead."""
        raise self._unauthenticated()

    @property
    def hub_user(self) -> str:
        """The name of the calling hub user."""
        return str(self.current_user["name"])


class AccountHandler(_ApiHandler):
    """``GET api/account``."""

    @web.authenticated
    async def get(self) -> None:
        """The Entra ID account of the caller's hub login."""
        account = await self.workers.call_idp(self.tokens.account, self.hub_user)
        self.reply(account.to_dict())


class TokenHandler(_ApiHandler):
    """``POST api/token``."""

    @web.authenticated
    async def post(self) -> None:
        """An access token from the caller's hub login."""
        body = self.json_body({"scopes", "claims", "force_refresh", "tenant"})
        scopes = body.get("scopes")
        if not isinstance(scopes, list) or not scopes:
            raise BadRequest("Field 'scopes' must be a non-empty list of scopes.")
        claims = body.get("claims")
        if claims is not None:
            if not isinstance(claims, str):
                raise BadRequest("Field 'claims' must be a string (a claims challenge).")
            check_claims(claims)
        force = body.get("force_refresh", False)
        if not isinstance(force, bool):
            raise BadRequest("Field 'force_refresh' must be true or false.")
        tenant = body.get("tenant")
        if tenant is not None and not isinstance(tenant, str):
            raise BadRequest("Field 'tenant' must be a string (a tenant id or domain name).")
        token = await self.workers.call_idp(
            self.tokens.token,
            self.hub_user,
            scopes,
            claims=claims,
            force_refresh=force,
            tenant=tenant,
        )
        self.reply(token.to_dict())


class StatesHandler(_ApiHandler):
    """``POST api/states``."""

    @web.authenticated
    async def post(self) -> None:
        """Route the answer of one of the caller's auth-code sign-ins to their server."""
        body = self.json_body({"state", "redirect_path"})
        state, path = body.get("state"), body.get("redirect_path")
        if not isinstance(state, str) or not isinstance(path, str):
            raise BadRequest("Fields 'state' and 'redirect_path' must be strings.")
        self.states.register(self.hub_user, state, path)
        self.reply({"registered": True}, status=201)


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
<h1>{title}</h1><p>{message}</p></body></html>"""


class RedirectHandler(web.RequestHandler):
    """``GET redirect``: send the browser on to the server that started this sign-in.

    Not authenticated: the identity provider sends the browser here; the user server checks
    the state again and requires its own Jupyter login.
    """

    def initialize(self, states: StateRoutes) -> None:  # type: ignore[override]
        """Route kwargs: the state routes."""
        self.states = states

    def get(self) -> None:
        """Redirect to the registered path with the answer, or a page saying why not."""
        self.set_header("Cache-Control", "no-store")
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
    tokens: HubTokens, states: StateRoutes, hub_auth: HubAuth, prefix: str, workers: Workers
) -> web.Application:
    """The service's tornado application, its routes below ``prefix``."""
    kwargs = {"tokens": tokens, "states": states, "hub_auth": hub_auth, "workers": workers}
    base = prefix if prefix.endswith("/") else prefix + "/"
    return web.Application(
        [
            (f"{base}api/account", AccountHandler, kwargs),
            (f"{base}api/token", TokenHandler, kwargs),
            (f"{base}api/states", StatesHandler, kwargs),
            (f"{base}redirect", RedirectHandler, {"states": states}),
        ],
        log_function=_log_request,
    )
