"""Token minting, scope rules and Entra-shaped errors for the Entra ID emulator.

Nothing here touches the network or shared state; :mod:`.core` calls these helpers
while holding its lock.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_TENANT_ID",
    "DEFAULT_USERNAME",
    "GRAPH_RESOURCE",
    "OIDC_SCOPES",
    "V1_RESOURCE_HOSTS",
    "EmulatorGrantError",
    "ScopeGrant",
    "TokenSigner",
    "b64url",
    "decode_jwt",
    "entra_error_body",
    "is_guid",
    "new_user_code",
    "normalize_user_code",
    "now_s",
    "oid_for",
    "resolve_scopes",
]

#: Tenant id the emulator gives users unless told otherwise (a made-up GUID).
DEFAULT_TENANT_ID = "8d0e1f7a-5c3b-4e2d-9a61-0c0ffee0e1d0"
#: Username approve() and the sign-in pages use unless told otherwise.
DEFAULT_USERNAME = "ada@contoso.com"
#: The resource bare scopes such as ``User.Read`` belong to, as in Entra ID.
GRAPH_RESOURCE = "https://graph.microsoft.com"
#: OpenID Connect scopes; they select what the response contains, not the audience.
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
#: Hosts (fnmatch patterns) of first-party resources whose access tokens Entra ID issues in the
#: v1 format: Azure Storage, Key Vault, Resource Manager, SQL, Data Lake, Data Explorer, Service
#: Bus, Event Hubs, Cognitive Services, Microsoft Graph.
V1_RESOURCE_HOSTS = frozenset(
    {
        "storage.azure.com",
        "*.core.windows.net",
        "vault.azure.net",
        "*.vault.azure.net",
        "management.azure.com",
        "management.core.windows.net",
        "database.windows.net",
        "*.database.windows.net",
        "datalake.azure.net",
        "*.kusto.windows.net",
        "kusto.kusto.windows.net",
        "servicebus.azure.net",
        "eventhubs.azure.net",
        "cognitiveservices.azure.com",
        "graph.microsoft.com",
    }
)

# Letters only, without vowels (no accidental words) and without I/O (no 1/0 confusion).
_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_OID_NAMESPACE = uuid.UUID("5b0f7a52-8a8e-4f7e-9d55-4a3a6f2d0e11")


class EmulatorGrantError(Exception):
    """A protocol error the token or device-code endpoint answers with an Entra-shaped body."""

    def __init__(
        self,
        error: str,
        code: int,
        description: str,
        status: int = 400,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{error}: AADSTS{code}: {description}")
        self.error = error
        self.code = code
        self.description = description
        self.status = status
        self.extra = dict(extra or {})


def b64url(data: bytes | str) -> str:
    """Base64url-encode ``data`` without padding."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_jwt(token: str) -> dict[str, Any]:
    """Return the payload of a JWT without verifying it (for tests that inspect claims)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a JWT: expected three dot-separated parts")
    return json.loads(_b64url_decode(parts[1]))


def is_guid(text: str) -> bool:
    """True when ``text`` looks like a GUID (a tenant id rather than a tenant name)."""
    return bool(_GUID_RE.match(text))


def oid_for(username: str) -> str:
    """A stable object id for ``username``, so accounts survive emulator restarts."""
    return str(uuid.uuid5(_OID_NAMESPACE, username.strip().lower()))


def new_user_code() -> str:
    """A fresh user code shaped like ``BCDF-GHJK``."""
    letters = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(8))
    return f"{letters[:4]}-{letters[4:]}"


def normalize_user_code(text: str) -> str:
    """Canonical form of a typed user code: upper case, no blanks, dash in the middle."""
    cleaned = re.sub(r"[\s-]", "", text or "").upper()
    if len(cleaned) == 8:
        return f"{cleaned[:4]}-{cleaned[4:]}"
    return cleaned


def entra_error_body(
    error: str,
    code: int,
    description: str,
    *,
    base_url: str,
    correlation_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An error body shaped like the ones Entra ID's v2.0 endpoints return."""
    now = datetime.datetime.now(datetime.timezone.utc)
    timestamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    trace_id = str(uuid.uuid4())
    correlation_id = correlation_id or str(uuid.uuid4())
    body: dict[str, Any] = {
        "error": error,
        "error_description": (
            f"AADSTS{code}: {description}\r\nTrace ID: {trace_id}\r\n"
            f"Correlation ID: {correlation_id}\r\nTimestamp: {timestamp}"
        ),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": f"{base_url}/error?code={code}",
    }
    body.update(extra or {})
    return body


@dataclass(frozen=True)
class ScopeGrant:
    """What a token request's ``scope`` parameter resolves to.

    ``resource`` becomes the access token's ``aud``; ``response_scopes`` is the ``scope`` field of
    the token response (msal's cache key); ``scp`` the access token's ``scp`` claim.
    """

    resource: str
    response_scopes: tuple[str, ...]
    scp: tuple[str, ...]
    openid: bool
    offline_access: bool


def _split_scope(scope: str) -> tuple[str, str]:
    """Split ``https://host/path/perm`` into (resource, permission) as Entra ID does."""
    if "://" in scope:
        start = scope.index("://") + 3
        cut = scope.rfind("/")
        if cut < start:  # a bare resource URI such as "https://storage.azure.com"
            return scope, ""
        return scope[:cut], scope[cut + 1 :]
    if "/" in scope:  # "<app id GUID>/perm"
        resource, _, perm = scope.rpartition("/")
        return resource, perm
    return GRAPH_RESOURCE, scope


def resolve_scopes(scope_param: str, *, app_only: bool = False) -> ScopeGrant:
    """Resolve a space-separated ``scope`` parameter the way Entra ID v2.0 does.

    * ``R/.default`` expands to ``R/user_impersonation R/.default`` (``User.Read`` for Graph), so
      msal finds the cached token again when it asks for ``R/.default``.
    * Bare names (``User.Read``) belong to Microsoft Graph, answered in the short form plus
      ``openid profile email`` when ``openid`` was asked for, as Entra does for Graph.
    * Only OIDC scopes: a Graph token for ``User.Read``.
    * Scopes of two resources in one request: ``invalid_scope`` (AADSTS28000).
    * ``app_only`` (client credentials): exactly one ``R/.default`` (AADSTS1002012 otherwise).
    """
    requested = [s for s in (scope_param or "").split() if s]
    oidc = {s for s in requested if s in OIDC_SCOPES}
    resource_scopes = [s for s in requested if s not in OIDC_SCOPES]
    if app_only:
        if len(resource_scopes) != 1 or not resource_scopes[0].endswith("/.default"):
            raise EmulatorGrantError(
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope_param} is not valid. Client credential "
                "flows must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        resource, _ = _split_scope(resource_scopes[0])
        return ScopeGrant(resource, (), (), False, False)
    if not resource_scopes:
        resource_scopes = ["User.Read"]
    split = [_split_scope(s) for s in resource_scopes]
    resources = {r for r, _ in split}
    if len(resources) > 1:
        raise EmulatorGrantError(
            "invalid_scope",
            28000,
            f"Provided value for the input parameter scope is not valid because it contains more "
            f"than one resource. Scope {' '.join(requested)} is not valid.",
        )
    resource = resources.pop()
    is_graph = resource == GRAPH_RESOURCE
    default_perm = "User.Read" if is_graph else "user_impersonation"
    response: list[str] = []
    scp: list[str] = []
    for original, (_, perm) in zip(resource_scopes, split, strict=True):
        bare = "://" not in original and "/" not in original
        if perm in (".default", ""):
            response += [f"{resource}/{default_perm}", f"{resource}/.default"]
            scp.append(default_perm)
        else:
            response.append(original if bare else f"{resource}/{perm}")
            scp.append(perm)
    if is_graph and "openid" in oidc:
        response += ["openid", "profile", "email"]
        scp += ["openid", "profile", "email"]
    return ScopeGrant(
        resource=resource,
        response_scopes=tuple(dict.fromkeys(response)),
        scp=tuple(dict.fromkeys(scp)),
        openid="openid" in oidc,
        offline_access="offline_access" in oidc,
    )


class TokenSigner:
    """Signs JWTs with a throwaway RSA key (RS256) and publishes the matching JWKS."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self._key.public_key().public_numbers()
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
        self.kid = b64url(hashlib.sha256(n).digest()[:15])
        self.jwk: dict[str, Any] = {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": self.kid,
            "n": b64url(n),
            "e": b64url(e),
        }

    def sign(self, payload: dict[str, Any]) -> str:
        """Return a compact RS256 JWT for ``payload``."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid}
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")))
            + "."
            + b64url(json.dumps(payload, separators=(",", ":")))
        )
        signature = self._key.sign(
            signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()
        )
        return f"{signing_input}.{b64url(signature)}"

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set served at the discovery document's ``jwks_uri``."""
        return {"keys": [dict(self.jwk)]}


def now_s() -> int:
    """Current time as whole seconds (token ``iat``/``exp`` granularity)."""
    return int(time.time())
