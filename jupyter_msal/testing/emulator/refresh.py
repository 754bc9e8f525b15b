"""The refresh-token grant of the Entra ID emulator, and revoking refresh tokens."""

from __future__ import annotations

from typing import Any

from .guests import GuestTenants
from .tokens import EmulatorGrantError, resolve_scopes

__all__ = ["RefreshTokenGrant"]


class RefreshTokenGrant(GuestTenants):
    """Refresh tokens: redeeming them for any resource and any tenant the user is at home or a
    guest in (:mod:`.guests`), revoking them, single use on demand."""

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

    def grant_refresh_token(
        self, tenant: str, client_id: str, form: dict[str, str], want_client_info: bool
    ) -> dict[str, Any]:
        """The token endpoint's refresh-token grant; the caller holds the lock."""
        rt = self._refresh_tokens.get(form.get("refresh_token") or "")
        if rt is None:
            raise EmulatorGrantError(
                "invalid_grant",
                9002313,
                "Invalid request. Request is malformed or invalid. The refresh token is unknown.",
            )
        if rt.revoked:
            raise EmulatorGrantError(
                "invalid_grant",
                50173,
                "The provided grant has expired due to it being revoked, a fresh auth token is "
                "needed. The user might have changed or reset their password.",
                extra={"suberror": "bad_token"},
            )
        if rt.client_id != client_id:
            raise EmulatorGrantError(
                "invalid_grant",
                70000,
                "The refresh token was issued to a different client.",
            )
        if rt.used and self.refresh_token_single_use:
            raise EmulatorGrantError(
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired due to inactivity "
                "or reuse.",
            )
        grant = resolve_scopes(form.get("scope", ""))
        tenant_id = self.tenant_for_refresh(tenant, rt)
        rt.used = True
        return self.issue_user_tokens(
            client_id=client_id,
            grant=grant,
            username=rt.username,
            tenant_id=tenant_id,
            auth_time=rt.auth_time,
            claims=form.get("claims"),
            want_client_info=want_client_info,
            refresh_tenant_id=rt.tenant_id,
        )
