"""TokenService: access tokens for the configured identity, silent first, single flight.

It assembles the parts of one configuration (the persisted cache, the msal application, the
accounts, the sign-in methods, the worker pools) and acquires tokens with them: from the
lookup in front of msal, from msal's cache, or with one refresh shared by every concurrent
request for the same token. It never signs in interactively; it raises
:class:`~jupyter_msal.errors.SignInRequired` and the sign-in flows (``service.flows``) do that.

Everything is synchronous and thread-safe, except the ``*_async`` method for the event loop.
No tornado and no IPython here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from .audit import EventSink, policy_refused, signed_out, token_issued
from .cache import open_token_cache
from .config.settings import JupyterMsal
from .errors import (
    BadRequest,
    Forbidden,
    HubLoginUnusable,
    IdentityProviderError,
    SignInRequired,
)
from .flows import (
    AuthCodeSignIn,
    BrokerSignIn,
    DeviceCodeSignIn,
    HubSignIn,
    SignInContext,
    SignInRegistry,
)
from .identity.accounts import AccountStore
from .identity.broker_detect import detect_broker
from .identity.hub_link import HubLink
from .identity.lookup import TokenLookup, find_resource_token
from .identity.msal_app import MsalApp, region_note
from .identity.single_flight import SingleFlight
from .identity.transport import GuardedSession
from .identity.workers import Workers
from .metrics import LOOKUP_HITS, TOKEN_REQUESTS, token_request
from .models import AccessToken, Account, SignInMethod
from .scopes import check_account_selector, check_claims, resolve_scopes

__all__ = ["TokenService"]

#: (account selector in lower case, scopes, claims, force_refresh)
_FlightKey = tuple[str, tuple[str, ...], str, bool]
#: Who asked for a token, when nobody says (see :data:`~jupyter_msal.metrics.CLIENT_KINDS`).
IN_PROCESS = "in_process"


def _http_session(settings: JupyterMsal) -> GuardedSession:
    region = settings.azure_region
    return GuardedSession(
        verify=settings.ca_bundle or True,
        timeout=settings.http_timeout,
        allowed_hosts=settings.allowed_hosts,
        block_imds=bool(region and region != "auto"),
        log=logging.getLogger("jupyter_msal.http"),
    )


def _sign_in_flows(
    settings: JupyterMsal,
    context: SignInContext,
    broker: Any,
    log: logging.Logger,
    events: EventSink | None,
    hub: HubLink | None,
) -> SignInRegistry:
    strategies: list[Any] = []
    if not settings.service_principal:
        # With the hub service and a redirect URI (the hub's one callback), the hub routes
        # each answer back here by the state this server registers with it.
        routed = hub is not None and settings.redirect_uri is not None
        strategies = [
            DeviceCodeSignIn(context),
            AuthCodeSignIn(
                context,
                redirect_uri=settings.redirect_uri,
                register_state=hub.register_state if hub is not None and routed else None,
            ),
            BrokerSignIn(context, broker),
        ]
        if hub is not None:
            strategies.append(HubSignIn(hub))
    return SignInRegistry(
        strategies,
        default_method=SignInMethod.parse(settings.sign_in_method),
        broker_required=settings.broker == "always",
        explain_fallback=settings.broker != "never",
        resolve_scopes=lambda scopes: resolve_scopes(
            scopes, allowed_scopes=settings.allowed_scopes
        ),
        max_pending=settings.max_pending_sign_ins,
        log=log,
        auto_methods=[SignInMethod.parse(m) for m in settings.auto_sign_in_methods],
        events=events,
    )


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
        self.http = http_session or _http_session(settings)
        #: Where audit events go (None: nowhere).
        self.events = events
        #: The persisted token cache (a :class:`~jupyter_msal.cache.TokenCacheHandle`).
        self.cache = open_token_cache(
            settings.cache_path,
            encryption=settings.cache_encryption,
            key=settings.cache_key,
            log=self.log,
            lock_timeout=settings.cache_lock_timeout,
        )
        self.broker = detect_broker(settings.broker)
        self.msal = MsalApp(
            settings,
            token_cache=self.cache.cache,
            http=self.http,
            broker=self.broker.available and not settings.service_principal,
            http_cache=self.cache.http_cache,
        )
        self.accounts = AccountStore(settings, self.cache.cache)
        self.workers = Workers()
        #: The JupyterHub service's link (sign-in method ``hub``), on a hub that enabled it.
        self.hub = (
            None
            if settings.service_principal
            else HubLink.from_environment(
                settings.hub_service_url,
                timeout=settings.http_timeout,
                verify=settings.ca_bundle or True,
                log=self.log,
            )
        )
        self.flows = _sign_in_flows(
            settings,
            SignInContext(self.msal, self.accounts, self.log),
            self.broker,
            self.log,
            events,
            self.hub,
        )
        self._lookup = TokenLookup(self.cache.last_changed, lambda: settings.token_refresh_margin)
        self._flights: SingleFlight[_FlightKey, tuple[AccessToken, str]] = SingleFlight()
        if not settings.service_principal and settings.azure_region:
            self.log.warning("jupyter-msal: %s", region_note(settings))

    # -- accounts ---------------------------------------------------------------------------

    @property
    def revision(self) -> int:
        """A number that grows whenever the set of signed-in accounts changes."""
        return self.accounts.revision

    def list_accounts(self) -> list[Account]:
        """Signed-in accounts (blocking: reads the cache file when another process changed it,
        asks the hub service about the hub login at most every 30 s)."""
        local = self.accounts.list()
        hub = self.hub.account() if self.hub is not None else None
        if hub is None or any(a.home_account_id == hub.home_account_id for a in local):
            return local
        return [hub, *local]

    def _hub_account(self, selector: str | None) -> Account | None:
        """The hub login's account when a request for ``selector`` is served by the hub."""
        if self.hub is None:
            return None
        hub = self.hub.account()
        if hub is None or selector is None:
            return hub
        wanted = selector.lower()
        return hub if wanted in (hub.username.lower(), hub.home_account_id.lower()) else None

    def sign_out(self, account: str | None = None, *, all_accounts: bool = False) -> list[Account]:
        """Remove one account (by username or home_account_id), or all; returns those removed.

        The hub login's account is not removed: it belongs to the JupyterHub login.
        """
        if account is not None:
            check_account_selector(account)
            hub = self._hub_account(account)
            if hub is not None and self.accounts.find(hub.username) is None:
                raise BadRequest(
                    f"{hub.username} is signed in through your JupyterHub login: log out of "
                    "JupyterHub to end it; this server cannot sign it out."
                )
        removed = self.accounts.remove(self.msal, account, all_accounts=all_accounts)
        if removed:
            self._lookup.clear()
        if self.events is not None:
            signed_out(self.events, removed)
        return removed

    # -- tokens -----------------------------------------------------------------------------

    def resolve_scopes(self, scopes: Sequence[str] | str | None) -> tuple[str, ...]:
        """Validated, normalized scopes: defaults applied, policy enforced."""
        return resolve_scopes(
            scopes,
            default_scopes=self.settings.default_scopes,
            allowed_scopes=self.settings.allowed_scopes,
        )

    def _flight_key(
        self,
        scopes: Sequence[str] | str | None,
        account: str | None,
        claims: str | None,
        force_refresh: bool,
    ) -> _FlightKey:
        if account is not None:
            check_account_selector(account)
        if claims is not None:
            check_claims(claims)
        selector, resolved = TokenLookup.key(account, self.resolve_scopes(scopes))
        return (selector, resolved, claims or "", bool(force_refresh))

    def _hit(self, key: _FlightKey) -> AccessToken | None:
        if key[2] or key[3]:  # claims or force_refresh: always ask the identity provider
            return None
        return self._lookup.get((key[0], key[1]))

    def acquire_token(
        self,
        scopes: Sequence[str] | str | None = None,
        account: str | None = None,
        force_refresh: bool = False,
        claims: str | None = None,
        *,
        client: str = IN_PROCESS,
    ) -> AccessToken:
        """A valid access token, from the lookup, msal's cache, or one refresh (blocking).

        Never signs in interactively: raises :class:`SignInRequired` when that is needed.
        ``client`` is who asked (a :data:`~jupyter_msal.metrics.CLIENT_KINDS` value), for
        the metrics and audit events.
        """
        try:
            key = self._flight_key(scopes, account, claims, force_refresh)
            hit = self._hit(key)
            if hit is not None:  # the hot path: one lock-free count, an event if connected
                next(LOOKUP_HITS.get(client) or TOKEN_REQUESTS.bind(client, "lookup"))
                return hit if self.events is None else self._served(client, hit, "lookup")
            token, outcome = self._flights.run(key, lambda: self._acquire(key, account))
        except Exception as err:
            self._failed(client, scopes, err)
            raise
        return self._served(client, token, outcome)

    async def acquire_token_async(
        self,
        scopes: Sequence[str] | str | None = None,
        account: str | None = None,
        force_refresh: bool = False,
        claims: str | None = None,
        *,
        client: str = IN_PROCESS,
    ) -> AccessToken:
        """:meth:`acquire_token` for the event loop: hits answer at once, misses use threads."""
        try:
            key = self._flight_key(scopes, account, claims, force_refresh)
            hit = self._hit(key)
            if hit is not None:  # the hot path: one lock-free count, an event if connected
                next(LOOKUP_HITS.get(client) or TOKEN_REQUESTS.bind(client, "lookup"))
                return hit if self.events is None else self._served(client, hit, "lookup")
            token, outcome = await self._flights.run_async(
                key, lambda: self._acquire(key, account), self.workers.idp
            )
        except Exception as err:
            self._failed(client, scopes, err)
            raise
        return self._served(client, token, outcome)

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
        _, scopes, claims, force = key
        token = self._from_hub(scopes, account, force, claims or None)
        outcome = "hub"
        if token is None:
            with self.http.recording() as record:
                token = self._acquire_blocking(scopes, account, force, claims or None)
            refreshed = any(answer.url.endswith("/token") for answer in record.answers)
            outcome = "refreshed" if refreshed else "cache"
        if not claims:  # tokens answering a claims challenge are not reused
            self._lookup.put((key[0], scopes), token)
        return token, outcome

    def _from_hub(
        self, scopes: tuple[str, ...], account: str | None, force: bool, claims: str | None
    ) -> AccessToken | None:
        """A token from the hub login, or None when this server's own accounts serve the
        request (no hub, another account named, or the hub login cannot give it while this
        server has accounts of its own)."""
        if self.hub is None or self._hub_account(account) is None:
            return None
        try:
            return self.hub.token(scopes, claims=claims, force_refresh=force)
        except HubLoginUnusable as err:
            if self.accounts.list():
                self.log.info("jupyter-msal: hub login not used (%s); using this server's", err)
                return None
            raise SignInRequired(
                f"Your JupyterHub login cannot get this token: {err.message}",
                scopes=scopes,
                claims=claims,
                hint="Sign in on this server: run %msal_login (or `jupyter msal login`, or the "
                "Sign in button); or log out of JupyterHub and log in again.",
            ) from None

    def _acquire_blocking(
        self, scopes: tuple[str, ...], account: str | None, force: bool, claims: str | None
    ) -> AccessToken:
        if self.settings.service_principal:
            if account:
                raise BadRequest("Service principal mode has no user accounts: omit account.")
            app = self.msal.app
            result = self.msal.request(
                lambda: app.acquire_token_for_client(list(scopes), claims_challenge=claims),
                scopes=scopes,
            )
            return _token_from(result, scopes, None)
        raw = self.accounts.pick(account, scopes)  # nobody signed in: no request at all
        owner = self.accounts.to_account(raw)
        app = self.msal.app  # the configured authority (its metadata comes from the cache)
        if not force and not claims:
            cached = find_resource_token(
                self.cache.cache,
                raw,
                scopes,
                client_id=self.settings.client_id,
                margin=self.settings.token_refresh_margin,
            )
            if cached:
                return AccessToken(cached[0], cached[1], scopes, owner)
        result = self.msal.request(
            lambda: app.acquire_token_silent_with_error(
                list(scopes), raw, force_refresh=force, claims_challenge=claims
            ),
            scopes=scopes,
        )
        if not result:
            raise SignInRequired(
                f"Sign in again: no refresh token for {owner.username} can get this token.",
                scopes=scopes,
                claims=claims,
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
