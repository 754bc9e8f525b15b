"""A user server's link to the jupyter-msal JupyterHub service (sign-in method ``hub``).

On a hub where the admin called ``jupyter_msal.hub.enable(c)``, every user server gets
``JUPYTER_MSAL_HUB_SERVICE_URL``; JupyterHub gives it ``JUPYTERHUB_API_TOKEN`` (a token that
names the user and its server). With both, this link:

* asks the service which Entra ID account the user's hub login is (``GET api/account``),
* asks it for access tokens from that login (``POST api/token``): the refresh token and the
  hub app's credential stay in the hub; only access tokens come here,
* registers the ``state`` of an auth-code sign-in this server starts, so the hub's one
  redirect URI sends the browser back here (``POST api/states``).

Blocking HTTP with the configured timeout; callers run it off the event loop.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urljoin

from ..constants import API_PATH
from ..errors import (
    HubLoginUnusable,
    IdentityProviderUnreachable,
    JupyterMsalError,
    SignInRequired,
    error_from_dict,
)
from ..models import AccessToken, Account, SignInMethod

__all__ = ["HUB_API_TOKEN_ENV", "HubLink"]

#: The variable JupyterHub sets for its user servers: their own API token.
HUB_API_TOKEN_ENV = "JUPYTERHUB_API_TOKEN"
#: The variable JupyterHub sets for its user servers: their URL prefix, e.g. ``/user/alice/``.
HUB_PREFIX_ENV = "JUPYTERHUB_SERVICE_PREFIX"
#: Seconds an answer of ``api/account`` is reused by listings and the status (a request that
#: would end in "sign in again" asks again: see ``hub_routing``).
ACCOUNT_TTL = 30.0
#: Seconds after the hub login could not give a token during which a new sign-in does not
#: choose it again (msal replays such refusals for about as long), unless a new hub login
#: (the service names an account again after it named none) or a token for the same scopes
#: ends it sooner.
REFUSAL_TTL = 60.0


class HubLink:
    """The hub service at ``url``, called with the user server's ``api_token``."""

    def __init__(
        self,
        url: str,
        api_token: str,
        *,
        prefix: str = "/",
        timeout: float = 30.0,
        verify: str | bool = True,
        log: logging.Logger | None = None,
    ) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self._headers = {"Authorization": f"token {api_token}"}
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self.timeout = timeout
        self.verify = verify
        self.log = log or logging.getLogger("jupyter_msal")
        self._lock = threading.Lock()
        self._account: tuple[float, Account | None, str | None] | None = None
        self._refusal: tuple[float, str, tuple[str, ...]] | None = None
        self._session: Any = None

    @classmethod
    def from_environment(
        cls,
        url: str | None,
        *,
        environ: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        verify: str | bool = True,
        log: logging.Logger | None = None,
    ) -> HubLink | None:
        """The link when ``url`` is set and JupyterHub gave this server its API token."""
        env = os.environ if environ is None else environ
        token = env.get(HUB_API_TOKEN_ENV, "")
        if not url or not token:
            return None
        return cls(
            url,
            token,
            prefix=env.get(HUB_PREFIX_ENV, "/"),
            timeout=timeout,
            verify=verify,
            log=log,
        )

    @property
    def redirect_path(self) -> str:
        """Where the hub sends a browser back with an auth-code answer for this server."""
        return f"{self.prefix}{API_PATH}/redirect"

    # -- HTTP ---------------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        import requests

        if self._session is None:
            self._session = requests.Session()
        try:
            answer = self._session.request(
                method,
                urljoin(self.url, path),
                json=body,
                headers=self._headers,
                timeout=self.timeout,
                verify=self.verify,
                allow_redirects=False,
            )
        except requests.RequestException as err:
            raise IdentityProviderUnreachable(
                f"Cannot reach the jupyter-msal hub service at {self.url}: {type(err).__name__}.",
                hint="Ask the hub admin to check the hub's jupyter-msal service and its log.",
            ) from err
        try:
            data = answer.json()
        except ValueError:
            data = None
        if answer.status_code >= 400 or not isinstance(data, dict):
            if isinstance(data, dict) and data.get("error"):
                raise error_from_dict(data, answer.status_code)
            raise JupyterMsalError(
                f"The jupyter-msal hub service answered HTTP {answer.status_code}.",
                hint="Ask the hub admin to check the hub's jupyter-msal service and its log.",
            )
        return data

    # -- what the service offers --------------------------------------------------------------

    def account(self, *, fresh: bool = False) -> Account | None:
        """The Entra ID account of the user's hub login, or None (then see :meth:`reason`)."""
        return self._account_answer(fresh)[0]

    def reason(self) -> str | None:
        """Why the hub login gives no tokens here (None when it does)."""
        return self._account_answer(False)[1]

    def _account_answer(self, fresh: bool) -> tuple[Account | None, str | None]:
        with self._lock:
            cached = self._account
        if cached is not None and not fresh and time.monotonic() - cached[0] < ACCOUNT_TTL:
            return cached[1], cached[2]
        try:
            data = self._call("GET", "api/account")
            account: Account | None = Account.from_dict(
                {**data, "sign_in_method": SignInMethod.HUB.value}
            )
            reason = None
        except JupyterMsalError as err:
            account, reason = None, str(err)
        with self._lock:
            if account is not None and cached is not None and cached[1] is None:
                self._refusal = None  # the login gives tokens again: the user logged in anew
            self._account = (time.monotonic(), account, reason)
        return account, reason

    def forget_account(self) -> None:
        """Ask the service again next time (after it said the login no longer works)."""
        with self._lock:
            self._account = None

    def token(
        self,
        scopes: Sequence[str],
        *,
        claims: str | None = None,
        force_refresh: bool = False,
        tenant: str | None = None,
    ) -> AccessToken:
        """An access token from the user's hub login (for ``tenant``, a guest tenant of the
        login, when given); :class:`HubLoginUnusable` when it cannot give one (the caller
        falls back to this server's own accounts)."""
        body: dict[str, Any] = {"scopes": list(scopes), "force_refresh": force_refresh}
        if claims:
            body["claims"] = claims
        if tenant:
            body["tenant"] = tenant
        try:
            data = self._call("POST", "api/token", body)
        except SignInRequired as err:
            if not tenant:  # a guest tenant's refusal says nothing of the login itself
                self.forget_account()
                with self._lock:
                    self._refusal = (time.monotonic(), err.message, tuple(scopes))
            raise HubLoginUnusable(
                err.message,
                scopes=scopes,
                claims=claims,
                hint=err.hint,
                aadsts=err.aadsts,
                tenant=err.tenant,
            ) from None
        with self._lock:
            if self._refusal is not None and self._refusal[2] == tuple(scopes):
                self._refusal = None
        token = AccessToken.from_response(data)
        account = token.account
        if account is not None and account.sign_in_method != SignInMethod.HUB.value:
            account = Account.from_dict({**account.to_dict(), "sign_in_method": "hub"})
        return AccessToken(
            token.token, token.expires_on, token.scopes or scopes, account, token.token_type
        )

    def recent_refusal(self) -> str | None:
        """Why the hub login could not give a token in the last minute, if it could not."""
        with self._lock:
            refusal = self._refusal
        if refusal is None or time.monotonic() - refusal[0] > REFUSAL_TTL:
            return None
        return refusal[1]

    def register_state(self, state: str) -> None:
        """Tell the service that an auth-code answer carrying ``state`` belongs here."""
        self._call("POST", "api/states", {"state": state, "redirect_path": self.redirect_path})

    def to_dict(self) -> dict[str, Any]:
        """The non-secret state of the link, for the status document."""
        account, reason = self._account_answer(False)
        return {
            "url": self.url,
            "account": account.username if account else None,
            "in_use": account is not None,
            "note": "tokens come from your JupyterHub login"
            if account
            else f"not in use: {reason}",
        }

    def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            self._session.close()
