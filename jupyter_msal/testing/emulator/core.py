"""The Entra ID emulator's shared state and what tests observe of it, without any networking.

:class:`EmulatorCore` holds every piece of mutable state behind one lock (device codes,
authorization codes, refresh tokens, users, faults, counters and the request log) and the
read-only views tests use. Each grant adds its behaviour in a module of its own
(``device_code``, ``refresh``, ``auth_code``,
``clients``); faults live in ``faults``;
:class:`~jupyter_msal.testing.emulator.EntraEmulator` adds the HTTPS server and the lifecycle.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from .records import (
    COUNT_KEYS,
    FAULT_ENDPOINTS,
    GRANT_COUNT_KEYS,
    AuthCode,
    DeviceCode,
    Fault,
    RefreshGrant,
    ScheduledApproval,
)
from .tokens import (
    DEFAULT_TENANT_ID,
    DEFAULT_USERNAME,
    V1_RESOURCE_HOSTS,
    TokenSigner,
    oid_for,
)

__all__ = ["COUNT_KEYS", "FAULT_ENDPOINTS", "EmulatorCore"]


class EmulatorCore:
    """Thread-safe state of the emulator, its settings and the views tests read."""

    def __init__(
        self,
        *,
        access_token_lifetime: int = 3600,
        default_username: str = DEFAULT_USERNAME,
        default_tenant_id: str = DEFAULT_TENANT_ID,
        device_code_lifetime: int = 900,
        device_code_interval: int = 5,
    ) -> None:
        self._defaults: dict[str, Any] = {
            "access_token_lifetime": access_token_lifetime,
            "default_username": default_username,
            "default_tenant_id": default_tenant_id,
            "device_code_lifetime": device_code_lifetime,
            "device_code_interval": device_code_interval,
        }
        self._lock = threading.RLock()
        self._new_code = threading.Condition(self._lock)
        self._signer = TokenSigner()
        self._scheduled: deque[ScheduledApproval] = deque()
        self._generation = 0
        self._apply_settings(**self._defaults)
        self._clear_state()

    def _apply_settings(
        self,
        *,
        access_token_lifetime: int,
        default_username: str,
        default_tenant_id: str,
        device_code_lifetime: int,
        device_code_interval: int,
    ) -> None:
        """Set every public setting to the given values or its default."""
        #: Lifetime in seconds of access tokens issued from now on (settable at any time).
        self.access_token_lifetime = access_token_lifetime
        #: ``expires_in`` of new device codes, in seconds.
        self.device_code_lifetime = device_code_lifetime
        #: ``interval`` of new device codes; msal waits this many whole seconds between polls.
        #: Values below 1 are sent as 1 (msal would spin without sleeping on 0).
        self.device_code_interval = device_code_interval
        #: Username for approve(), the sign-in pages and the authorize endpoint by default.
        self.default_username = default_username
        #: Home tenant of users created on demand.
        self.default_tenant_id = default_tenant_id
        #: When True, a refresh token works once (reuse answers ``invalid_grant``); Entra ID's
        #: own refresh tokens stay valid after use, which is the default here too.
        self.refresh_token_single_use = False
        #: When set, user-token responses carry ``refresh_in`` (seconds): msal then refreshes
        #: proactively once the token is that old (Entra ID sends it for long-lived tokens).
        self.refresh_in: int | None = None
        #: When True, the ``scope`` of a user-token response for ``R/.default`` lists only the
        #: permissions granted on R (``R/user_impersonation``), not ``R/.default`` itself, as
        #: Entra ID does for many resources. msal files the token under those scopes and so
        #: does not find it again for ``R/.default`` on its own.
        self.expand_default_scope = False
        #: Which access tokens look like Entra ID v1 tokens (``iss https://sts.windows.net/<tid>/``,
        #: ``ver 1.0``, the v1 claim set): ``"auto"`` for first-party resources only (storage,
        #: Key Vault, ARM, ...: see :attr:`v1_resources`), as Entra ID issues them and as
        #: Azurite requires; ``"1.0"`` or ``"2.0"`` for every token.
        self.access_token_version = "auto"
        #: Resource hosts (fnmatch patterns) that get v1 tokens when the version is ``"auto"``.
        self.v1_resources: set[str] = set(V1_RESOURCE_HOSTS)
        #: client_id -> client secret. Listed clients must present that secret (or any client
        #: assertion); other clients may present any credential.
        self.client_secrets: dict[str, str] = {}
        #: When True, the authorize endpoint shows a sign-in page for people (a username and
        #: Sign in / Cancel buttons) instead of signing the default user in at once.
        self.auth_code_sign_in_page = False

    def _clear_state(self) -> None:
        """Forget every code, token, user, fault, policy and count (caller holds no codes)."""
        for waiting in self._scheduled:
            waiting.cancel()
        self._scheduled.clear()
        self._blocked_methods: dict[str, int] = {}
        self._cae_revoked: set[str] = set()
        self._cae_event_at = 0
        self._device_codes: dict[str, DeviceCode] = {}
        self._user_codes: dict[str, str] = {}
        self._auth_codes: dict[str, AuthCode] = {}
        self._refresh_tokens: dict[str, RefreshGrant] = {}
        self._users: dict[str, dict[str, str]] = {}
        self._guests: dict[str, set[str]] = {}
        self._tenant_domains: dict[str, str] = {}
        self._mfa_tenants: set[str] = set()
        self._counts: dict[str, int] = dict.fromkeys(COUNT_KEYS, 0)
        self._requests: list[dict[str, Any]] = []
        self._issued_access: list[str] = []
        self._issued_refresh: list[str] = []
        self._issued_id: list[str] = []
        self._faults: dict[str, list[Fault]] = {}
        self._latency: dict[str, float] = {}
        self._auto_approve: str | None = None

    def reset(self) -> None:
        """Return to the state of a fresh start, keeping the address, the CA and the signing key.

        Every setting goes back to the value the emulator was built with; codes, tokens, users,
        faults, latencies, blocked sign-ins, pending approvals, counts and the request log are
        forgotten, guests and tenants' demands included. Tests that share one running
        emulator call this between tests.
        """
        with self._lock:
            self._generation += 1
            self._apply_settings(**self._defaults)
            self._clear_state()
            self._new_code.notify_all()

    @property
    def generation(self) -> int:
        """How many times :meth:`reset` was called: requests that began before a reset and
        are still waiting out an injected latency end without an answer of substance."""
        return self._generation

    # Subclasses provide the base URL the tokens and documents point to.
    @property
    def url(self) -> str:  # pragma: no cover - overridden
        """Base URL, e.g. ``https://127.0.0.1:PORT``."""
        raise NotImplementedError

    def authority(self, tenant: str = "organizations") -> str:
        """The authority URL for msal: ``{url}/{tenant}`` (a name or a tenant GUID)."""
        return f"{self.url}/{tenant}"

    @property
    def device_login_url(self) -> str:
        """The page a user opens to enter a device code."""
        return f"{self.url}/devicelogin"

    # ------------------------------------------------------------------ users
    def _ensure_user(self, username: str, tenant_id: str | None = None) -> dict[str, str]:
        with self._lock:
            user = self._users.get(username)
            if user is None:
                local = username.split("@", 1)[0].replace(".", " ").strip() or username
                user = {
                    "oid": oid_for(username),
                    "tenant_id": tenant_id or self.default_tenant_id,
                    "name": local.title(),
                }
                self._users[username] = user
            return user

    @property
    def users(self) -> dict[str, dict[str, str]]:
        """Copy of the known users: username -> ``{"oid", "tenant_id", "name"}``."""
        with self._lock:
            return {name: dict(info) for name, info in self._users.items()}

    # -------------------------------------------------------------- observation
    @property
    def counts(self) -> dict[str, int]:
        """Copy of the request counters (requests that arrived, whatever the answer)."""
        with self._lock:
            return dict(self._counts)

    def reset_counts(self) -> None:
        """Zero every counter and empty :attr:`requests`."""
        with self._lock:
            self._counts = dict.fromkeys(COUNT_KEYS, 0)
            self._requests.clear()

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Copy of the request log: ``method``, ``path``, ``grant_type``, ``host``,
        ``client_id``, ``scope``, ``claims`` (bool) and ``status`` (None while the request is
        being answered); never a secret value."""
        with self._lock:
            return [dict(entry) for entry in self._requests]

    @property
    def issued_access_tokens(self) -> list[str]:
        """Every access token issued so far (for leak checks)."""
        with self._lock:
            return list(self._issued_access)

    @property
    def issued_refresh_tokens(self) -> list[str]:
        """Every refresh token issued so far (for leak checks)."""
        with self._lock:
            return list(self._issued_refresh)

    @property
    def issued_id_tokens(self) -> list[str]:
        """Every ID token issued so far."""
        with self._lock:
            return list(self._issued_id)

    @property
    def issued_device_codes(self) -> list[str]:
        """Every device code issued so far, oldest first (for leak checks: a device code is a
        secret of the client that polls with it, unlike the user code shown to people)."""
        with self._lock:
            return [dc.device_code for dc in self._device_codes.values()]

    def record(self, endpoint: str | None, entry: dict[str, Any]) -> None:
        """Count a request and append ``entry`` (already free of secrets) to the log."""
        with self._lock:
            if endpoint in self._counts:
                self._counts[endpoint] += 1
            grant_key = GRANT_COUNT_KEYS.get(entry.get("grant_type") or "")
            if endpoint == "token" and grant_key:
                self._counts[grant_key] += 1
            self._requests.append(entry)

    def set_status(self, entry: dict[str, Any], status: int) -> None:
        """Set the response status of a logged request."""
        with self._lock:
            entry["status"] = status
