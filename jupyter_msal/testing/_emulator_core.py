"""The Entra ID emulator's state and test controls, without any networking.

:class:`EmulatorCore` holds every piece of mutable state behind one lock: device codes, users,
faults, counters and the request log. :mod:`._emulator_grants` adds the OAuth 2.0 grants on top
and :class:`~jupyter_msal.testing.emulator.EntraEmulator` the HTTPS server and the lifecycle.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ._emulator_documents import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_DEVICE_CODE,
    GRANT_REFRESH_TOKEN,
)
from ._emulator_tokens import (
    DEFAULT_TENANT_ID,
    DEFAULT_USERNAME,
    TokenSigner,
    entra_error_body,
    is_guid,
    normalize_user_code,
    now_s,
    oid_for,
)

_GRANT_COUNT_KEYS = {
    GRANT_DEVICE_CODE: "grant:device_code",
    GRANT_REFRESH_TOKEN: "grant:refresh_token",
    GRANT_AUTHORIZATION_CODE: "grant:authorization_code",
    GRANT_CLIENT_CREDENTIALS: "grant:client_credentials",
}
#: Keys of :attr:`EmulatorCore.counts`, all present (zero until used).
COUNT_KEYS = (
    "discovery",
    "devicecode",
    "token",
    "authorize",
    "jwks",
    "instance_discovery",
    *_GRANT_COUNT_KEYS.values(),
)
#: Endpoint names accepted by set_latency(), inject_error() and inject_aadsts().
FAULT_ENDPOINTS = ("token", "devicecode", "discovery", "authorize", "jwks", "any")
_DEFAULT_ERRORS = {
    400: "invalid_request",
    401: "invalid_client",
    403: "access_denied",
    404: "not_found",
    429: "temporarily_unavailable",
    503: "temporarily_unavailable",
}


@dataclass
class _DeviceCode:
    device_code: str
    user_code: str
    client_id: str
    scope: str
    tenant: str
    claims: str | None
    created: float
    expires_at: float
    status: str = "pending"  # pending | approved | declined | redeemed
    username: str | None = None
    tenant_id: str | None = None
    auth_time: int = 0


@dataclass
class _AuthCode:
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str
    nonce: str | None
    claims: str | None
    username: str
    tenant_id: str
    auth_time: int
    expires_at: float
    used: bool = False


@dataclass
class _RefreshGrant:
    username: str
    client_id: str
    tenant_id: str
    auth_time: int
    revoked: bool = False
    used: bool = False


@dataclass
class Fault:
    """One injected fault: the response to send instead of the real one."""

    status: int
    body: str | bytes | dict[str, Any] | None
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    remaining: int | None = 1  # None: until clear_faults()


class EmulatorCore:
    """Thread-safe state of the emulator and the implementation of its OAuth 2.0 grants."""

    def __init__(
        self,
        *,
        access_token_lifetime: int = 3600,
        default_username: str = DEFAULT_USERNAME,
        default_tenant_id: str = DEFAULT_TENANT_ID,
        device_code_lifetime: int = 900,
        device_code_interval: int = 5,
    ) -> None:
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
        #: client_id -> client secret. Listed clients must present that secret (or any client
        #: assertion); other clients may present any credential.
        self.client_secrets: dict[str, str] = {}
        self._lock = threading.RLock()
        self._new_code = threading.Condition(self._lock)
        self._signer = TokenSigner()
        self._device_codes: dict[str, _DeviceCode] = {}
        self._user_codes: dict[str, str] = {}
        self._auth_codes: dict[str, _AuthCode] = {}
        self._refresh_tokens: dict[str, _RefreshGrant] = {}
        self._users: dict[str, dict[str, str]] = {}
        self._counts: dict[str, int] = dict.fromkeys(COUNT_KEYS, 0)
        self._requests: list[dict[str, Any]] = []
        self._issued_access: list[str] = []
        self._issued_refresh: list[str] = []
        self._issued_id: list[str] = []
        self._faults: dict[str, list[Fault]] = {}
        self._latency: dict[str, float] = {}
        self._auto_approve: str | None = None

    # Subclasses provide the base URL the tokens and documents point to.
    @property
    def url(self) -> str:  # pragma: no cover - overridden
        """Base URL, e.g. ``https://127.0.0.1:PORT``."""
        raise NotImplementedError

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

    # --------------------------------------------------------- device codes
    def _find_pending(self, user_code: str | None) -> _DeviceCode:
        now = time.time()
        if user_code is None:
            pending = [
                dc
                for dc in self._device_codes.values()
                if dc.status == "pending" and dc.expires_at > now
            ]
            if not pending:
                raise LookupError("no pending device code")
            return max(pending, key=lambda dc: dc.created)
        device_code = self._user_codes.get(normalize_user_code(user_code))
        if device_code is None:
            raise LookupError(f"unknown user code {user_code!r}")
        dc = self._device_codes[device_code]
        if dc.expires_at <= now:
            raise LookupError(f"user code {user_code!r} has expired")
        if dc.status != "pending":
            raise LookupError(f"user code {user_code!r} is already {dc.status}")
        return dc

    def pending_user_codes(self) -> list[str]:
        """User codes waiting for approval, oldest first (expired ones are left out)."""
        now = time.time()
        with self._lock:
            codes = sorted(
                (dc for dc in self._device_codes.values() if dc.status == "pending"),
                key=lambda dc: dc.created,
            )
            return [dc.user_code for dc in codes if dc.expires_at > now]

    def approve(
        self,
        user_code: str | None = None,
        username: str | None = None,
        tenant_id: str | None = None,
    ) -> str:
        """Approve a pending device code as ``username`` and return its user code.

        ``user_code=None`` picks the most recent pending code. ``username`` defaults to
        :attr:`default_username` and is created on demand (home tenant ``tenant_id`` or
        :attr:`default_tenant_id`); an explicit ``tenant_id`` also sets the issued tokens' ``tid``.
        Raises :class:`LookupError` when there is no such pending code.
        """
        with self._lock:
            dc = self._find_pending(user_code)
            username = username or self.default_username
            user = self._ensure_user(username, tenant_id)
            dc.status = "approved"
            dc.username = username
            dc.tenant_id = tenant_id or (dc.tenant if is_guid(dc.tenant) else user["tenant_id"])
            dc.auth_time = now_s()
            return dc.user_code

    def decline(self, user_code: str | None = None) -> str:
        """Decline a pending device code (the poller gets ``authorization_declined``)."""
        with self._lock:
            dc = self._find_pending(user_code)
            dc.status = "declined"
            return dc.user_code

    def expire(self, user_code: str | None = None) -> str:
        """Expire a pending device code now (the poller gets ``expired_token``)."""
        with self._lock:
            dc = self._find_pending(user_code)
            dc.expires_at = time.time() - 1
            return dc.user_code

    @property
    def auto_approve(self) -> str | None:
        """When a username, every new device code is approved at once as that user."""
        return self._auto_approve

    @auto_approve.setter
    def auto_approve(self, username: str | None) -> None:
        with self._lock:
            self._auto_approve = username or None

    def wait_for_user_code(self, timeout: float = 10) -> str:
        """Block until a device code is pending and return the most recent one.

        Raises :class:`TimeoutError`. Call it from a test thread, never from the emulator's
        own event loop.
        """
        deadline = time.monotonic() + timeout
        with self._new_code:
            while True:
                codes = self.pending_user_codes()
                if codes:
                    return codes[-1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no device code became pending within {timeout} s")
                self._new_code.wait(min(left, 0.5))

    # ------------------------------------------------------------------ faults
    @staticmethod
    def _check_endpoint(endpoint: str) -> None:
        if endpoint not in FAULT_ENDPOINTS:
            raise ValueError(f"endpoint must be one of {FAULT_ENDPOINTS}, not {endpoint!r}")

    def set_latency(self, seconds: float, endpoint: str = "token") -> None:
        """Delay responses of ``endpoint`` by ``seconds`` (0 clears). A specific endpoint's
        latency takes precedence over ``"any"``. Other requests are not held up."""
        self._check_endpoint(endpoint)
        with self._lock:
            if seconds and seconds > 0:
                self._latency[endpoint] = float(seconds)
            else:
                self._latency.pop(endpoint, None)

    def inject_error(
        self,
        status: int = 500,
        body: str | bytes | dict[str, Any] | None = None,
        endpoint: str = "token",
        count: int | None = 1,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``count`` requests to ``endpoint`` with ``status`` (``count=None``:
        every request until :meth:`clear_faults`).

        ``body=None`` sends an Entra-style JSON error (AADSTS50000); a ``dict`` is sent as JSON;
        a ``str``/``bytes`` body is sent raw with ``content_type`` (e.g. an HTML 502 page).
        ``headers`` are added to the response (e.g. ``{"Retry-After": "1"}``).
        """
        self._check_endpoint(endpoint)
        with self._lock:
            self._faults.setdefault(endpoint, []).append(
                Fault(int(status), body, content_type, dict(headers or {}), count)
            )

    def inject_aadsts(
        self,
        code: int = 50076,
        error: str = "interaction_required",
        endpoint: str = "token",
        count: int | None = 1,
        description: str | None = None,
        status: int = 400,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next ``count`` requests to ``endpoint`` with an Entra-shaped error for
        AADSTS ``code`` (``extra`` adds fields such as ``suberror`` or ``claims``)."""
        description = description or f"Injected error AADSTS{code} from the emulator."
        body: dict[str, Any] = {
            "__aadsts__": {"error": error, "code": int(code), "description": description},
            **(extra or {}),
        }
        self.inject_error(status, body, endpoint, count)

    def clear_faults(self) -> None:
        """Remove every injected error and latency."""
        with self._lock:
            self._faults.clear()
            self._latency.clear()

    def take_fault(self, endpoint: str) -> Fault | None:
        """Consume and return the fault that applies to a request to ``endpoint``, if any."""
        with self._lock:
            for key in (endpoint, "any"):
                queue = self._faults.get(key)
                if not queue:
                    continue
                fault = queue[0]
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        queue.pop(0)
                return fault
            return None

    def latency_for(self, endpoint: str) -> float:
        """Seconds a request to ``endpoint`` waits before it is answered."""
        with self._lock:
            return self._latency.get(endpoint, self._latency.get("any", 0.0))

    def fault_body(self, fault: Fault, correlation_id: str | None) -> bytes:
        """The bytes to send for ``fault``."""
        body = fault.body
        if isinstance(body, bytes):
            return body
        if isinstance(body, str):
            return body.encode("utf-8")
        if body is None:
            error = _DEFAULT_ERRORS.get(fault.status, "server_error")
            body = {
                "__aadsts__": {
                    "error": error,
                    "code": 50000,
                    "description": (
                        "There was an error issuing a token or an issue with our sign-in service."
                    ),
                }
            }
        body = dict(body)
        spec = body.pop("__aadsts__", None)
        if spec:
            body = entra_error_body(
                spec["error"],
                spec["code"],
                spec["description"],
                base_url=self.url,
                correlation_id=correlation_id,
                extra=body,
            )
        return json.dumps(body).encode("utf-8")

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
        ``client_id``, ``scope``, ``claims`` (bool) and ``status``; never a secret value."""
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

    def revoke_refresh_tokens(self, username: str | None = None) -> int:
        """Revoke the refresh tokens issued so far to ``username`` (None: everyone); using one
        answers ``invalid_grant`` AADSTS50173. Returns how many were revoked."""
        with self._lock:
            revoked = 0
            for grant in self._refresh_tokens.values():
                if (username is None or grant.username == username) and not grant.revoked:
                    grant.revoked = True
                    revoked += 1
            return revoked

    def record(self, endpoint: str | None, entry: dict[str, Any]) -> None:
        """Count a request and append ``entry`` (already free of secrets) to the log."""
        with self._lock:
            if endpoint in self._counts:
                self._counts[endpoint] += 1
            grant_key = _GRANT_COUNT_KEYS.get(entry.get("grant_type") or "")
            if endpoint == "token" and grant_key:
                self._counts[grant_key] += 1
            self._requests.append(entry)

    def set_status(self, entry: dict[str, Any], status: int) -> None:
        """Set the response status of a logged request."""
        with self._lock:
            entry["status"] = status

    def state(self) -> dict[str, Any]:
        """A JSON-ready snapshot for ``GET /_emulator/state``; holds no secrets."""
        with self._lock:
            return {
                "url": self.url,
                "device_login_url": self.device_login_url,
                "pending_user_codes": self.pending_user_codes(),
                "counts": dict(self._counts),
                "requests": [dict(entry) for entry in self._requests],
                "users": {name: dict(info) for name, info in self._users.items()},
                "auto_approve": self._auto_approve,
                "access_token_lifetime": self.access_token_lifetime,
                "device_code_lifetime": self.device_code_lifetime,
                "device_code_interval": self.device_code_interval,
                "issued_access_tokens": len(self._issued_access),
                "issued_refresh_tokens": len(self._issued_refresh),
            }
