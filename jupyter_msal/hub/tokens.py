"""Access tokens from users' JupyterHub logins: the hub service's token logic.

For each hub user whose login was with Entra ID (OAuthenticator's ``AzureAdOAuthenticator``,
``enable_auth_state = True``), the refresh token in the user's ``auth_state`` is redeemed
with the hub app's own credential (a confidential client: the secret stays in the hub). The
tokens live in one in-memory msal cache shared by every user, each user's entries under their
own ``home_account_id``; access tokens are reused until they are due for refresh and each
user's refreshes run one at a time. When the identity provider rotates a refresh token, the
new one is written back into ``auth_state``, so a restarted hub carries on from it (for a hub
admin, whom the service may not change, it stays in memory). A token for another tenant (a
guest tenant of the login) is redeemed at that tenant's token endpoint, by an msal
application of that tenant on the same cache.

Blocking (msal is): the web layer calls it from worker threads, and its JupyterHub API
calls go back to the event loop (:class:`~.hub_api.HubApiFromThreads`). No tornado here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..config.settings import JupyterMsal
from ..errors import ConfigError, HubApiError, SignInRequired
from ..identity.msal_app import MsalApp
from ..identity.msal_results import tenant_refused
from ..identity.single_flight import SingleFlight
from ..identity.transport import GuardedSession
from ..models import AccessToken, Account, SignInMethod, decode_jwt_claims
from ..scopes import check_tenant, check_tenant_policy, resolve_scopes
from .hub_api import HubApiFromThreads

__all__ = ["HubTokens", "account_from_auth_state"]

_FlightKey = tuple[str, tuple[str, ...], str, bool, str]
#: Seconds before expiry a token is refreshed rather than reused (msal's own margin).
_REFRESH_MARGIN = 300
#: AADSTS codes saying the refresh token itself no longer works (revoked, expired, reused,
#: password changed, sign-in frequency): the hub login gives no token until the user logs in
#: again. Others (consent or MFA missing for one resource) concern only that request.
_DEAD_REFRESH_TOKEN = frozenset(
    {"50173", "70008", "700082", "50133", "70043", "700084", "9002313", "50089"}
)


def _login_is_dead(err: SignInRequired) -> bool:
    return err.aadsts in _DEAD_REFRESH_TOKEN


def _claims_of(auth_state: Mapping[str, Any]) -> dict[str, Any]:
    """The ID token claims OAuthenticator kept (``auth_state["user"]``), or decoded."""
    user = auth_state.get("user")
    if isinstance(user, Mapping) and (user.get("oid") or user.get("sub")):
        return dict(user)
    return decode_jwt_claims(str(auth_state.get("id_token") or ""))


def account_from_auth_state(
    auth_state: Mapping[str, Any] | None, authority: str = ""
) -> Account | None:
    """The Entra ID account of a hub login, or None when the login kept no refresh token."""
    if not auth_state or not auth_state.get("refresh_token"):
        return None
    claims = _claims_of(auth_state)
    oid, tid = str(claims.get("oid") or ""), str(claims.get("tid") or "")
    if not oid or not tid:
        return None
    username = claims.get("preferred_username") or claims.get("upn") or claims.get("email")
    host = authority.split("/")[2] if authority.count("/") >= 2 else ""
    return Account(
        home_account_id=f"{oid}.{tid}",
        username=str(username or oid),
        tenant_id=tid,
        environment=host,
        authority=authority,
        sign_in_method=SignInMethod.HUB.value,
    )


@dataclass
class _Login:
    """What the service knows of one user's hub login."""

    account: Account
    #: The refresh token last read from or written to ``auth_state``.
    refresh_token: str


class HubTokens:
    """Access tokens for hub users from their hub logins (see the module docstring)."""

    def __init__(
        self,
        settings: JupyterMsal,
        hub: HubApiFromThreads,
        *,
        log: logging.Logger | None = None,
        http: GuardedSession | None = None,
    ) -> None:
        import msal

        settings.check()
        if not settings.client_secret and not settings.client_certificate_path:
            raise ConfigError.about(
                "client_secret",
                "the hub service needs the hub app's credential (JUPYTER_MSAL_CLIENT_SECRET)",
            )
        self.settings = settings
        self.hub = hub
        self.log = log or logging.getLogger("jupyter_msal.hub")
        self.http = http or GuardedSession(
            verify=settings.ca_bundle or True,
            timeout=settings.http_timeout,
            allowed_hosts=settings.allowed_hosts,
            log=logging.getLogger("jupyter_msal.http"),
        )
        self.cache = msal.SerializableTokenCache()  # in memory only, never written anywhere
        self.msal = MsalApp(settings, token_cache=self.cache, http=self.http)
        self._logins: dict[str, _Login] = {}
        #: user -> (the refresh token the identity provider refused, why): until the user
        #: logs in to the hub again, their login is reported as not working.
        self._refused: dict[str, tuple[str, str]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._flights: SingleFlight[_FlightKey, AccessToken] = SingleFlight()
        #: (user, scopes, tenant) -> the last token given out, reused until due for refresh
        self._hits: dict[tuple[str, tuple[str, ...], str], AccessToken] = {}

    @property
    def authority(self) -> str:
        """The authority tokens are asked from."""
        return str(self.settings.oidc_authority or self.settings.authority)

    def _lock_of(self, user: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(user, threading.Lock())

    def account(self, user: str) -> Account:
        """The Entra ID account of ``user``'s hub login (reads ``auth_state``; no IdP call)."""
        state = self.hub.auth_state(user)
        account = account_from_auth_state(state, self.authority)
        if state is None or account is None:
            raise self._no_login(user)
        refused = self._refused.get(user)
        if refused is not None and refused[0] == state.get("refresh_token"):
            raise SignInRequired(
                f"the hub login of {user} no longer gets tokens: {refused[1]}",
                hint="Log out of JupyterHub and log in again, or sign in on your server.",
            )
        return account

    @staticmethod
    def _no_login(user: str) -> SignInRequired:
        return SignInRequired(
            f"the hub login of {user} holds no Microsoft Entra ID refresh token (it was not a "
            "login with Entra ID, or the hub's login did not ask for offline_access)",
            hint="Sign in on your server (%msal_login), or ask the hub admin.",
        )

    def token(
        self,
        user: str,
        scopes: Sequence[str],
        *,
        claims: str | None = None,
        force_refresh: bool = False,
        tenant: str | None = None,
    ) -> AccessToken:
        """An access token for ``user`` (blocking); concurrent equal requests share one call.
        ``tenant`` (a tenant id or domain name; None: the login's own) is whose it is."""
        resolved = resolve_scopes(scopes, allowed_scopes=self.settings.allowed_scopes)
        tenant = self._tenant(tenant)
        if not claims and not force_refresh:  # the hot path: no msal, no lock
            hit = self._hits.get((user, resolved, tenant or ""))
            if hit is not None and hit.expires_on - time.time() > _REFRESH_MARGIN:
                return hit
        key = (user, resolved, claims or "", bool(force_refresh), tenant or "")
        token = self._flights.run(
            key, lambda: self._token(user, resolved, claims, force_refresh, tenant)
        )
        if not claims:  # tokens answering a claims challenge are not reused
            self._hits[(user, resolved, tenant or "")] = token
        return token

    def _tenant(self, tenant: str | None) -> str | None:
        """``tenant`` checked (``BadRequest``) and allowed (``TenantNotAllowed``); None for
        the configured authority's own."""
        if tenant is None:
            return None
        tenant = self.msal.own_tenant(check_tenant(tenant))
        if tenant is not None:
            check_tenant_policy(tenant, self.settings.allowed_tenants)
        return tenant

    def _token(
        self,
        user: str,
        scopes: tuple[str, ...],
        claims: str | None,
        force: bool,
        tenant: str | None = None,
    ) -> AccessToken:
        with self._lock_of(user):
            login = self._logins.get(user)
            if login is not None:
                try:
                    token = self._silent(user, login, scopes, claims, force, tenant)
                except SignInRequired as err:
                    # The refresh token we hold stopped working. A newer login may have put
                    # another one into auth_state: try that one before giving up.
                    if not _login_is_dead(err):
                        raise
                    state = self.hub.auth_state(user) or {}
                    if state.get("refresh_token") in (None, login.refresh_token):
                        self._forget(user)
                        self._refused[user] = (login.refresh_token, err.message)
                        raise
                    token = None
                if token is not None:
                    return token
            return self._redeem(user, scopes, claims, tenant)

    def _forget(self, user: str) -> None:
        """Drop what is held for ``user``'s login (its refresh token stopped working)."""
        self._logins.pop(user, None)
        for key in [k for k in list(self._hits) if k[0] == user]:  # every tenant's
            self._hits.pop(key, None)

    def _msal_account(self, login: _Login) -> dict[str, Any] | None:
        for entry in self.msal.app.get_accounts():
            if entry.get("home_account_id") == login.account.home_account_id:
                return entry
        return None

    def _silent(
        self,
        user: str,
        login: _Login,
        scopes: tuple[str, ...],
        claims: str | None,
        force: bool,
        tenant: str | None = None,
    ) -> AccessToken | None:
        raw = self._msal_account(login)
        if raw is None:
            return None
        app = self.msal.app_for(tenant)
        try:
            result = self.msal.request(
                lambda: app.acquire_token_silent_with_error(
                    list(scopes), raw, force_refresh=force, claims_challenge=claims
                ),
                scopes=scopes,
            )
        except SignInRequired as err:
            if tenant is None or _login_is_dead(err):
                raise
            raise tenant_refused(err, tenant, login.account.username) from None
        if not result:
            return None
        self._store_rotation(user, login)
        return self._access_token(result, scopes, login.account)

    def _redeem(
        self, user: str, scopes: tuple[str, ...], claims: str | None, tenant: str | None = None
    ) -> AccessToken:
        """Redeem the refresh token in ``auth_state`` (first request since the service
        started, or after the user logged in to the hub again), at ``tenant``'s token
        endpoint when one is named."""
        state = self.hub.auth_state(user)
        account = account_from_auth_state(state, self.authority)
        if state is None or account is None:
            raise self._no_login(user)
        refresh_token = str(state["refresh_token"])
        app = self.msal.app_for(tenant)
        try:
            result = self.msal.request(
                lambda: app.acquire_token_by_refresh_token(refresh_token, list(scopes)),
                scopes=scopes,
            )
        except SignInRequired as err:
            if _login_is_dead(err):
                self._refused[user] = (refresh_token, err.message)
            elif tenant is not None:
                raise tenant_refused(err, tenant, account.username) from None
            raise
        self._refused.pop(user, None)
        login = _Login(account, refresh_token)
        self._logins[user] = login
        self.log.info("jupyter-msal hub: redeemed the hub login of %s", user)
        if claims:  # a claims challenge: ask again for this account with the claims
            token = self._silent(user, login, scopes, claims, True, tenant)
            if token is not None:
                return token
        self._store_rotation(user, login)
        return self._access_token(result, scopes, account)

    def _store_rotation(self, user: str, login: _Login) -> None:
        """Write a refresh token the identity provider rotated back into ``auth_state``."""
        current = self._cached_refresh_token(login)
        if not current or current == login.refresh_token:
            return
        state = dict(self.hub.auth_state(user) or {})
        state["refresh_token"] = current
        response = state.get("token_response")
        if isinstance(response, Mapping):  # OAuthenticator rebuilds auth_state from this
            state["token_response"] = {**response, "refresh_token": current}
        login.refresh_token = current
        try:
            self.hub.save_auth_state(user, state)
        except HubApiError as err:
            # JupyterHub refused (only admins may change a hub admin) or did not answer: the
            # rotated token stays in memory; a restarted service redeems auth_state's again
            self.log.warning(
                "jupyter-msal hub: the rotated refresh token of %s is kept in memory only: %s",
                user,
                err,
            )
            return
        self.log.info("jupyter-msal hub: stored the rotated refresh token of %s", user)

    def _cached_refresh_token(self, login: _Login) -> str | None:
        entries = self.cache.search(
            self.cache.CredentialType.REFRESH_TOKEN,
            query={"home_account_id": login.account.home_account_id},
        )
        for entry in entries:
            return str(entry.get("secret") or "") or None
        return None

    @staticmethod
    def _access_token(
        result: Mapping[str, Any], scopes: tuple[str, ...], account: Account
    ) -> AccessToken:
        return AccessToken(
            str(result["access_token"]),
            int(time.time()) + int(result.get("expires_in") or 0),
            scopes,
            account,
            str(result.get("token_type") or "Bearer"),
        )

    def close(self) -> None:
        """Close the HTTP clients."""
        self.http.close()
        self.hub.close()
