"""jupyter_msal.identity.lookup: the O(1) token lookup and the ``.default`` cache search."""

from __future__ import annotations

import time
from typing import Any

import msal
import pytest

from jupyter_msal.identity.lookup import TokenLookup, find_resource_token
from jupyter_msal.models import AccessToken

CLIENT = "client-1"
STORAGE = "https://storage.azure.com/.default"


class Clock:
    """A cache-file stamp and a refresh margin that tests change by hand."""

    def __init__(self) -> None:
        self.stamp: object = 1
        self.margin = 300.0


@pytest.fixture
def box() -> Clock:
    return Clock()


@pytest.fixture
def lookup(box: Clock) -> TokenLookup:
    return TokenLookup(lambda: box.stamp, lambda: box.margin)


def token(secret: str, expires_in: float) -> AccessToken:
    return AccessToken(secret, time.time() + expires_in, (STORAGE,))


@pytest.mark.parametrize(
    ("account", "scopes", "expected"),
    [
        (None, (STORAGE,), ("", (STORAGE,), "")),
        ("", (STORAGE,), ("", (STORAGE,), "")),
        ("  Ada@Contoso.COM ", (STORAGE,), ("ada@contoso.com", (STORAGE,), "")),
        ("uid.utid", ("a", "b"), ("uid.utid", ("a", "b"), "")),
    ],
)
def test_key_normalizes_the_account(account: str | None, scopes: tuple[str, ...], expected: Any):
    assert TokenLookup.key(account, scopes) == expected


def test_get_returns_what_put_stored(lookup: TokenLookup):
    key = TokenLookup.key("ada", (STORAGE,))
    assert lookup.get(key) is None
    lookup.put(key, token("t1", 3600))
    assert lookup.get(key) == "t1"
    assert lookup.get(TokenLookup.key("ADA", (STORAGE,))) == "t1"
    assert lookup.get(TokenLookup.key("bob", (STORAGE,))) is None
    assert lookup.get(TokenLookup.key("ada", ("other",))) is None


@pytest.mark.parametrize(
    ("expires_in", "margin", "found"),
    [
        (3600, 300, True),
        (301, 300, True),
        (299, 300, False),
        (-10, 0, False),
        (100, 0, True),
    ],
)
def test_get_forgets_tokens_inside_the_margin(
    lookup: TokenLookup, box: Clock, expires_in: float, margin: float, found: bool
):
    box.margin = margin
    key = TokenLookup.key("ada", (STORAGE,))
    lookup.put(key, token("t1", expires_in))
    assert (lookup.get(key) is not None) is found
    if not found:  # dropped, not only hidden
        box.margin = -10_000
        assert lookup.get(key) is None


def test_a_changed_stamp_empties_the_lookup(lookup: TokenLookup, box: Clock):
    ada, bob = TokenLookup.key("ada", (STORAGE,)), TokenLookup.key("bob", (STORAGE,))
    lookup.put(ada, token("t1", 3600))
    lookup.put(bob, token("t2", 3600))
    box.stamp = 2  # the cache file changed in another process
    assert lookup.get(ada) is None
    box.stamp = 1
    assert lookup.get(bob) is None  # emptied, not only hidden


def test_put_after_a_change_keeps_only_the_new_token(lookup: TokenLookup, box: Clock):
    ada, bob = TokenLookup.key("ada", (STORAGE,)), TokenLookup.key("bob", (STORAGE,))
    lookup.put(ada, token("t1", 3600))
    box.stamp = 2
    lookup.put(bob, token("t2", 3600))
    assert lookup.get(bob) == "t2"
    assert lookup.get(ada) is None


def test_clear_forgets_every_token(lookup: TokenLookup):
    key = TokenLookup.key("ada", (STORAGE,))
    lookup.put(key, token("t1", 3600))
    lookup.clear()
    assert lookup.get(key) is None


# ----------------------------------------------------------------- find_resource_token
HOME = "uid.utid"
ENV = "login.example.org"


def cache_with(*entries: tuple[str, str, int, str]) -> msal.TokenCache:
    """An msal cache holding access tokens ``(secret, target, expires_on, environment)``."""
    cache = msal.TokenCache()
    for secret, target, expires_on, environment in entries:
        key = f"{HOME}-{environment}-accesstoken-{CLIENT}-utid-{target}".lower()
        cache._cache.setdefault("AccessToken", {})[key] = {
            "credential_type": "AccessToken",
            "secret": secret,
            "home_account_id": HOME,
            "environment": environment,
            "client_id": CLIENT,
            "target": target,
            "realm": "utid",
            "cached_at": str(int(time.time())),
            "expires_on": str(expires_on),
        }
    return cache


ACCOUNT = {"home_account_id": HOME, "environment": ENV}


@pytest.mark.parametrize(
    ("target", "expires_in", "environment", "found"),
    [
        ("https://storage.azure.com/user_impersonation", 3600, ENV, True),
        ("https://storage.azure.com/user_impersonation openid profile", 3600, ENV, True),
        ("https://storage.azure.com/.default", 3600, ENV.upper(), True),
        ("https://storage.azure.com/user_impersonation", 100, ENV, False),  # inside the margin
        ("https://storage.azure.com/a https://graph.microsoft.com/b", 3600, ENV, False),
        ("https://graph.microsoft.com/User.Read", 3600, ENV, False),
        ("openid profile", 3600, ENV, False),
        ("https://storage.azure.com/user_impersonation", 3600, "login.other.org", False),
    ],
)
def test_find_resource_token(target: str, expires_in: int, environment: str, found: bool):
    expires_on = int(time.time()) + expires_in
    cache = cache_with(("secret-1", target, expires_on, environment))
    result = find_resource_token(cache, ACCOUNT, (STORAGE,), client_id=CLIENT, margin=300)
    assert result == (("secret-1", expires_on) if found else None)


@pytest.mark.parametrize(
    "scopes",
    [("https://storage.azure.com/user_impersonation",), (STORAGE, "openid"), ()],
)
def test_find_resource_token_only_answers_one_default_scope(scopes: tuple[str, ...]):
    cache = cache_with(
        ("secret-1", "https://storage.azure.com/user_impersonation", int(time.time()) + 3600, ENV)
    )
    assert find_resource_token(cache, ACCOUNT, scopes, client_id=CLIENT, margin=0) is None


def test_find_resource_token_keeps_to_the_account_and_client():
    cache = cache_with(
        ("secret-1", "https://storage.azure.com/user_impersonation", int(time.time()) + 3600, ENV)
    )
    other_account = {"home_account_id": "someone.else", "environment": ENV}
    assert find_resource_token(cache, other_account, (STORAGE,), client_id=CLIENT, margin=0) is None
    assert find_resource_token(cache, ACCOUNT, (STORAGE,), client_id="other", margin=0) is None
