"""A small lookup of issued tokens in front of msal's cache, keyed by what was asked for.

msal keys a cached access token by the scopes the identity provider granted. When those
differ from the request (Entra answers ``<resource>/.default`` with the resource's granted
scopes), msal's own lookup scans every access token (~700 µs with 500 accounts) and, after a
restart, misses the token entirely. This lookup answers in O(1) by (account, requested
scopes, tenant), so a token for a guest tenant is found as fast as one for the home tenant
and never mixed up with it, and :func:`find_resource_token` finds the ``.default`` token
msal would miss.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ScopeNotAllowed
from ..models import AccessToken
from ..scopes import OIDC_SCOPES, check_policy

if TYPE_CHECKING:
    import msal

__all__ = ["TokenKey", "TokenLookup", "find_resource_token", "resource_of"]

#: (account selector in lower case, requested scopes, tenant asked for or "")
TokenKey = tuple[str, tuple[str, ...], str]


class TokenLookup:
    """Tokens handed out, until ``margin`` seconds before expiry or another process's change.

    ``stamp`` returns a value that changes whenever the cache file changed (a sign-out in
    another process, for example); a change empties the lookup.
    """

    def __init__(self, stamp: Callable[[], object], margin: Callable[[], float]) -> None:
        self._stamp = stamp
        self._margin = margin
        self._tokens: dict[TokenKey, AccessToken] = {}
        self._seen: object = None
        self._lock = threading.Lock()

    @staticmethod
    def key(account: str | None, scopes: tuple[str, ...], tenant: str | None = None) -> TokenKey:
        """The key of a request for ``scopes`` by ``account`` (a selector, or None) in
        ``tenant`` (checked and in lower case; None: the configured authority's)."""
        return ((account or "").strip().lower(), scopes, tenant or "")

    def get(self, key: TokenKey) -> AccessToken | None:
        """The token remembered for ``key`` while it is still fresh."""
        token = self._tokens.get(key)
        if token is None:
            return None
        if self._stamp() != self._seen:
            self.clear()
            return None
        if token.expires_on - time.time() <= self._margin():
            self._tokens.pop(key, None)
            return None
        return token

    def put(self, key: TokenKey, token: AccessToken) -> None:
        """Remember ``token`` as the answer for ``key``."""
        stamp = self._stamp()
        with self._lock:
            if stamp != self._seen:
                self._tokens.clear()
                self._seen = stamp
            self._tokens[key] = token

    def clear(self) -> None:
        """Forget every token."""
        with self._lock:
            self._tokens.clear()


def resource_of(scope: str) -> str:
    """The resource a URL scope belongs to, with its trailing ``/``: ``https://contoso.com/app1/``
    for ``https://contoso.com/app1/user_impersonation``; ``""`` for a bare name (``User.Read``)."""
    scheme, sep, rest = scope.partition("://")
    if not sep or "/" not in rest:
        return ""
    return f"{scheme}://{rest.rsplit('/', 1)[0]}/"


def find_resource_token(
    token_cache: msal.TokenCache,
    raw_account: Mapping[str, Any],
    scopes: tuple[str, ...],
    *,
    client_id: str,
    margin: float,
    allowed_scopes: Sequence[str] = (),
    realm: str | None = None,
) -> tuple[str, int] | None:
    """An unexpired cached token (secret, expires_on) for a ``<resource>/.default`` request.

    Entra answers ``.default`` with the resource's granted scopes and msal keys the cached
    token by those, so a token whose scopes all belong to exactly that resource is the one
    (``https://contoso.com/.default`` is never answered with a token for
    ``https://contoso.com/app1``). A token is returned only when the admin policy
    ``allowed_scopes`` admits its resource's ``.default`` or every scope it was granted.
    With ``realm`` (the tenant msal filed the token under), only that tenant's tokens count.
    """
    if len(scopes) != 1 or not scopes[0].endswith("/.default"):
        return None
    resource = resource_of(scopes[0])
    if not resource.partition("://")[2].strip("/"):
        return None  # no host: "https://.default" names no resource
    from msal import TokenCache

    query = {"home_account_id": raw_account.get("home_account_id"), "client_id": client_id}
    not_before = time.time() + margin
    environment = str(raw_account.get("environment", "")).lower()
    for entry in token_cache.search(TokenCache.CredentialType.ACCESS_TOKEN, query=query):
        targets = [t for t in entry.get("target", "").split() if t not in OIDC_SCOPES]
        if (
            targets
            and all(resource_of(t) == resource for t in targets)
            and int(entry.get("expires_on", 0)) > not_before
            and entry.get("environment", "").lower() == environment
            and (realm is None or str(entry.get("realm", "")).lower() == realm.lower())
            and _allowed(targets, resource, allowed_scopes)
        ):
            return entry["secret"], int(entry["expires_on"])
    return None


def _allowed(targets: Sequence[str], resource: str, allowed_scopes: Sequence[str]) -> bool:
    """Whether the admin policy admits a cached token of ``resource``: its ``.default``, or
    every scope it was granted."""
    for scopes in ([f"{resource}.default"], targets):
        try:
            check_policy(scopes, allowed_scopes)
        except ScopeNotAllowed:
            continue
        return True
    return False
