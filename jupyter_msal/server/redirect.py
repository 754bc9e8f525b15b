"""Where authorization-code answers arrive on the Jupyter server itself.

* ``POST <base_url>jupyter-msal/sign-ins/{id}/response`` with ``{"url": ...}``: the address
  the browser ended on, pasted by the user (any client; state-checked, one use).
* ``GET <base_url>jupyter-msal/redirect?code=...&state=...``: the redirect of a configured
  ``JupyterMsal.redirect_uri`` on the server's own origin. The page is served to the signed-in
  Jupyter user only (a browser that is not signed in to Jupyter is sent to its login page) and
  finds its sign-in by ``state``.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from tornado import web

from ..constants import API_PATH
from ..errors import BadRequest, JupyterMsalError
from ..flows import AuthCodeSignIn, SignInFlow
from ..flows.auth_code import parse_response
from ..flows.loopback import result_page
from ..models import SignInMethod
from ..service import TokenService
from .handlers import MsalHandler

__all__ = ["REDIRECT_PATH", "make_redirect_routes", "note_server_address"]

#: The path (below base_url) of the redirect page for a configured ``redirect_uri``.
REDIRECT_PATH = f"{API_PATH}/redirect"


class SignInResponseHandler(MsalHandler):
    """``POST sign-ins/{id}/response``: complete a sign-in with the address pasted."""

    @web.authenticated
    @authorized
    async def post(self, flow_id: str) -> None:
        body = self.json_body({"url"})
        url = body.get("url")
        if not isinstance(url, str) or not url.strip():
            raise BadRequest("Field 'url' must be the address the browser ended on.")
        flow = await self.service.workers.call_idp(self.service.flows.complete, flow_id, url)
        self.reply(flow.to_dict())


class RedirectPageHandler(JupyterHandler):
    """``GET redirect``: the identity provider sends the browser here (``redirect_uri``)."""

    auth_resource = "msal"

    def initialize(self, service: TokenService) -> None:  # type: ignore[override]
        """Route kwargs: the service."""
        self.service = service
        self._answer = ""

    async def prepare(self) -> None:  # type: ignore[override]
        """Keep the answer (code, state) out of the access log and any login redirect."""
        self._answer = self.request.query
        self.request.uri = self.request.path
        await super().prepare()

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        try:
            params = parse_response(self._answer)
            flow = self.service.flows.flow_for_state(params["state"])
            if flow is None:
                raise BadRequest("This sign-in is unknown or has ended: start a new sign-in.")
            await self.service.workers.call_idp(self._redeem, flow, params)
        except JupyterMsalError as err:
            self.set_status(400)
            self.finish(result_page("Sign-in failed", str(err)))
            return
        who = flow.account.username if flow.account else "you"
        self.finish(result_page("Signed in", f"Signed in as {who}, you can close this tab."))

    def _redeem(self, flow: SignInFlow, params: dict[str, str]) -> None:
        strategy = self.service.flows.strategies.get(SignInMethod.AUTH_CODE)
        if not isinstance(strategy, AuthCodeSignIn):
            raise BadRequest("Sign-in in the browser is not offered on this server.")
        strategy.redeem(flow, params)


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def note_server_address(service: TokenService, serverapp: Any) -> None:
    """Tell the auth-code sign-in whether browsers reach this server on loopback.

    A Jupyter server that listens only on loopback is used from a browser on the same
    machine (or through a tunnel); there, a redirect to ``http://localhost:<port>/`` reaches
    the flow's own listener, so ``auto`` prefers signing in in the browser.
    """
    strategy = service.flows.strategies.get(SignInMethod.AUTH_CODE)
    if isinstance(strategy, AuthCodeSignIn) and serverapp is not None:
        on_loopback = _is_loopback(str(getattr(serverapp, "ip", "") or ""))
        strategy.browser_reaches_loopback = lambda: on_loopback


def make_redirect_routes(
    service: TokenService, kernel_secret: str
) -> list[tuple[str, type, dict[str, Any]]]:
    """URL patterns (relative to base_url) with the handler kwargs."""
    kwargs = {"service": service, "kernel_secret": kernel_secret}
    return [
        (rf"/{API_PATH}/sign-ins/([^/]+)/response", SignInResponseHandler, kwargs),
        (rf"/{REDIRECT_PATH}", RedirectPageHandler, {"service": service}),
    ]
