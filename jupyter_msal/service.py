"""TokenService: the one place that talks to msal.

It owns one msal application per configuration, the user's persisted cache, the sign-in
flows and a small lookup of issued tokens in front of msal, and turns every msal error dict
into a typed exception (via :func:`jupyter_msal.errors.error_from_msal_result`).

Everything here is synchronous and thread-safe; the server calls the blocking parts from a
thread pool. Concurrent requests for the same (account, scopes, claims) share one round trip
to the identity provider ("single flight"), whether they come from threads or coroutines.
No tornado and no IPython here.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from . import __version__
from .broker import BrokerStatus, detect_broker
from .cache import open_token_cache
from .config import JupyterMsal
from .errors import (
    BadRequest,
    IdentityProviderError,
    IdentityProviderUnreachable,
    JupyterMsalError,
    NotFound,
    ScopeNotAllowed,
    SignInRequired,
    error_from_msal_result,
)
from .flows import SignInFlows
from .http import GuardedSession
from .models import AccessToken, Account, normalize_scopes
from .redact import install_redaction

if TYPE_CHECKING:
    import msal

__all__ = ["MAX_SCOPES", "OIDC_SCOPES", "TokenService"]

T = TypeVar("T")
#: Scopes msal adds to every user sign-in; always allowed, never requested explicitly.
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
MAX_SCOPES = 50
MAX_SCOPE_LENGTH = 512
_TokenKey = tuple[str, tuple[str, ...], str, bool]


class TokenService:
    """Access tokens for the configured identity: silent first, single flight, typed errors.

    ``settings`` is a :class:`~jupyter_msal.config.JupyterMsal`. ``http_session`` replaces the
    HTTP client msal uses (tests observe requests through it).
    """

    def __init__(
        self,
        settings: JupyterMsal,
        *,
        log: logging.Logger | None = None,
        http_session: GuardedSession | None = None,
    ) -> None:
        settings.check()
        self.settings = settings
        self.log = log or logging.getLogger("jupyter_msal")
        install_redaction()
        region = settings.azure_region
        self.http = http_session or GuardedSession(
            verify=settings.ca_bundle or True,
            timeout=settings.http_timeout,
            allowed_hosts=settings.allowed_hosts,
            block_imds=bool(region and region != "auto"),
            log=logging.getLogger("jupyter_msal.http"),
        )
        self._cache = open_token_cache(
            settings.cache_path,
            encryption=settings.cache_encryption,
            key=settings.cache_key,
            log=self.log,
        )
        self.broker: BrokerStatus = detect_broker(settings.broker)
        self._app: msal.ClientApplication | None = None
        self._app_lock = threading.Lock()
        self._tokens: dict[_TokenKey, AccessToken] = {}
        self._tokens_stamp: float | None = None
        self._inflight: dict[_TokenKey, Future[AccessToken]] = {}
        self._inflight_lock = threading.Lock()
        # Calls that may wait on the identity provider, and reads of the cache file, get pools
        # of their own: however many requests hang on the IdP, listing accounts still answers.
        self._executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="jupyter-msal-idp")
        self._cache_executor = ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="jupyter-msal-cache"
        )
        self._revision = 0
        self._known_accounts: frozenset[str] | None = None
        self._accounts_lock = threading.Lock()
        self.flows = SignInFlows(self, max_pending=settings.max_pending_sign_ins, log=self.log)
        if not settings.service_principal and region:
            self.log.warning("jupyter-msal: %s", self.region_note())

    # -- plumbing -------------------------------------------------------------------------------

    async def run_blocking(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn``, which may talk to the identity provider, in a worker thread; await it."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    async def read_cache(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn``, which only reads the cache file (never the network), in a worker thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._cache_executor, lambda: fn(*args, **kwargs))

    @property
    def cache_info(self) -> dict[str, Any]:
        """Where the cache is and whether it is encrypted (non-secret), with live warnings."""
        return self._cache.info.to_dict()

    @property
    def app(self) -> msal.ClientApplication:
        """The msal application, built on first use (blocking: call it from a worker thread)."""
        with self._app_lock:
            if self._app is None:
                self._app = self.call_msal(self._build_app)
            return self._app

    def _build_app(self) -> msal.ClientApplication:
        import msal

        s = self.settings
        common: dict[str, Any] = {
            "token_cache": self._cache.cache,
            "http_client": self.http,
            "timeout": s.http_timeout,
            "app_name": "jupyter-msal",
            "app_version": __version__,
        }
        if s.oidc_authority:
            common["oidc_authority"] = s.oidc_authority
        else:
            common["authority"] = s.authority
            common["instance_discovery"] = s.instance_discovery
        if s.service_principal:
            region: Any = s.azure_region
            if region == "auto":
                region = msal.ConfidentialClientApplication.ATTEMPT_REGION_DISCOVERY
            return msal.ConfidentialClientApplication(
                s.client_id,
                client_credential=self._client_credential(),
                azure_region=region,
                **common,
            )
        if self.broker.available:
            common.update(
                enable_broker_on_windows=True,
                enable_broker_on_mac=True,
                enable_broker_on_linux=True,
            )
        return msal.PublicClientApplication(s.client_id, **common)

    def _client_credential(self) -> Any:
        s = self.settings
        if s.client_secret:
            return s.client_secret
        from .certificates import load_client_certificate

        return load_client_certificate(s.client_certificate_path or "")

    def call_msal(
        self,
        fn: Callable[..., Any],
        *args: Any,
        error_scopes: Sequence[str] = (),
        during_sign_in: bool = False,
        keep_waiting: frozenset[str] = frozenset(),
        **kwargs: Any,
    ) -> Any:
        """Call msal (blocking); turn transport failures and error dicts into typed exceptions.

        ``error_scopes`` and ``during_sign_in`` shape the error; error dicts whose ``error`` is
        in ``keep_waiting`` are returned instead of raised; every other argument goes to ``fn``.
        """
        import requests

        try:
            result = fn(*args, **kwargs)
        except JupyterMsalError:
            raise
        except requests.Timeout as err:
            raise IdentityProviderUnreachable(
                f"The identity provider did not answer within {self.settings.http_timeout:g} s.",
                hint="Check the network, or raise JupyterMsal.http_timeout.",
            ) from err
        except requests.RequestException as err:
            raise IdentityProviderUnreachable(
                f"Cannot reach the identity provider: {_first_line(err)}",
                hint="Check the network, proxies, JupyterMsal.authority and JupyterMsal.ca_bundle.",
            ) from err
        except OSError as err:  # e.g. the CA bundle file vanished
            raise IdentityProviderUnreachable(
                f"Cannot reach the identity provider: {_first_line(err)}",
                hint="Check JupyterMsal.ca_bundle and the network.",
            ) from err
        except ValueError as err:
            # msal raises ValueError for non-JSON answers and for authorities it cannot use.
            raise IdentityProviderError(
                f"The identity provider gave an answer msal cannot use: {_first_line(err)}",
                hint="Check JupyterMsal.authority; the identity provider may be failing.",
            ) from err
        except Exception as err:
            if type(err).__module__.startswith("msal"):  # MsalServiceError on 5xx
                raise IdentityProviderError(
                    f"The identity provider failed: {_first_line(err)}",
                    hint="Try again in a minute; msal waits out Retry-After before asking again.",
                ) from err
            raise
        if isinstance(result, dict) and "error" in result and result["error"] not in keep_waiting:
            raise error_from_msal_result(result, scopes=error_scopes, during_sign_in=during_sign_in)
        return result

    # -- scopes and policy ------------------------------------------------------------------

    def resolve_scopes(self, scopes: Sequence[str] | str | None) -> tuple[str, ...]:
        """Validated, normalized scopes: defaults applied, policy enforced."""
        if scopes is not None and not isinstance(scopes, (str, list, tuple)):
            raise BadRequest("scopes must be a list of strings")
        if isinstance(scopes, (list, tuple)) and not all(isinstance(s, str) for s in scopes):
            raise BadRequest("scopes must be a list of strings")
        normalized = normalize_scopes(scopes) or normalize_scopes(self.settings.default_scopes)
        if not normalized:
            raise BadRequest(
                "Name at least one scope, e.g. https://management.azure.com/.default "
                "(or set JupyterMsal.default_scopes)."
            )
        if len(normalized) > MAX_SCOPES:
            raise BadRequest(f"At most {MAX_SCOPES} scopes per request, not {len(normalized)}.")
        for scope in normalized:
            if len(scope) > MAX_SCOPE_LENGTH or any(c.isspace() or ord(c) < 32 for c in scope):
                raise BadRequest(f"Invalid scope {scope[:60]!r}: too long or contains whitespace.")
        self.check_policy(normalized)
        return tuple(s for s in normalized if s not in OIDC_SCOPES) or normalized

    def check_policy(self, scopes: Sequence[str]) -> None:
        """Raise :class:`ScopeNotAllowed` unless every scope matches ``allowed_scopes``."""
        patterns = self.settings.allowed_scopes
        if not patterns:
            return
        for scope in scopes:
            if scope in OIDC_SCOPES:
                continue
            if not any(fnmatch.fnmatchcase(scope, p) for p in patterns):
                raise ScopeNotAllowed(
                    f"The scope {scope!r} is not allowed by the admin policy "
                    f"JupyterMsal.allowed_scopes ({', '.join(patterns)}).",
                    hint="Ask the admin of this Jupyter server to allow it.",
                    policy="JupyterMsal.allowed_scopes",
                )

    # -- accounts ---------------------------------------------------------------------------

    def _msal_accounts(self) -> list[dict[str, Any]]:
        """Account entries that own a refresh token of our client, read from the cache only.

        Unlike ``app.get_accounts()`` this needs no msal application (whose construction may
        talk to the network), so listing accounts answers even while the identity provider hangs.
        """
        if self.settings.service_principal:
            return []
        from msal import TokenCache

        kind = TokenCache.CredentialType
        cache = self._cache.cache
        owners = {
            rt.get("home_account_id")
            for rt in cache.find(kind.REFRESH_TOKEN, query={"client_id": self.settings.client_id})
        }
        accounts: dict[str, dict[str, Any]] = {}
        for entry in cache.find(kind.ACCOUNT):
            home = entry.get("home_account_id")
            if home in owners and home not in accounts:
                accounts[home] = entry
        return sorted(accounts.values(), key=lambda a: str(a.get("username", "")).lower())

    def list_accounts(self) -> list[Account]:
        """Signed-in accounts (blocking: reads the cache file when another process changed it)."""
        accounts = [self._account(a) for a in self._msal_accounts()]
        self._note_accounts(accounts)
        return accounts

    def _account(self, raw: dict[str, Any]) -> Account:
        return Account.from_msal(
            raw, authority=self.settings.oidc_authority or self.settings.authority
        )

    def _note_accounts(self, accounts: Sequence[Account]) -> None:
        ids = frozenset(a.home_account_id for a in accounts)
        with self._accounts_lock:
            if ids != self._known_accounts:
                if self._known_accounts is not None:
                    self._revision += 1
                self._known_accounts = ids

    @property
    def revision(self) -> int:
        """A number that grows whenever the set of signed-in accounts changes."""
        return self._revision

    def _pick_account(self, selector: str | None, scopes: Sequence[str]) -> dict[str, Any]:
        raw_accounts = self._msal_accounts()
        self._note_accounts([self._account(a) for a in raw_accounts])
        if selector:
            for raw in raw_accounts:
                if self._account(raw).matches(selector):
                    return raw
            raise SignInRequired(
                f"{selector} is not signed in.",
                scopes=scopes,
                hint="Sign in as that account first (%msal_login or `jupyter msal login`).",
            )
        if not raw_accounts:
            raise SignInRequired(scopes=scopes)
        if len(raw_accounts) > 1:
            names = ", ".join(str(a.get("username")) for a in raw_accounts)
            raise BadRequest(f"Several accounts are signed in ({names}): name one with account=.")
        return raw_accounts[0]

    def sign_out(self, account: str | None = None, *, all_accounts: bool = False) -> list[Account]:
        """Remove one account (by username or home_account_id), or all; returns those removed.

        The account's refresh token is gone from the cache file when this returns.
        """
        if account is None and not all_accounts:
            raise BadRequest("Name the account to sign out, or sign out of all accounts.")
        raw_accounts = self._msal_accounts()
        targets = [
            raw for raw in raw_accounts if all_accounts or self._account(raw).matches(account or "")
        ]
        if account and not targets:
            raise NotFound(f"No signed-in account matches {account!r}.")
        for raw in targets:
            self.call_msal(self.app.remove_account, raw)
        removed = [self._account(raw) for raw in targets]
        if removed:
            self._tokens.clear()
        self.list_accounts()
        return removed

    # -- tokens -----------------------------------------------------------------------------

    def _token_key(
        self, scopes: tuple[str, ...], account: str | None, claims: str | None, force: bool
    ) -> _TokenKey:
        return ((account or "").strip().lower(), scopes, claims or "", force)

    def _cache_stamp(self) -> float | None:
        try:
            return self._cache.cache._persistence.time_last_modified()
        except OSError:  # no file yet
            return None

    def _cached(self, key: _TokenKey) -> AccessToken | None:
        token = self._tokens.get(key)
        if token is None:
            return None
        stamp = self._cache_stamp()
        if stamp != self._tokens_stamp:  # another process changed the cache (e.g. sign-out)
            self._tokens.clear()
            return None
        if token.expires_on - time.time() <= self.settings.token_refresh_margin:
            self._tokens.pop(key, None)
            return None
        return token

    def _remember(self, key: _TokenKey, token: AccessToken) -> None:
        if key[2]:  # tokens answering a claims challenge are not reused
            return
        stamp = self._cache_stamp()
        if stamp != self._tokens_stamp:
            self._tokens.clear()
            self._tokens_stamp = stamp
        self._tokens[(key[0], key[1], "", False)] = token

    def _join_flight(self, key: _TokenKey) -> tuple[Future[AccessToken], bool]:
        with self._inflight_lock:
            future = self._inflight.get(key)
            if future is not None:
                return future, False
            future = Future()
            self._inflight[key] = future
            return future, True

    def _fly(self, key: _TokenKey, future: Future[AccessToken], account: str | None) -> None:
        try:
            token = self._acquire_blocking(key[1], account, key[3], key[2] or None)
            self._remember(key, token)
        except BaseException as err:
            with self._inflight_lock:
                self._inflight.pop(key, None)
            future.set_exception(err)
        else:
            with self._inflight_lock:
                self._inflight.pop(key, None)
            future.set_result(token)

    def _prepare(
        self,
        scopes: Sequence[str] | str | None,
        account: str | None,
        claims: str | None,
        force_refresh: bool,
    ) -> _TokenKey:
        if account is not None and not isinstance(account, str):
            raise BadRequest("account must be a string (a username or home_account_id)")
        if claims is not None and not isinstance(claims, str):
            raise BadRequest("claims must be a JSON string")
        return self._token_key(self.resolve_scopes(scopes), account, claims, bool(force_refresh))

    def acquire_token(
        self,
        scopes: Sequence[str] | str | None = None,
        account: str | None = None,
        force_refresh: bool = False,
        claims: str | None = None,
    ) -> AccessToken:
        """A valid access token, from the lookup, msal's cache, or one refresh (blocking).

        Never signs in interactively: raises :class:`SignInRequired` when that is needed.
        """
        key = self._prepare(scopes, account, claims, force_refresh)
        if not force_refresh and not claims and (hit := self._cached(key)):
            return hit
        future, leader = self._join_flight(key)
        if leader:
            self._fly(key, future, account)
        return future.result()

    async def acquire_token_async(
        self,
        scopes: Sequence[str] | str | None = None,
        account: str | None = None,
        force_refresh: bool = False,
        claims: str | None = None,
    ) -> AccessToken:
        """:meth:`acquire_token` for the event loop: hits answer at once, misses use threads."""
        key = self._prepare(scopes, account, claims, force_refresh)
        if not force_refresh and not claims and (hit := self._cached(key)):
            return hit
        future, leader = self._join_flight(key)
        if leader:
            self._executor.submit(self._fly, key, future, account)
        return await asyncio.wrap_future(future)

    def _acquire_blocking(
        self, scopes: tuple[str, ...], account: str | None, force: bool, claims: str | None
    ) -> AccessToken:
        app = self.app
        if self.settings.service_principal:
            if account:
                raise BadRequest("Service principal mode has no user accounts: omit account.")
            result = self.call_msal(
                app.acquire_token_for_client,
                list(scopes),
                claims_challenge=claims,
                error_scopes=scopes,
            )
            return self._token_from(result, scopes, None)
        raw = self._pick_account(account, scopes)
        owner = self._account(raw)
        if not force and not claims and (cached := self._find_resource_token(raw, scopes)):
            return AccessToken(cached[0], cached[1], scopes, owner)
        result = self.call_msal(
            app.acquire_token_silent_with_error,
            list(scopes),
            raw,
            force_refresh=force,
            claims_challenge=claims,
            error_scopes=scopes,
        )
        if not result:
            raise SignInRequired(
                f"Sign in again: no refresh token for {owner.username} can get this token.",
                scopes=scopes,
                claims=claims,
            )
        return self._token_from(result, scopes, owner)

    def _find_resource_token(
        self, raw_account: dict[str, Any], scopes: tuple[str, ...]
    ) -> tuple[str, int] | None:
        """An unexpired cached token for a ``<resource>/.default`` request, if msal has one.

        Entra answers ``.default`` with the resource's granted scopes, and msal keys the cached
        token by those, so msal's own lookup misses it (and would redeem the refresh token)
        after every restart. A token whose scopes all belong to that resource is the one.
        """
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            return None
        resource = scopes[0][: -len(".default")]
        from msal import TokenCache

        query = {
            "home_account_id": raw_account.get("home_account_id"),
            "client_id": self.settings.client_id,
        }
        margin = time.time() + self.settings.token_refresh_margin
        for entry in self._cache.cache.search(TokenCache.CredentialType.ACCESS_TOKEN, query=query):
            targets = [t for t in entry.get("target", "").split() if t not in OIDC_SCOPES]
            if (
                targets
                and all(t.startswith(resource) for t in targets)
                and int(entry.get("expires_on", 0)) > margin
                and entry.get("environment", "").lower()
                == str(raw_account.get("environment", "")).lower()
            ):
                return entry["secret"], int(entry["expires_on"])
        return None

    @staticmethod
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

    # -- status -----------------------------------------------------------------------------

    def region_note(self) -> str:
        """Whether and how ``azure_region`` applies, in words."""
        region = self.settings.azure_region
        if not region:
            return "No region configured: tokens come from the global endpoint."
        if self.settings.service_principal:
            return f"Region {region!r}: app-only tokens use the regional token endpoint."
        return (
            f"JupyterMsal.azure_region={region!r} has no effect: regional endpoints serve only "
            "service-principal (app-only) tokens, and users sign in globally."
        )

    def status(self, accounts: Sequence[Account] | None = None) -> dict[str, Any]:
        """The non-secret state shown by ``GET status`` and ``jupyter msal status``.

        Lists the accounts itself (blocking, cache only) unless ``accounts`` is given.
        """
        s = self.settings
        if accounts is None:
            accounts = self.list_accounts()
        warnings = list(self._cache.warnings)
        if s.azure_region and not s.service_principal:
            warnings.append(self.region_note())
        methods = [] if s.service_principal else ["device_code"]
        if self.broker.available and not s.service_principal:
            methods.append("broker")
        return {
            "version": __version__,
            "mode": "service_principal" if s.service_principal else "user",
            "config": s.public_dict(),
            "cache": self.cache_info,
            "broker": self.broker.to_dict(),
            "region": {
                "configured": s.azure_region,
                "applies": bool(s.azure_region and s.service_principal),
                "note": self.region_note(),
            },
            "sign_in_methods": methods,
            "accounts": [a.to_dict() for a in accounts],
            "revision": self.revision,
            "warnings": warnings,
        }

    def close(self) -> None:
        """Cancel pending sign-ins and stop the worker threads."""
        self.flows.close()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._cache_executor.shutdown(wait=False, cancel_futures=True)
        self.http.close()


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:300]
