"""Continuous Access Evaluation as the Entra ID emulator plays it: a protected resource.

``GET {url}/_resource/<anything>`` (served by :mod:`.resource`) stands for an
Azure API (Storage, Graph...). It accepts the emulator's own access tokens until
:meth:`CaeChallenges.revoke_sessions` records a critical event for their user (password
reset, account disabled, a location change). From then on, a token issued before the event
is refused: a client that announced the ``CP1`` capability gets ``401`` with a claims
challenge, as CAE-enabled Azure APIs send it::

    WWW-Authenticate: Bearer realm="", authorization_uri="…/authorize",
        error="insufficient_claims", claims="<base64 of {"access_token":{"nbf":…}}>"

and any token issued after the event (the client's answer to the challenge) is accepted;
other clients get a plain ``401 invalid_token``. Nothing is revoked at the token endpoint:
the refresh token still works, so the challenge is answered silently (revoke refresh tokens
too to make the answer need a new sign-in).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from .core import EmulatorCore
from .tokens import decode_jwt, now_s

__all__ = ["CaeChallenges"]


def _user_of(claims: dict[str, Any]) -> str:
    return str(
        claims.get("upn") or claims.get("preferred_username") or claims.get("unique_name") or ""
    )


class CaeChallenges(EmulatorCore):
    """The state of the protected resource: which tokens a critical event revoked."""

    def revoke_sessions(self, username: str | None = None) -> int:
        """A critical event for ``username`` (everyone when None): the resource refuses every
        access token issued to them so far. Returns how many tokens that revoked."""
        with self._lock:
            revoked = [
                token
                for token in self._issued_access
                if username is None or _user_of(decode_jwt(token)) == username
            ]
            self._cae_revoked.update(revoked)
            self._cae_event_at = now_s()
            return len(revoked)

    def resource_answer(self, authorization: str | None) -> tuple[int, dict[str, Any], str | None]:
        """``(status, JSON body, WWW-Authenticate)`` of the protected resource for a request."""
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            known = token in self._issued_access
            revoked = token in self._cae_revoked
            event_at = self._cae_event_at
            self._counts["resource"] = self._counts.get("resource", 0) + 1
        if scheme.lower() != "bearer" or not known:
            return 401, {"error": "invalid_token"}, 'Bearer error="invalid_token"'
        claims = decode_jwt(token)
        if not revoked:
            return 200, {"ok": True, "user": _user_of(claims)}, None
        if "CP1" not in json.dumps(claims.get("claims_seen") or {}):
            return 401, {"error": "invalid_token"}, 'Bearer error="invalid_token"'
        challenge = json.dumps(
            {"access_token": {"nbf": {"essential": True, "value": str(event_at)}}}
        )
        encoded = base64.b64encode(challenge.encode()).decode()
        header = (
            f'Bearer realm="", authorization_uri="{self.url}/common/oauth2/authorize", '
            f'error="insufficient_claims", claims="{encoded}"'
        )
        return 401, {"error": "insufficient_claims"}, header
