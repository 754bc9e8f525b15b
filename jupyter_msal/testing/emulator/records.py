"""What the Entra ID emulator remembers: device codes, authorization codes, refresh tokens,
injected faults and scheduled approvals, plus the names of its counters and fault endpoints.

Plain data only; :mod:`.core` owns the instances and the lock that guards them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from .documents import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_DEVICE_CODE,
    GRANT_REFRESH_TOKEN,
)

__all__ = [
    "COUNT_KEYS",
    "FAULT_ENDPOINTS",
    "GRANT_COUNT_KEYS",
    "AuthCode",
    "DeviceCode",
    "Fault",
    "RefreshGrant",
    "ScheduledApproval",
]

#: Token-endpoint grant type -> the counter it increments besides ``token``.
GRANT_COUNT_KEYS = {
    GRANT_DEVICE_CODE: "grant:device_code",
    GRANT_REFRESH_TOKEN: "grant:refresh_token",
    GRANT_AUTHORIZATION_CODE: "grant:authorization_code",
    GRANT_CLIENT_CREDENTIALS: "grant:client_credentials",
}
#: Keys of the emulator's ``counts``, all present (zero until used).
COUNT_KEYS = (
    "discovery",
    "devicecode",
    "token",
    "authorize",
    "jwks",
    "instance_discovery",
    *GRANT_COUNT_KEYS.values(),
)
#: Endpoint names accepted by set_latency(), inject_error() and inject_aadsts().
FAULT_ENDPOINTS = ("token", "devicecode", "discovery", "authorize", "jwks", "any")


@dataclass
class DeviceCode:
    """One device code and what the user did with it."""

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
class AuthCode:
    """One authorization code handed out by the authorize endpoint."""

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
class RefreshGrant:
    """Who a refresh token belongs to, and whether it still works."""

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


class ScheduledApproval:
    """An approval waiting for the next device code, from ``EntraEmulator.approve_next()``.

    The emulator approves the next device code it issues as :attr:`username` the moment it
    issues it; :meth:`wait` then returns that code's user code.
    """

    def __init__(self, username: str | None, tenant_id: str | None) -> None:
        #: Who the code is approved as (None: the emulator's ``default_username``).
        self.username = username
        #: Home tenant for a user created on demand, and the tokens' ``tid``.
        self.tenant_id = tenant_id
        #: The user code approved, once a device code was issued.
        self.user_code: str | None = None
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._claimed = False
        self._cancelled = False

    @property
    def done(self) -> bool:
        """True once a device code was approved for this request."""
        return self._done.is_set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` withdrew this request before any code was issued."""
        return self._cancelled

    def wait(self, timeout: float = 30) -> str:
        """Block until a device code was approved for this request; return its user code.

        Raises :class:`TimeoutError` when no device code was requested in ``timeout`` seconds.
        """
        if not self._done.wait(timeout) or self.user_code is None:
            raise TimeoutError(f"no device code was requested within {timeout} s")
        return self.user_code

    def cancel(self) -> bool:
        """Withdraw the request if no code was taken for it yet; True when this call withdrew
        it."""
        with self._lock:
            if self._claimed or self._cancelled:
                return False
            self._cancelled = True
            return True

    def claim(self) -> bool:
        """Take this request for a new device code; False when it was cancelled (emulator side)."""
        with self._lock:
            if self._cancelled or self._claimed:
                return False
            self._claimed = True
            return True

    def fulfil(self, user_code: str) -> None:
        """Record that ``user_code`` was approved for this request (emulator side)."""
        self.user_code = user_code
        self._done.set()

    def __repr__(self) -> str:
        state = "cancelled" if self._cancelled else (self.user_code or "waiting")
        return f"<ScheduledApproval {self.username or 'default user'}: {state}>"
