"""Guest (B2B) users of the Entra ID emulator: tenants a user may get tokens for besides the
home tenant, and tenants that demand a sign-in of their own.

A user's refresh token is not bound to a tenant (as in Entra ID): redeemed at
``/{tenant}/oauth2/v2.0/token`` it gives tokens whose ``tid`` and issuer are that tenant's,
when the user is at home or a guest there::

    emu.add_guest("ada@contoso.com", FABRIKAM_ID, domain="fabrikam.onmicrosoft.com")
    emu.require_mfa(FABRIKAM_ID)     # its refresh grants answer interaction_required

A tenant where the user is neither refuses like AADSTS50020; a tenant that demands its own
sign-in (multi-factor authentication, say) refuses refresh grants like AADSTS50076, except
those of a refresh token that came from a sign-in at that tenant (``/{tenant}/``): that
sign-in met its demand. Such a refresh token redeemed at ``organizations`` or ``common``
gives the user's home tenant's tokens, as Entra ID does for a guest.
"""

from __future__ import annotations

from typing import Any

from .minting import TokenMinting
from .records import RefreshGrant
from .tokens import EmulatorGrantError, is_guid

__all__ = ["GuestTenants"]


class GuestTenants(TokenMinting):
    """Guest memberships, tenant domain names and tenants that demand their own sign-in."""

    def add_guest(self, username: str, tenant_id: str, *, domain: str | None = None) -> None:
        """Make ``username`` a guest of tenant ``tenant_id`` (a GUID); ``domain`` is a domain
        name that names that tenant in authorities (``fabrikam.onmicrosoft.com``)."""
        if not is_guid(tenant_id):
            raise ValueError(f"tenant_id must be a GUID, not {tenant_id!r}")
        tenant_id = tenant_id.lower()
        with self._lock:
            self._ensure_user(username)
            self._guests.setdefault(username, set()).add(tenant_id)
            if domain:
                self._tenant_domains[domain.strip().lower()] = tenant_id

    def require_mfa(self, tenant_id: str, required: bool = True) -> None:
        """Tenant ``tenant_id`` refuses refresh grants (``interaction_required``, AADSTS50076)
        until called again with ``required=False``."""
        with self._lock:
            if required:
                self._mfa_tenants.add(tenant_id.lower())
            else:
                self._mfa_tenants.discard(tenant_id.lower())

    @property
    def guests(self) -> dict[str, list[str]]:
        """Copy of the guest memberships: username -> tenant ids."""
        with self._lock:
            return {name: sorted(tenants) for name, tenants in self._guests.items()}

    def token_requests_at(self, tenant: str, grant_type: str | None = None) -> int:
        """How many token requests arrived at ``/{tenant}/oauth2/v2.0/token`` (of
        ``grant_type`` only, when given), whatever the answer."""
        path = f"/{tenant}/oauth2/v2.0/token"
        with self._lock:
            return sum(
                1
                for entry in self._requests
                if str(entry.get("path", "")).lower() == path.lower()
                and (grant_type is None or entry.get("grant_type") == grant_type)
            )

    def tenant_for_refresh(self, tenant: str, grant: RefreshGrant) -> str:
        """The tenant id a refresh grant at ``/{tenant}/`` issues tokens for, or the error
        Entra ID answers (caller holds the lock): a GUID or a known domain names the tenant;
        ``organizations``, ``common`` and unknown names the refresh token's own, or the user's
        home tenant for a refresh token signed in at a guest tenant."""
        name = tenant.lower()
        user = self._ensure_user(grant.username)
        guest_of = self._guests.get(grant.username, set())
        signed_in_at = grant.tenant_id.lower()
        own = user["tenant_id"] if signed_in_at in guest_of else grant.tenant_id
        tenant_id = name if is_guid(name) else self._tenant_domains.get(name, own)
        member_of = {user["tenant_id"].lower(), signed_in_at} | guest_of
        if tenant_id.lower() not in member_of:
            raise EmulatorGrantError(
                "invalid_grant",
                50020,
                f"User account '{grant.username}' from identity provider "
                f"'https://sts.windows.net/{user['tenant_id']}/' does not exist in tenant "
                f"'{tenant_id}' and cannot access the application in that tenant. The account "
                "needs to be added as an external user in the tenant first.",
            )
        if tenant_id.lower() in self._mfa_tenants and tenant_id.lower() != signed_in_at:
            raise EmulatorGrantError(
                "interaction_required",
                50076,
                "Due to a configuration change made by your administrator, or because you "
                f"moved to a new location, you must use multi-factor authentication to access "
                f"tenant '{tenant_id}'.",
                extra={"suberror": "basic_action"},
            )
        return tenant_id

    def guest_state(self) -> dict[str, Any]:
        """The guest part of ``GET /_emulator/state`` (caller holds the lock)."""
        return {
            "guests": {name: sorted(tenants) for name, tenants in self._guests.items()},
            "tenant_domains": dict(self._tenant_domains),
            "mfa_tenants": sorted(self._mfa_tenants),
        }
