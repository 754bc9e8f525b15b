"""A minimal Azure Resource Manager on the emulator: the subscriptions and tenants lists.

The Azure CLI lists these after a sign-in (``az login``; jupyter-msal's server does the same
for the Azure CLI in its terminals). Served at the emulator's root, so the emulator's URL is
also a Resource Manager URL::

    GET {url}/subscriptions?api-version=2022-12-01   Authorization: Bearer <ARM token>
    GET {url}/tenants?api-version=2022-12-01

Only tokens the emulator issued for Resource Manager are accepted; a subscription is listed
to tokens of its tenant. Every tenant gets one subscription, "Emulated subscription", unless
:meth:`EmulatorArm.set_subscriptions` says otherwise.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from .core import EmulatorCore
from .handlers import EmulatorHandler
from .tokens import decode_jwt

__all__ = ["ARM_AUDIENCES", "ArmListHandler", "EmulatorArm"]

#: The audiences Resource Manager accepts (the classic one is what the Azure CLI asks for).
ARM_AUDIENCES = (
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
)


def _default_subscription_id(tenant_id: str) -> str:
    """A stable subscription id per tenant, so tests can name it before signing in."""
    return str(uuid.UUID(bytes=hashlib.sha256(tenant_id.encode()).digest()[:16], version=4))


class EmulatorArm(EmulatorCore):
    """Subscriptions per tenant, and what Resource Manager answers for a bearer token."""

    def _clear_state(self) -> None:
        super()._clear_state()
        self._subscriptions: dict[str, list[dict[str, str]]] = {}

    def set_subscriptions(self, tenant_id: str, names: dict[str, str]) -> None:
        """The subscriptions of ``tenant_id`` from now on: ``{subscription_id: display name}``
        (empty: none)."""
        with self._lock:
            self._subscriptions[tenant_id] = [
                {"id": sid, "name": name} for sid, name in names.items()
            ]

    def subscriptions_of(self, tenant_id: str) -> list[dict[str, str]]:
        """``[{"id", "name"}]`` listed to tokens of ``tenant_id``."""
        with self._lock:
            listed = self._subscriptions.get(tenant_id)
            if listed is None:
                listed = [
                    {"id": _default_subscription_id(tenant_id), "name": "Emulated subscription"}
                ]
            return [dict(s) for s in listed]

    def arm_answer(self, authorization: str | None, what: str) -> tuple[int, dict[str, Any]]:
        """``(status, JSON body)`` of ``GET /subscriptions`` or ``GET /tenants``."""
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            known = token in self._issued_access
            self._counts["arm"] = self._counts.get("arm", 0) + 1
        if scheme.lower() != "bearer" or not known:
            return 401, _arm_error("InvalidAuthenticationToken", "The access token is invalid.")
        claims = decode_jwt(token)
        if claims.get("aud") not in ARM_AUDIENCES:
            return 401, _arm_error(
                "InvalidAuthenticationTokenAudience",
                f"The access token has the wrong audience {claims.get('aud')!r}.",
            )
        tenant_id = str(claims.get("tid") or "")
        if what == "tenants":
            return 200, {
                "value": [
                    {
                        "id": f"/tenants/{tenant_id}",
                        "tenantId": tenant_id,
                        "tenantCategory": "Home",
                        "displayName": "Emulated tenant",
                    }
                ]
            }
        listed = self.subscriptions_of(tenant_id)
        return 200, {"value": [_subscription(s, tenant_id) for s in listed]}


def _subscription(entry: dict[str, str], tenant_id: str) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{entry['id']}",
        "subscriptionId": entry["id"],
        "displayName": entry["name"],
        "state": "Enabled",
        "tenantId": tenant_id,
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    }


def _arm_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


class ArmListHandler(EmulatorHandler):
    """``GET /subscriptions`` and ``GET /tenants`` (any api-version)."""

    def get(self, what: str) -> None:
        status, body = self.emu.arm_answer(self.request.headers.get("Authorization"), what)
        self.write_json(body, status)
