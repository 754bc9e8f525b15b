"""The Entra ID emulator's protocol side: discovery documents, token minting and the grants.

:class:`EmulatorGrants` extends the state in :mod:`._emulator_core` with what the tornado
handlers in :mod:`._emulator_http` call: ``openid_configuration``, ``handle_devicecode``,
``handle_token`` and ``handle_authorize``. Every method takes the state lock itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
import uuid
from typing import Any
from urllib.parse import unquote_plus

from ._emulator_core import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_CLIENT_CREDENTIALS,
    GRANT_DEVICE_CODE,
    GRANT_REFRESH_TOKEN,
    EmulatorCore,
    _AuthCode,
    _DeviceCode,
    _RefreshGrant,
)
from ._emulator_documents import instance_metadata, openid_configuration
from ._emulator_tokens import (
    EmulatorGrantError,
    ScopeGrant,
    b64url,
    entra_error_body,
    is_guid,
    new_user_code,
    now_s,
    oid_for,
    resolve_scopes,
)

_JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_AUTH_CODE_LIFETIME = 600
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


class EmulatorGrants(EmulatorCore):
    """Discovery documents, token minting and the OAuth 2.0 grants of the emulator."""

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

    # ------------------------------------------------------------------ tokens
    def _issue_user_tokens(
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
    ) -> dict[str, Any]:
        user = self._ensure_user(username)
        now = now_s()
        lifetime = int(self.access_token_lifetime)
        issuer = f"{self.url}/{tenant_id}/v2.0"
        subject = b64url(hashlib.sha256(f"{user['oid']}|{client_id}".encode()).digest()[:24])
        access_payload: dict[str, Any] = {
            "aud": grant.resource,
            "iss": issuer,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "aio": secrets.token_urlsafe(12),
            "azp": client_id,
            "appid": client_id,
            "idtyp": "user",
            "name": user["name"],
            "oid": user["oid"],
            "preferred_username": username,
            "upn": username,
            "scp": " ".join(grant.scp),
            "sub": subject,
            "tid": tenant_id,
            "uti": secrets.token_urlsafe(16),
            "ver": "2.0",
            **_claims_markers(claims),
        }
        access_token = self._signer.sign(access_payload)
        response: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": " ".join(grant.response_scopes),
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access_token,
        }
        if self.refresh_in is not None:
            response["refresh_in"] = int(self.refresh_in)
        self._issued_access.append(access_token)
        if grant.offline_access:
            refresh_token = "1.emu." + secrets.token_urlsafe(48)
            self._refresh_tokens[refresh_token] = _RefreshGrant(
                username=username, client_id=client_id, tenant_id=tenant_id, auth_time=auth_time
            )
            self._issued_refresh.append(refresh_token)
            response["refresh_token"] = refresh_token
        if grant.openid:
            id_payload: dict[str, Any] = {
                "aud": client_id,
                "iss": issuer,
                "iat": now,
                "nbf": now,
                "exp": now + _ID_TOKEN_LIFETIME,
                "auth_time": auth_time,
                "name": user["name"],
                "oid": user["oid"],
                "preferred_username": username,
                "sub": subject,
                "tid": tenant_id,
                "uti": secrets.token_urlsafe(16),
                "ver": "2.0",
            }
            if nonce:
                id_payload["nonce"] = nonce
            id_token = self._signer.sign(id_payload)
            self._issued_id.append(id_token)
            response["id_token"] = id_token
        if want_client_info:
            response["client_info"] = b64url(
                json.dumps({"uid": user["oid"], "utid": user["tenant_id"]})
            )
        return response

    def _issue_app_token(
        self, client_id: str, grant: ScopeGrant, tenant_id: str, claims: str | None
    ) -> dict[str, Any]:
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
        access_token = self._signer.sign(payload)
        self._issued_access.append(access_token)
        return {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access_token,
        }

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
            dc = _DeviceCode(
                device_code=device_code,
                user_code=user_code,
                client_id=client_id,
                scope=form.get("scope", ""),
                tenant=tenant,
                claims=form.get("claims"),
                created=now,
                expires_at=now + lifetime,
            )
            self._device_codes[device_code] = dc
            self._user_codes[user_code] = device_code
            if self._auto_approve:
                self.approve(user_code, self._auto_approve)
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
        client_id = form.get("client_id") or self._basic_client_id(authorization)
        if not client_id:
            raise EmulatorGrantError(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
            )
        self._check_client_secret(client_id, form, authorization, required=False)
        want_client_info = form.get("client_info") == "1"
        with self._lock:
            if grant_type == GRANT_DEVICE_CODE:
                return self._grant_device_code(client_id, form, want_client_info)
            if grant_type == GRANT_REFRESH_TOKEN:
                return self._grant_refresh_token(tenant, client_id, form, want_client_info)
            if grant_type == GRANT_AUTHORIZATION_CODE:
                return self._grant_authorization_code(client_id, form, want_client_info)
            if grant_type == GRANT_CLIENT_CREDENTIALS:
                self._check_client_secret(client_id, form, authorization, required=True)
                grant = resolve_scopes(form.get("scope", ""), app_only=True)
                tenant_id = tenant if is_guid(tenant) else self.default_tenant_id
                return self._issue_app_token(client_id, grant, tenant_id, form.get("claims"))
        raise EmulatorGrantError(
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'.",
        )

    @staticmethod
    def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
        if not authorization or not authorization.lower().startswith("basic "):
            return None
        try:
            raw = base64.b64decode(authorization[6:].strip()).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, _, password = raw.partition(":")
        return unquote_plus(user), unquote_plus(password)

    def _basic_client_id(self, authorization: str | None) -> str | None:
        creds = self._basic_credentials(authorization)
        return creds[0] if creds else None

    def _check_client_secret(
        self, client_id: str, form: dict[str, str], authorization: str | None, *, required: bool
    ) -> None:
        basic = self._basic_credentials(authorization)
        secret = form.get("client_secret") or (basic[1] if basic else None)
        has_assertion = bool(form.get("client_assertion")) and (
            form.get("client_assertion_type") == _JWT_BEARER
        )
        if has_assertion:
            return  # signatures are not verified
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

    def _grant_device_code(
        self, client_id: str, form: dict[str, str], want_client_info: bool
    ) -> dict[str, Any]:
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
        return self._issue_user_tokens(
            client_id=client_id,
            grant=grant,
            username=dc.username,
            tenant_id=dc.tenant_id,
            auth_time=dc.auth_time,
            claims=form.get("claims") or dc.claims,
            want_client_info=want_client_info,
        )

    def _grant_refresh_token(
        self, tenant: str, client_id: str, form: dict[str, str], want_client_info: bool
    ) -> dict[str, Any]:
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
        rt.used = True
        tenant_id = tenant if is_guid(tenant) else rt.tenant_id
        return self._issue_user_tokens(
            client_id=client_id,
            grant=grant,
            username=rt.username,
            tenant_id=tenant_id,
            auth_time=rt.auth_time,
            claims=form.get("claims"),
            want_client_info=want_client_info,
        )

    def _grant_authorization_code(
        self, client_id: str, form: dict[str, str], want_client_info: bool
    ) -> dict[str, Any]:
        ac = self._auth_codes.get(form.get("code") or "")
        if ac is None:
            raise EmulatorGrantError(
                "invalid_grant", 9002313, "Invalid request. The authorization code is unknown."
            )
        if ac.used:
            raise EmulatorGrantError(
                "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed."
            )
        if time.time() >= ac.expires_at:
            raise EmulatorGrantError(
                "invalid_grant", 70008, "The provided authorization code has expired."
            )
        if ac.client_id != client_id:
            raise EmulatorGrantError(
                "invalid_grant", 70000, "The authorization code was issued to a different client."
            )
        if form.get("redirect_uri") != ac.redirect_uri:
            raise EmulatorGrantError(
                "invalid_grant",
                500112,
                "The reply address does not match the reply address of the authorization request.",
            )
        if ac.code_challenge is not None:
            verifier = form.get("code_verifier") or ""
            if ac.code_challenge_method == "S256":
                computed = b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())
            else:
                computed = verifier
            if not verifier or not hmac.compare_digest(computed, ac.code_challenge):
                raise EmulatorGrantError(
                    "invalid_grant",
                    501481,
                    "The Code_Verifier does not match the code_challenge supplied in the "
                    "authorization request.",
                )
        ac.used = True
        grant = resolve_scopes(form.get("scope") or ac.scope)
        return self._issue_user_tokens(
            client_id=client_id,
            grant=grant,
            username=ac.username,
            tenant_id=ac.tenant_id,
            auth_time=ac.auth_time,
            claims=form.get("claims") or ac.claims,
            nonce=ac.nonce,
            want_client_info=want_client_info,
        )

    def handle_authorize(self, tenant: str, query: dict[str, str]) -> tuple[str, dict[str, str]]:
        """``GET /{tenant}/oauth2/v2.0/authorize``: sign the user in at once.

        Returns ``(redirect_uri, params)`` to send back; raises :class:`ValueError` for a request
        that cannot be redirected (missing ``client_id``/``redirect_uri``).
        """
        client_id = query.get("client_id")
        redirect_uri = query.get("redirect_uri")
        if not client_id or not redirect_uri:
            raise ValueError("client_id and redirect_uri are required")
        state = query.get("state")
        extra: dict[str, str] = {"state": state} if state else {}
        if query.get("response_type", "code").split()[0] != "code":
            return redirect_uri, {
                "error": "unsupported_response_type",
                "error_description": "AADSTS70005: Only response_type=code is emulated.",
                **extra,
            }
        method = query.get("code_challenge_method", "plain")
        if query.get("code_challenge") and method not in ("S256", "plain"):
            return redirect_uri, {
                "error": "invalid_request",
                "error_description": "AADSTS501491: Invalid code_challenge_method.",
                **extra,
            }
        try:
            resolve_scopes(query.get("scope", ""))
        except EmulatorGrantError as exc:
            return redirect_uri, {
                "error": exc.error,
                "error_description": f"AADSTS{exc.code}: {exc.description}",
                **extra,
            }
        with self._lock:
            username = query.get("login_hint") or self._auto_approve or self.default_username
            user = self._ensure_user(username)
            code = "1.emu." + secrets.token_urlsafe(48)
            self._auth_codes[code] = _AuthCode(
                client_id=client_id,
                redirect_uri=redirect_uri,
                scope=query.get("scope", ""),
                code_challenge=query.get("code_challenge") or None,
                code_challenge_method=method,
                nonce=query.get("nonce"),
                claims=query.get("claims"),
                username=username,
                tenant_id=tenant if is_guid(tenant) else user["tenant_id"],
                auth_time=now_s(),
                expires_at=time.time() + _AUTH_CODE_LIFETIME,
            )
        params = {"code": code, **extra, "session_state": str(uuid.uuid4())}
        if query.get("client_info") == "1":
            params["client_info"] = b64url(
                json.dumps({"uid": user["oid"], "utid": user["tenant_id"]})
            )
        return redirect_uri, params

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
