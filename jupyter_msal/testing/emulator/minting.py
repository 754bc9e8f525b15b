"""How the Entra ID emulator mints token responses, and the documents it publishes.

Every grant ends in :meth:`TokenMinting.issue_user_tokens` (device code, refresh token,
authorization code) or :meth:`TokenMinting.issue_app_token` (client credentials). Callers hold
the state lock. Access tokens for first-party resources (storage, Key Vault, ARM, ...) have
Entra ID's v1 shape (``iss https://sts.windows.net/<tenant>/``, ``ver 1.0``), others v2, unless
``access_token_version`` says otherwise.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import secrets
from typing import Any
from urllib.parse import urlsplit

from .core import EmulatorCore
from .documents import instance_metadata, openid_configuration
from .records import RefreshGrant
from .tokens import (
    EmulatorGrantError,
    ScopeGrant,
    b64url,
    entra_error_body,
    now_s,
    oid_for,
)

__all__ = ["TokenMinting"]

_ID_TOKEN_LIFETIME = 3600


def _claims_markers(claims: str | None) -> dict[str, Any]:
    """Access-token claims that show a ``claims`` request parameter reached the emulator."""
    if not claims:
        return {}
    try:
        parsed = json.loads(claims)
    except ValueError:
        return {"claims_seen": claims}
    markers: dict[str, Any] = {"claims_seen": parsed}
    access = parsed.get("access_token") if isinstance(parsed, dict) else None
    xms = access.get("xms_cc") if isinstance(access, dict) else None
    if isinstance(xms, dict) and xms.get("values"):
        markers["xms_cc"] = xms["values"]
    return markers


def _v1_issuer(tenant_id: str) -> str:
    return f"https://sts.windows.net/{tenant_id}/"


class TokenMinting(EmulatorCore):
    """Signed access, refresh and ID tokens; discovery documents; Entra-shaped error bodies."""

    # ------------------------------------------------------------ documents
    def openid_configuration(self, tenant: str) -> dict[str, Any]:
        """The OpenID Connect discovery document of ``tenant``."""
        return openid_configuration(self.url, tenant, self.default_tenant_id)

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set that verifies the emulator's tokens."""
        return self._signer.jwks()

    def instance_metadata(self, tenant: str) -> dict[str, Any]:
        """An instance discovery answer, for apps given ``instance_discovery=<emulator URL>``."""
        return instance_metadata(self.url, tenant)

    def error_body(self, exc: EmulatorGrantError, correlation_id: str | None) -> dict[str, Any]:
        """The JSON body for a protocol error."""
        return entra_error_body(
            exc.error,
            exc.code,
            exc.description,
            base_url=self.url,
            correlation_id=correlation_id,
            extra=exc.extra,
        )

    # ------------------------------------------------------------------ tokens
    def issues_v1(self, resource: str) -> bool:
        """Whether access tokens for ``resource`` are v1-shaped (see
        :attr:`access_token_version` and :attr:`v1_resources`)."""
        version = self.access_token_version
        if version in ("1.0", "2.0"):
            return version == "1.0"
        host = (urlsplit(resource).hostname or "").lower()
        return bool(host) and any(fnmatch.fnmatch(host, p) for p in self.v1_resources)

    def _user_access_v1(
        self, base: dict[str, Any], user: dict[str, str], username: str, tenant_id: str
    ) -> dict[str, Any]:
        """The v1 claim set of a user token (Entra ID's ``ver 1.0`` shape)."""
        given, _, family = user["name"].partition(" ")
        return {
            **base,
            "iss": _v1_issuer(tenant_id),
            "acr": "1",
            "amr": ["pwd"],
            "appidacr": "0",
            "family_name": family or given,
            "given_name": given,
            "ipaddr": "127.0.0.1",
            "puid": hashlib.sha256(user["oid"].encode()).hexdigest()[:16].upper(),
            "rh": "0.emu." + secrets.token_urlsafe(8),
            "unique_name": username,
            "ver": "1.0",
        }

    def _response_scope(self, grant: ScopeGrant) -> str:
        scopes = grant.response_scopes
        if self.expand_default_scope:
            scopes = tuple(s for s in scopes if not s.endswith("/.default"))
        return " ".join(scopes)

    def issue_user_tokens(
        self,
        *,
        client_id: str,
        grant: ScopeGrant,
        username: str,
        tenant_id: str,
        auth_time: int,
        claims: str | None = None,
        nonce: str | None = None,
        want_client_info: bool = False,
        refresh_tenant_id: str | None = None,
    ) -> dict[str, Any]:
        """A token response for ``username`` in ``tenant_id``: an access token, a refresh token
        for ``offline_access`` (of ``refresh_tenant_id``, the sign-in's tenant; default
        ``tenant_id``), an ID token for ``openid``."""
        user = self._ensure_user(username)
        now = now_s()
        lifetime = int(self.access_token_lifetime)
        subject = b64url(hashlib.sha256(f"{user['oid']}|{client_id}".encode()).digest()[:24])
        common: dict[str, Any] = {
            "aud": grant.resource,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "aio": secrets.token_urlsafe(12),
            "appid": client_id,
            "name": user["name"],
            "oid": user["oid"],
            "upn": username,
            "scp": " ".join(grant.scp),
            "sub": subject,
            "tid": tenant_id,
            "uti": secrets.token_urlsafe(16),
            **_claims_markers(claims),
        }
        access_token = self._signer.sign(
            self._user_access_payload(common, user, username, tenant_id, client_id)
        )
        self._issued_access.append(access_token)
        response: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": self._response_scope(grant),
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access_token,
        }
        if self.refresh_in is not None:
            response["refresh_in"] = int(self.refresh_in)
        if grant.offline_access:
            response["refresh_token"] = self._new_refresh_token(
                RefreshGrant(username, client_id, refresh_tenant_id or tenant_id, auth_time)
            )
        if grant.openid:
            id_claims = {**common, "auth_time": auth_time, "preferred_username": username}
            response["id_token"] = self._new_id_token(id_claims, client_id, nonce)
        if want_client_info:
            response["client_info"] = self.client_info(username)
        return response

    def _user_access_payload(
        self,
        common: dict[str, Any],
        user: dict[str, str],
        username: str,
        tenant_id: str,
        client_id: str,
    ) -> dict[str, Any]:
        """The claims of a user access token, v1- or v2-shaped for its resource."""
        if self.issues_v1(common["aud"]):
            return self._user_access_v1(common, user, username, tenant_id)
        return {
            **common,
            "iss": f"{self.url}/{tenant_id}/v2.0",
            "azp": client_id,
            "idtyp": "user",
            "preferred_username": username,
            "ver": "2.0",
        }

    def _new_refresh_token(self, grant: RefreshGrant) -> str:
        """A new refresh token redeemable for ``grant``'s user and client."""
        refresh_token = "1.emu." + secrets.token_urlsafe(48)
        self._refresh_tokens[refresh_token] = grant
        self._issued_refresh.append(refresh_token)
        return refresh_token

    def _new_id_token(self, claims: dict[str, Any], client_id: str, nonce: str | None) -> str:
        """A signed v2 ID token for ``client_id`` from the user's ``claims`` (those of the
        access token, plus ``auth_time`` and ``preferred_username``)."""
        now = claims["iat"]
        payload: dict[str, Any] = {
            "aud": client_id,
            "iss": f"{self.url}/{claims['tid']}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + _ID_TOKEN_LIFETIME,
            "auth_time": claims["auth_time"],
            "name": claims["name"],
            "oid": claims["oid"],
            "preferred_username": claims["preferred_username"],
            "sub": claims["sub"],
            "tid": claims["tid"],
            "uti": secrets.token_urlsafe(16),
            "ver": "2.0",
        }
        if nonce:
            payload["nonce"] = nonce
        id_token = self._signer.sign(payload)
        self._issued_id.append(id_token)
        return id_token

    def client_info(self, username: str) -> str:
        """The base64url ``client_info`` of ``username``: ``{"uid": oid, "utid": tenant}``."""
        user = self._ensure_user(username)
        return b64url(json.dumps({"uid": user["oid"], "utid": user["tenant_id"]}))

    def issue_app_token(
        self, client_id: str, grant: ScopeGrant, tenant_id: str, claims: str | None
    ) -> dict[str, Any]:
        """An app-only token response (client credentials): no refresh token, no ID token."""
        now = now_s()
        lifetime = int(self.access_token_lifetime)
        sp_oid = oid_for(f"app:{client_id}")
        payload: dict[str, Any] = {
            "aud": grant.resource,
            "iss": f"{self.url}/{tenant_id}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "azp": client_id,
            "appid": client_id,
            "idtyp": "app",
            "oid": sp_oid,
            "roles": [],
            "sub": sp_oid,
            "tid": tenant_id,
            "uti": secrets.token_urlsafe(16),
            "ver": "2.0",
            **_claims_markers(claims),
        }
        if self.issues_v1(grant.resource):
            del payload["azp"]
            payload.update(
                iss=_v1_issuer(tenant_id),
                idp=_v1_issuer(tenant_id),
                appidacr="1",
                rh="0.emu." + secrets.token_urlsafe(8),
                ver="1.0",
            )
        access_token = self._signer.sign(payload)
        self._issued_access.append(access_token)
        return {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access_token,
        }
