"""The Entra ID emulator's protocol side, assembled: one class with every grant and control.

:class:`EmulatorGrants` combines faults (:mod:`.faults`) and the grants (device code,
refresh token, authorization code, client credentials, each in its own module) and routes
``POST /{tenant}/oauth2/v2.0/token`` to the grant its ``grant_type`` names. The tornado handlers
in :mod:`.http` call it; every public method takes the state lock itself.
"""

from __future__ import annotations

from typing import Any

from .auth_code import AuthorizationCodeGrant
from .cae import CaeChallenges
from .clients import ClientCredentialsGrant
from .device_code import DeviceCodeGrant
from .documents import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_DEVICE_CODE,
    GRANT_REFRESH_TOKEN,
)
from .faults import EmulatorFaults
from .refresh import RefreshTokenGrant
from .tokens import EmulatorGrantError

__all__ = ["EmulatorGrants"]


class EmulatorGrants(
    EmulatorFaults,
    DeviceCodeGrant,
    RefreshTokenGrant,
    AuthorizationCodeGrant,
    ClientCredentialsGrant,
    CaeChallenges,
):
    """Discovery documents, token minting, faults and the OAuth 2.0 grants of the emulator."""

    def handle_token(
        self, tenant: str, form: dict[str, str], authorization: str | None = None
    ) -> dict[str, Any]:
        """``POST /{tenant}/oauth2/v2.0/token``; raises :class:`EmulatorGrantError`."""
        grant_type = form.get("grant_type")
        if not grant_type:
            raise EmulatorGrantError(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            )
        client_id = self.client_id_of(form, authorization)
        if not client_id:
            raise EmulatorGrantError(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
            )
        # a client registered with a secret is confidential: its user grants need the secret
        confidential = client_id in self.client_secrets and grant_type in (
            GRANT_AUTHORIZATION_CODE,
            GRANT_REFRESH_TOKEN,
        )
        self.check_client_secret(client_id, form, authorization, required=confidential)
        want_client_info = form.get("client_info") == "1"
        with self._lock:
            if grant_type == GRANT_DEVICE_CODE:
                self.refuse_blocked_device_code(form)
                return self.grant_device_code(client_id, form, want_client_info)
            if grant_type == GRANT_REFRESH_TOKEN:
                return self.grant_refresh_token(tenant, client_id, form, want_client_info)
            if grant_type == GRANT_AUTHORIZATION_CODE:
                return self.grant_authorization_code(client_id, form, want_client_info)
            if grant_type == GRANT_CLIENT_CREDENTIALS:
                return self.grant_client_credentials(tenant, client_id, form, authorization)
        raise EmulatorGrantError(
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'.",
        )

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
                "scheduled_approvals": sum(1 for a in self._scheduled if not a.cancelled),
                **self.guest_state(),
                "access_token_lifetime": self.access_token_lifetime,
                "device_code_lifetime": self.device_code_lifetime,
                "device_code_interval": self.device_code_interval,
                "issued_access_tokens": len(self._issued_access),
                "issued_refresh_tokens": len(self._issued_refresh),
            }
