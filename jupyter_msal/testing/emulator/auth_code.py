"""The authorization-code grant (with PKCE) of the Entra ID emulator.

``GET /{tenant}/oauth2/v2.0/authorize`` signs the user in at once and hands out a code; the
token endpoint redeems it once, checking the client, the redirect URI and the PKCE verifier.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from typing import Any

from .minting import TokenMinting
from .policies import SignInPolicies
from .records import AuthCode
from .tokens import EmulatorGrantError, b64url, is_guid, now_s, resolve_scopes

__all__ = ["AuthorizationCodeGrant"]

_AUTH_CODE_LIFETIME = 600


class AuthorizationCodeGrant(SignInPolicies, TokenMinting):
    """Authorization codes: the authorize endpoint and their redemption."""

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
        refusal = self._authorize_refusal(query)
        if refusal is not None:
            error, description = refusal
            return redirect_uri, {"error": error, "error_description": description, **extra}
        method = query.get("code_challenge_method", "plain")
        with self._lock:
            username = query.get("login_hint") or self._auto_approve or self.default_username
            user = self._ensure_user(username)
            code = "1.emu." + secrets.token_urlsafe(48)
            self._auth_codes[code] = AuthCode(
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
                params["client_info"] = self.client_info(username)
        return redirect_uri, params

    def _authorize_refusal(self, query: dict[str, str]) -> tuple[str, str] | None:
        """``(error, error_description)`` when the authorize request must be refused."""
        if query.get("response_type", "code").split()[0] != "code":
            return "unsupported_response_type", "AADSTS70005: Only response_type=code is emulated."
        method = query.get("code_challenge_method", "plain")
        if query.get("code_challenge") and method not in ("S256", "plain"):
            return "invalid_request", "AADSTS501491: Invalid code_challenge_method."
        blocked = self.sign_in_block("auth_code")
        if blocked is not None:
            return "access_denied", f"AADSTS{blocked.code}: {blocked.description}"
        try:
            resolve_scopes(query.get("scope", ""))
        except EmulatorGrantError as exc:
            return exc.error, f"AADSTS{exc.code}: {exc.description}"
        return None

    def grant_authorization_code(
        self, client_id: str, form: dict[str, str], want_client_info: bool
    ) -> dict[str, Any]:
        """The token endpoint's authorization-code grant; the caller holds the lock."""
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
        return self.issue_user_tokens(
            client_id=client_id,
            grant=grant,
            username=ac.username,
            tenant_id=ac.tenant_id,
            auth_time=ac.auth_time,
            claims=form.get("claims") or ac.claims,
            nonce=ac.nonce,
            want_client_info=want_client_info,
        )
