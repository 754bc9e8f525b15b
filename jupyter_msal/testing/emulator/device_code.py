"""The device-code grant of the Entra ID emulator, and the test controls that play the user.

``POST /{tenant}/oauth2/v2.0/devicecode`` issues a code; the token endpoint answers
``authorization_pending`` until a test (or the sign-in page) approves, declines or expires it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Collection
from typing import Any

from .minting import TokenMinting
from .records import DeviceCode, ScheduledApproval
from .tokens import (
    EmulatorGrantError,
    is_guid,
    new_user_code,
    normalize_user_code,
    now_s,
    resolve_scopes,
)

__all__ = ["DeviceCodeGrant"]


class DeviceCodeGrant(TokenMinting):
    """Device codes: issuing, polling, and approving them on the user's behalf."""

    # ------------------------------------------------------------ test controls
    def _find_pending(self, user_code: str | None) -> DeviceCode:
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

    def approve_next(
        self, username: str | None = None, tenant_id: str | None = None
    ) -> ScheduledApproval:
        """Approve the next device code issued after this call, the moment it is issued.

        Like :attr:`auto_approve`, but once: call it before the code under test starts a
        sign-in, then ``.wait()`` on the result for the user code. Several calls approve the
        next codes in order; ``.cancel()`` withdraws one that is not used yet. Scheduled
        approvals go before :attr:`auto_approve`.
        """
        approval = ScheduledApproval(username, tenant_id)
        with self._lock:
            self._scheduled.append(approval)
        return approval

    def wait_for_user_code(self, timeout: float = 10, *, exclude: Collection[str] = ()) -> str:
        """Block until a device code is pending and return the most recent one.

        Codes in ``exclude`` do not count: pass the :meth:`pending_user_codes` of before an
        action to wait for the code that action requests. Raises :class:`TimeoutError`. Call it
        from a test thread, never from the emulator's own event loop.
        """
        deadline = time.monotonic() + timeout
        with self._new_code:
            while True:
                codes = [code for code in self.pending_user_codes() if code not in exclude]
                if codes:
                    return codes[-1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no new device code became pending within {timeout} s")
                # expired codes leave the list without a notification: look again now and then
                self._new_code.wait(min(left, 0.5))

    def _approve_on_issue(self, user_code: str) -> None:
        while self._scheduled:
            approval = self._scheduled.popleft()
            if approval.claim():
                self.approve(user_code, approval.username, approval.tenant_id)
                approval.fulfil(user_code)
                return
        if self._auto_approve:
            self.approve(user_code, self._auto_approve)

    # ---------------------------------------------------------------- endpoints
    def handle_devicecode(self, tenant: str, form: dict[str, str]) -> dict[str, Any]:
        """``POST /{tenant}/oauth2/v2.0/devicecode``."""
        client_id = form.get("client_id")
        if not client_id:
            raise EmulatorGrantError(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
            )
        resolve_scopes(form.get("scope", ""))  # reject bad scopes now, as Entra does
        with self._lock:
            user_code = new_user_code()
            while user_code in self._user_codes:
                user_code = new_user_code()
            device_code = "DAQABIQEAAA" + secrets.token_urlsafe(64)
            now = time.time()
            lifetime = int(self.device_code_lifetime)
            self._device_codes[device_code] = DeviceCode(
                device_code=device_code,
                user_code=user_code,
                client_id=client_id,
                scope=form.get("scope", ""),
                tenant=tenant,
                claims=form.get("claims"),
                created=now,
                expires_at=now + lifetime,
            )
            self._user_codes[user_code] = device_code
            self._approve_on_issue(user_code)
            self._new_code.notify_all()
            # msal's poll loop never sleeps nor checks its exit condition with interval 0
            interval = max(1, int(self.device_code_interval))
        return {
            "user_code": user_code,
            "device_code": device_code,
            "verification_uri": self.device_login_url,
            "expires_in": lifetime,
            "interval": interval,
            "message": (
                f"To sign in, use a web browser to open the page {self.device_login_url} "
                f"and enter the code {user_code} to authenticate."
            ),
        }

    def grant_device_code(
        self, client_id: str, form: dict[str, str], want_client_info: bool
    ) -> dict[str, Any]:
        """The token endpoint's device-code grant (a poll); the caller holds the lock."""
        dc = self._device_codes.get(form.get("device_code") or "")
        if dc is None:
            raise EmulatorGrantError(
                "bad_verification_code",
                70019,
                "The provided value for the input parameter 'device_code' is not valid.",
            )
        if dc.client_id != client_id:
            raise EmulatorGrantError(
                "invalid_grant",
                70000,
                "The provided device code was issued to a different client.",
            )
        if dc.status == "redeemed":
            raise EmulatorGrantError(
                "invalid_grant", 54005, "The device code has already been redeemed."
            )
        if time.time() >= dc.expires_at:
            raise EmulatorGrantError(
                "expired_token",
                70020,
                "The provided value for the input parameter 'device_code' is not valid. "
                "This device code has expired.",
            )
        if dc.status == "declined":
            raise EmulatorGrantError(
                "authorization_declined", 70000, "The user declined the authentication request."
            )
        if dc.status == "pending":
            raise EmulatorGrantError(
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            )
        grant = resolve_scopes(form.get("scope") or dc.scope)
        dc.status = "redeemed"
        assert dc.username is not None and dc.tenant_id is not None
        return self.issue_user_tokens(
            client_id=client_id,
            grant=grant,
            username=dc.username,
            tenant_id=dc.tenant_id,
            auth_time=dc.auth_time,
            claims=form.get("claims") or dc.claims,
            want_client_info=want_client_info,
        )
