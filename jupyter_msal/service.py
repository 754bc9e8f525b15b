"""TokenService: access tokens for the configured identity, silent first, single flight.

It holds the parts of one configuration (built by :func:`~jupyter_msal.identity.assembly.assemble`
and :func:`~jupyter_msal.flows.configured.configured_sign_ins`) and acquires tokens with them:
from the lookup in front of msal, from msal's cache, or with one refresh shared by every
concurrent request for the same token. On a JupyterHub with the jupyter-msal service,
:class:`~jupyter_msal.identity.hub_routing.HubRouting` decides which requests the hub login
serves. A request may name a tenant (a guest tenant of the signed-in account): its token
comes from the same sign-in, redeemed at that tenant (:meth:`MsalApp.app_for
<jupyter_msal.identity.msal_app.MsalApp.app_for>`), under the admin policy
``allowed_tenants``. It never signs in interactively; it raises
:class:`~jupyter_msal.errors.SignInRequired` and the sign-in flows (``service.flows``) do that.

Everything is synchronous and thread-safe, except the ``*_async`` method for the event loop.
No tornado and no IPython here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .audiences import Audiences
from .audit import EventSink, policy_refused, signed_out, token_issued
from .config.settings import JupyterMsal
from .errors import BadRequest, Forbidden, IdentityProviderError, SignInRequired
from .flows import SignInContext
from .flows.configured import configured_sign_ins
from .identity.assembly import assemble
from .identity.hub_routing import HubRouting
from .identity.lookup import TokenLookup, find_resource_token
from .identity.msal_results import tenant_refused
from .identity.single_flight import SingleFlight
from .identity.transport import GuardedSession
from .metrics import LOOKUP_HITS, TOKEN_REQUESTS, token_request
from .models import AccessToken, Account
from .scopes import (
    MULTI_TENANT_NAMES,
    check_account_selector,
    check_claims,
    check_tenant,
    check_tenant_policy,
    resolve_scopes,
)

__all__ = ["TokenService"]

#: (account selector in lower case, scopes, claims, force_refresh, tenant or "")
_FlightKey = tuple[str, tuple[str, ...], str, bool, str]
#: Who asked for a token, when nobody says (see :data:`~jupyter_msal.metrics.CLIENT_KINDS`).
IN_PROCESS = "in_process"


class TokenService:
    """Access tokens for ``settings`` (a :class:`~jupyter_msal.config.JupyterMsal`).

    ``http_session`` replaces the HTTP client msal uses (tests observe requests through it).
    ``events`` receives the audit events (:mod:`~jupyter_msal.audit`); without it none are made.
    """

    def __init__(
        self,
        settings: JupyterMsal,
        *,
        log: logging.Logger | None = None,
        http_session: GuardedSession | None = None,
        events: EventSink | None = None,
    ) -> None:
        settings.check()
        self.settings = settings
        self.log = log or logging.getLogger("jupyter_msal")
        parts = assemble(settings, log=self.log, http=http_session)
        #: The HTTP session msal uses.
        self.http = parts.http
        #: The persisted token cache (a :class:`~jupyter_msal.cache.TokenCacheHandle`).
        self.cache = parts.cache
        #: Whether the OS broker can be used (a ``BrokerStatus``).
        self.broker = parts.broker
        #: The msal application.
        self.msal = parts.msal
        #: The signed-in accounts of this server's cache.
        self.accounts = parts.accounts
        #: The worker pools that keep blocking calls off the event loop.
        self.workers = parts.workers
        #: The JupyterHub service's link (sign-in method ``hub``), on a hub that enabled it.
        self.hub = parts.hub
        #: Where audit events go (None: nowhere).
        self.events = events
        #: The audience names (``storage``, ...) for the configured authority's cloud.
        self.audiences = Audiences(
            settings.oidc_authority or settings.authority, settings.audiences
        )
        #: The sign-in methods offered and the sign-ins running.
        self.flows = configured_sign_ins(
            settings,
            SignInContext(self.msal, self.accounts, self.log),
            broker=self.broker,
            log=self.log,
            events=events,
            hub=self.hub,
            names=self.audiences.resolve,
        )
        self._hub_routing = HubRouting(self.hub, self.accounts, self.log)
        self._lookup = TokenLookup(self.cache.last_changed, lambda: settings.token_refresh_margin)
        self._flights: SingleFlight[_FlightKey, tuple[AccessToken, str]] = SingleFlight()
        #: Sections the server adds to the status document: name -> a function giving it.
        self.status_sections: dict[str, Callable[[], dict[str, Any]]] = {}

    # -- accounts ---------------------------------------------------------------------------

    @property
    def revision(self) -> int:
        """A number that grows whenever the set of signed-in accounts changes."""
        return self.accounts.revision

    def list_accounts(self) -> list[Account]:
        """Signed-in accounts (blocking: reads the cache file when another process changed it,
        asks the hub service about the hub login at most every 30 s)."""
        return self._hub_routing.with_hub_account(self.accounts.list())

    def sign_out(self, account: str | None = None, *, all_accounts: bool = False) -> list[Account]:
        """Remove one account (by username or home_account_id), or all; returns those removed.

        The hub login's account is not removed: it belongs to the JupyterHub login.
        """
        if account is not None:
            check_account_selector(account)
            self._hub_routing.check_sign_out(account)
        removed = self.accounts.remove(self.msal, account, all_accounts=all_accounts)
        if removed:
            self._lookup.clear()
        if self.events is not None:
            signed_out(self.events, removed)
        return removed

    # -- tokens -----------------------------------------------------------------------------

    def resolve_scopes(self, scopes: Sequence[str] | str | None) -> tuple[str, ...]:
        """Validated, normalized scopes: defaults applied, audience names resolved, policy
        enforced."""
        return resolve_scopes(
            scopes,
            default_scopes=self.settings.default_scopes,
            allowed_scopes=self.settings.allowed_scopes,
            names=self.audiences.resolve,
        )

    def _flight_key(
        self,
        scopes: Sequence[str] | str | None,
        account: str | None,
        claims: str | None,
        force_refresh: bool,
        tenant: str | None = None,
    ) -> _FlightKey:
        if account is not None:
            check_account_selector(account)
        if claims is not None:
            check_claims(claims)
        tenant = self.check_tenant(tenant)
        selector, resolved, tenant_key = TokenLookup.key(
            account, self.resolve_scopes(scopes), tenant
        )
        return (selector, resolved, claims or "", bool(force_refresh), tenant_key)

    def check_tenant(self, tenant: str | None) -> str | None:
        """The tenant a request names, checked and in lower case; None for the configured
        authority's own. Raises ``BadRequest`` for what is no tenant and
        :class:`~jupyter_msal.errors.TenantNotAllowed` when ``allowed_tenants`` refuses it."""
        if tenant is None:
            return None
        tenant = self.msal.own_tenant(check_tenant(tenant))
        if tenant is not None:
            check_tenant_policy(tenant, self.settings.allowed_tenants)
        return tenant

    def acquire_token(
        self,
        scopes: Sequence[str] | str | None = None,
        account: str | None = None,
        force_refresh: bool = False,
        claims: str | None = None,
        *,
        client: str = IN_PROCESS,
        tenant: str | None = None,
    ) -> AccessToken:
        """A valid access token, from the lookup, msal's cache, or one refresh (blocking).

        Never signs in interactively: raises :class:`SignInRequired` when that is needed.
        ``client`` is who asked (a :data:`~jupyter_msal.metrics.CLIENT_KINDS` value), for
        the metrics and audit events. ``tenant`` (a tenant id or domain name; None: the
        account's own, as configured) is the tenant the token is for.
        """
        key, hit = self._begin(scopes, account, force_refresh, claims, client, tenant)
        if hit is not None:
            return hit
        with self._reporting(client, scopes):
            token, outcome = self._flights.run(key, lambda: self._acquire(key, account))
        return self._served(client, token, outcome)

    async def acquire_token_async(
        self,
        scopes: Sequence[str] | str | None = None,
        account: str | None = None,
        force_refresh: bool = False,
        claims: str | None = None,
        *,
        client: str = IN_PROCESS,
        tenant: str | None = None,
    ) -> AccessToken:
        """:meth:`acquire_token` for the event loop: hits answer at once, misses use threads."""
        key, hit = self._begin(scopes, account, force_refresh, claims, client, tenant)
        if hit is not None:
            return hit
        with self._reporting(client, scopes):
            token, outcome = await self._flights.run_async(
                key, lambda: self._acquire(key, account), self.workers.idp
            )
        return self._served(client, token, outcome)

    def _begin(
        self,
        scopes: Sequence[str] | str | None,
        account: str | None,
        force_refresh: bool,
        claims: str | None,
        client: str,
        tenant: str | None = None,
    ) -> tuple[_FlightKey, AccessToken | None]:
        """What both token paths do before the flight: check the request, then try the lookup
        (the hot path: one lock-free count, an event if connected). Returns the flight's key
        and the token found, if any."""
        try:
            key = self._flight_key(scopes, account, claims, force_refresh, tenant)
            if key[2] or key[3]:  # claims or force_refresh: always ask the identity provider
                return key, None
            hit = self._lookup.get((key[0], key[1], key[4]))
            if hit is None:
                return key, None
            next(LOOKUP_HITS.get(client) or TOKEN_REQUESTS.bind(client, "lookup"))
            return key, hit if self.events is None else self._served(client, hit, "lookup")
        except Exception as err:  # as _reporting does, without its cost on the hot path
            self._failed(client, scopes, err)
            raise

    @contextmanager
    def _reporting(self, client: str, scopes: Sequence[str] | str | None) -> Iterator[None]:
        """Count a failure inside (and report a refusal by policy), then let it go on."""
        try:
            yield
        except Exception as err:
            self._failed(client, scopes, err)
            raise

    def _served(self, client: str, token: AccessToken, outcome: str) -> AccessToken:
        """Report a token handed to ``client`` (counted already for lookups); returns it."""
        if outcome != "lookup":
            token_request(client, outcome)
        if self.events is not None:
            token_issued(self.events, token.scopes, token.account, client, outcome)
        return token

    def _failed(self, client: str, scopes: Sequence[str] | str | None, err: Exception) -> None:
        """Count a failed token request by its error code; report refusals by policy."""
        token_request(client, str(getattr(err, "code", "internal_error")))
        if self.events is not None and isinstance(err, Forbidden):
            policy_refused(self.events, scopes, client, err)

    def _acquire(self, key: _FlightKey, account: str | None) -> tuple[AccessToken, str]:
        """The token and where it came from: ``cache`` (msal's, no token request sent),
        ``refreshed`` (the identity provider's token endpoint answered) or ``hub`` (the
        JupyterHub service gave it from the user's hub login)."""
        _, scopes, claims, force, tenant = key
        token = self._hub_routing.token(scopes, account, force, claims or None, tenant or None)
        outcome = "hub"
        if token is None:
            with self.http.recording() as record:
                token = self._acquire_blocking(
                    scopes, account, force, claims or None, tenant or None
                )
            refreshed = any(answer.url.endswith("/token") for answer in record.answers)
            outcome = "refreshed" if refreshed else "cache"
        if not claims:  # tokens answering a claims challenge are not reused
            self._lookup.put((key[0], scopes, tenant), token)
        return token, outcome

    def _acquire_blocking(
        self,
        scopes: tuple[str, ...],
        account: str | None,
        force: bool,
        claims: str | None,
        tenant: str | None = None,
    ) -> AccessToken:
        """A token from msal: its cache first (through our own search of it), then one silent
        request; for a service principal, the client-credentials grant. ``tenant`` (checked;
        None: the configured authority's) picks the msal application."""
        if self.settings.service_principal:
            if account:
                raise BadRequest("Service principal mode has no user accounts: omit account.")
            app = self.msal.app_for(tenant)
            result = self.msal.request(
                lambda: app.acquire_token_for_client(list(scopes), claims_challenge=claims),
                scopes=scopes,
            )
            return _token_from(result, scopes, None)
        raw = self.accounts.pick(account, scopes)  # nobody signed in: no request at all
        owner = self.accounts.to_account(raw)
        if tenant == owner.tenant_id.lower() and self.msal.configured_tenant in MULTI_TENANT_NAMES:
            tenant = None  # the account's own tenant: what the configured authority gives
        app = self.msal.app_for(tenant)  # its authority's metadata comes from the cache
        if not force and not claims:
            cached = find_resource_token(
                self.cache.cache,
                raw,
                scopes,
                client_id=self.settings.client_id,
                margin=self.settings.token_refresh_margin,
                allowed_scopes=self.settings.allowed_scopes,
                realm=self.msal.realm(tenant),
            )
            if cached:
                return AccessToken(cached[0], cached[1], scopes, owner)
        try:
            result = self.msal.request(
                lambda: app.acquire_token_silent_with_error(
                    list(scopes), raw, force_refresh=force, claims_challenge=claims
                ),
                scopes=scopes,
            )
        except SignInRequired as err:
            raise err if tenant is None else tenant_refused(err, tenant, owner.username) from None
        if not result:
            raise SignInRequired(
                f"Sign in again: no refresh token for {owner.username} can get this token.",
                scopes=scopes,
                claims=claims,
                tenant=tenant,
            )
        return _token_from(result, scopes, owner)

    def close(self) -> None:
        """Cancel pending sign-ins and stop the worker threads."""
        self.flows.close()
        self.workers.close()
        self.http.close()
        if self.hub is not None:
            self.hub.close()


def _token_from(
    result: dict[str, Any], scopes: tuple[str, ...], owner: Account | None
) -> AccessToken:
    """The :class:`AccessToken` in msal's ``result`` for ``scopes`` and ``owner``."""
    if "access_token" not in result:
        raise IdentityProviderError("The identity provider answered without an access token.")
    expires_in = int(result.get("expires_in") or 0)
    return AccessToken(
        token=result["access_token"],
        expires_on=int(time.time()) + expires_in,
        scopes=scopes,
        account=owner,
        token_type=str(result.get("token_type") or "Bearer"),
    )
