"""Client authentication and the client-credentials grant of the Entra ID emulator."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any
from urllib.parse import unquote_plus

from .minting import TokenMinting
from .tokens import EmulatorGrantError, is_guid, resolve_scopes

__all__ = ["ClientCredentialsGrant", "basic_credentials"]

_JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """``(client_id, secret)`` from an HTTP Basic ``Authorization`` header, if there is one."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(authorization[6:].strip()).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, password = raw.partition(":")
    return unquote_plus(user), unquote_plus(password)


class ClientCredentialsGrant(TokenMinting):
    """Who the client is (``client_id``, secret or assertion) and app-only tokens."""

    def client_id_of(self, form: dict[str, str], authorization: str | None) -> str | None:
        """The client of a token request: the form's ``client_id``, else HTTP Basic's user."""
        if form.get("client_id"):
            return form["client_id"]
        creds = basic_credentials(authorization)
        return creds[0] if creds else None

    def check_client_secret(
        self, client_id: str, form: dict[str, str], authorization: str | None, *, required: bool
    ) -> None:
        """Raise ``invalid_client`` for a wrong secret (or a missing one when ``required``).

        Any client assertion passes: signatures are not verified. Only clients listed in
        :attr:`client_secrets` have a secret to get wrong.
        """
        basic = basic_credentials(authorization)
        secret = form.get("client_secret") or (basic[1] if basic else None)
        has_assertion = bool(form.get("client_assertion")) and (
            form.get("client_assertion_type") == _JWT_BEARER
        )
        if has_assertion:
            return
        if secret is None:
            if required:
                raise EmulatorGrantError(
                    "invalid_client",
                    7000218,
                    "The request body must contain the following parameter: 'client_assertion' "
                    "or 'client_secret'.",
                    status=401,
                )
            return
        expected = self.client_secrets.get(client_id)
        if expected is not None and not hmac.compare_digest(expected, secret):
            raise EmulatorGrantError(
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.",
                status=401,
            )

    def grant_client_credentials(
        self, tenant: str, client_id: str, form: dict[str, str], authorization: str | None
    ) -> dict[str, Any]:
        """The token endpoint's client-credentials grant; the caller holds the lock."""
        self.check_client_secret(client_id, form, authorization, required=True)
        grant = resolve_scopes(form.get("scope", ""), app_only=True)
        tenant_id = tenant if is_guid(tenant) else self.default_tenant_id
        return self.issue_app_token(client_id, grant, tenant_id, form.get("claims"))
