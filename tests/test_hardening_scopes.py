"""``allowed_scopes`` patterns match the host and the path of a scope separately.

``*`` in a host pattern stays inside one label, so it can neither cross a ``/`` into the path
nor a ``.`` into another domain; a path wildcard never admits a dot segment or a
percent-encoding that could hide one.
"""

from __future__ import annotations

import pytest

from jupyter_msal.errors import ScopeNotAllowed
from jupyter_msal.scopes import check_policy, resolve_scopes, scope_matches

VAULT = "https://*.vault.azure.net/.default"
STORAGE = "https://storage.azure.com/*"

ADMITTED = [
    (VAULT, "https://kv1.vault.azure.net/.default"),
    (VAULT, "https://my-vault-01.vault.azure.net/.default"),
    (STORAGE, "https://storage.azure.com/.default"),
    (STORAGE, "https://storage.azure.com/user_impersonation"),
    ("https://contoso.com/*", "https://contoso.com/app1/.default"),
    ("https://storage.azure.com/.default", "https://storage.azure.com/.default"),
    ("https://*.blob.core.windows.net/*", "https://acct.blob.core.windows.net/.default"),
    ("https://localhost:*/*", "https://localhost:10000/.default"),
    ("api://*/access_as_user", "api://6b1c0f52-0000-4000-8000-000000000001/access_as_user"),
    ("User.Read", "User.Read"),
    ("Mail.*", "Mail.Send"),
    # "*" alone is the explicit "everything", as an empty policy is
    ("*", "https://storage.azure.com/.default"),
    ("*", "User.Read"),
]

REFUSED = [
    # a host wildcard crossing "/" into the path, or "." into another domain
    (VAULT, "https://evil.example/x.vault.azure.net/.default"),
    (VAULT, "https://evil.example/.vault.azure.net/.default"),
    (VAULT, "https://a.b.vault.azure.net/.default"),
    (VAULT, "https://vault.azure.net/.default"),
    (VAULT, "https://evil?.vault.azure.net/.default"),
    (VAULT, "https://evil#.vault.azure.net/.default"),
    (VAULT, "https://x.vault.azure.net@evil.example/.default"),
    (VAULT, "https://x.vault.azure.net.evil.example/.default"),
    (VAULT, "https://x.vault.azure.net:443/.default"),
    (VAULT, "https://x.vault.azure.net/.default/more"),
    # dot segments, plain and percent-encoded, at any depth
    (STORAGE, "https://storage.azure.com/../evil"),
    (STORAGE, "https://storage.azure.com/./.default"),
    (STORAGE, "https://storage.azure.com/x/../../evil/.default"),
    (STORAGE, "https://storage.azure.com/%2e%2e/evil"),
    (STORAGE, "https://storage.azure.com/%2E%2E/evil"),
    (STORAGE, "https://storage.azure.com/.%2e/evil"),
    (STORAGE, "https://storage.azure.com/%252e%252e/evil"),
    (STORAGE, "https://storage.azure.com/x%2f..%2fevil"),
    (STORAGE, "https://storage.azure.com/..?x"),
    # another host, scheme or case
    (STORAGE, "https://storage.azure.com.evil.example/.default"),
    (STORAGE, "https://storage.azure.comevil/.default"),
    (STORAGE, "http://storage.azure.com/.default"),
    (STORAGE, "HTTPS://STORAGE.AZURE.COM/.default"),
    # bare patterns admit only bare names, URL patterns only URLs
    ("*.Read", "https://evil.example/User.Read"),
    ("User.Read", "https://x/User.Read"),
    ("https://*/*", "User.Read"),
]


@pytest.mark.parametrize(("pattern", "scope"), ADMITTED)
def test_admitted(pattern: str, scope: str) -> None:
    assert scope_matches(scope, pattern)
    check_policy([scope], [pattern])


@pytest.mark.parametrize(("pattern", "scope"), REFUSED)
def test_refused(pattern: str, scope: str) -> None:
    assert not scope_matches(scope, pattern)
    with pytest.raises(ScopeNotAllowed):
        resolve_scopes([scope], allowed_scopes=[pattern])


def test_openid_scopes_stay_allowed() -> None:
    check_policy(["openid", "profile", "offline_access", "email"], [VAULT])
