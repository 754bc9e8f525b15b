"""Which requests the user's JupyterHub login serves, beside this server's own accounts.

On a hub with the jupyter-msal service, the hub login's account is listed first (unless this
server has signed in to it too), and a token for it comes from the hub service. When the hub
login cannot give a token, this server's own accounts serve the request if there are any;
otherwise the user must sign in on this server (for a guest tenant that demands a sign-in
of its own, a sign-in for that tenant: the error names it, with the tenant's reason).

The hub link keeps the service's answer about the hub login for a while (listings and the
status ask often). A kept answer that the hub login gives no tokens is never the reason a
request ends in "sign in again": the service is asked again first, so logging in to the hub
again serves the very next request.
"""

from __future__ import annotations

import logging

from ..errors import BadRequest, HubLoginUnusable, SignInRequired
from ..models import AccessToken, Account
from .accounts import AccountStore
from .hub_link import HubLink

__all__ = ["HubRouting"]


class HubRouting:
    """Routes account listings, sign-outs and token requests between ``link`` (None: not on
    such a hub) and the server's own ``accounts``."""

    def __init__(self, link: HubLink | None, accounts: AccountStore, log: logging.Logger) -> None:
        self.link = link
        self.accounts = accounts
        self.log = log

    def account_for(self, selector: str | None, *, recheck: bool = False) -> Account | None:
        """The hub login's account when a request for ``selector`` is served by the hub.

        With ``recheck``, a kept answer that the hub login gives no tokens is checked with the
        hub service again (a new hub login may have mended it).
        """
        if self.link is None:
            return None
        hub = self.link.account()
        if hub is None and recheck:
            hub = self.link.account(fresh=True)
        if hub is None or selector is None:
            return hub
        wanted = selector.lower()
        return hub if wanted in (hub.username.lower(), hub.home_account_id.lower()) else None

    def _served_here(self, selector: str | None) -> bool:
        """Whether this server's own accounts can serve a request for ``selector``."""
        if selector is None:
            return bool(self.accounts.list())
        return self.accounts.find(selector) is not None

    def with_hub_account(self, local: list[Account]) -> list[Account]:
        """``local`` with the hub login's account first, unless it is among them already."""
        hub = self.link.account() if self.link is not None else None
        if hub is None or any(a.home_account_id == hub.home_account_id for a in local):
            return local
        return [hub, *local]

    def check_sign_out(self, selector: str) -> None:
        """Refuse to sign out the hub login's account (``BadRequest``): the hub owns it."""
        hub = self.account_for(selector)
        if hub is not None and self.accounts.find(hub.username) is None:
            raise BadRequest(
                f"{hub.username} is signed in through your JupyterHub login: log out of "
                "JupyterHub to end it; this server cannot sign it out."
            )

    def token(
        self,
        scopes: tuple[str, ...],
        account: str | None,
        force: bool,
        claims: str | None,
        tenant: str | None = None,
    ) -> AccessToken | None:
        """A token from the hub login, or None when this server's own accounts serve the
        request (no hub, another account named, or the hub login cannot give it while this
        server has accounts of its own). ``tenant`` (checked) is the tenant it is for."""
        hub = self.account_for(account)
        if hub is None and self.link is not None and not self._served_here(account):
            hub = self.account_for(account, recheck=True)  # rather than "sign in again"
        if self.link is None or hub is None:
            return None
        extra = {"tenant": tenant} if tenant else {}
        try:
            return self.link.token(scopes, claims=claims, force_refresh=force, **extra)
        except HubLoginUnusable as err:
            if self.accounts.list():
                self.log.info("jupyter-msal: hub login not used (%s); using this server's", err)
                return None
            if tenant and err.tenant:  # a guest tenant wants its own sign-in, on this server
                raise SignInRequired(
                    err.message,
                    scopes=scopes,
                    claims=claims,
                    tenant=err.tenant,
                    hint=err.hint,
                    aadsts=err.aadsts,
                ) from None
            raise SignInRequired(
                f"Your JupyterHub login cannot get this token: {err.message}",
                scopes=scopes,
                claims=claims,
                tenant=tenant,
                hint="Sign in on this server: run %msal_login (or `jupyter msal login`, or the "
                "Sign in button); or log out of JupyterHub and log in again.",
            ) from None
