"""A ``<R>/.default`` request is answered from the cache only with a token for exactly R.

Entra answers ``R/.default`` with R's granted scopes (``R/user_impersonation``), which the
emulator does with ``expand_default_scope``; the service then finds the cached token by its
resource. A token for ``https://contoso.com/app1`` must not answer a request for
``https://contoso.com/.default``: the audience would be wrong.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import msal
import pytest

from jupyter_msal.identity.lookup import find_resource_token, resource_of
from jupyter_msal.testing import EntraEmulator

APP1 = "https://contoso.com/app1/.default"
PARENT = "https://contoso.com/.default"


def audience(token: str) -> str:
    """The ``aud`` claim of a JWT access token (its signature is not checked)."""
    payload = token.split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["aud"])


async def test_parent_resource_is_not_answered_with_a_child_token(
    api: Any, sign_in: Any, msal_emulator: EntraEmulator
) -> None:
    msal_emulator.expand_default_scope = True
    await sign_in()
    status, app1 = await api("POST", "token", {"scopes": [APP1]})
    assert status == 200 and audience(app1["access_token"]) == "https://contoso.com/app1"

    msal_emulator.reset_counts()
    status, parent = await api("POST", "token", {"scopes": [PARENT]})
    assert status == 200, parent
    assert msal_emulator.counts["token"] == 1  # asked the identity provider
    assert parent["access_token"] != app1["access_token"]
    assert audience(parent["access_token"]) == "https://contoso.com"

    msal_emulator.reset_counts()
    status, again = await api("POST", "token", {"scopes": [APP1]})
    assert status == 200 and again["access_token"] == app1["access_token"]
    assert msal_emulator.counts["token"] == 0  # the exact resource still comes from the cache


async def test_a_scope_without_a_host_never_gets_a_cached_token(
    api: Any, sign_in: Any, msal_emulator: EntraEmulator
) -> None:
    msal_emulator.expand_default_scope = True
    await sign_in()
    status, app1 = await api("POST", "token", {"scopes": [APP1]})
    assert status == 200
    status, body = await api("POST", "token", {"scopes": ["https://.default"]})
    assert body.get("access_token") != app1["access_token"]


# ----------------------------------------------------------------- the cache search itself
HOME, ENV, CLIENT = "uid.utid", "login.example.org", "client-1"
ACCOUNT = {"home_account_id": HOME, "environment": ENV}


def cache_with(target: str) -> msal.TokenCache:
    """An msal cache holding one access token granted ``target``."""
    cache = msal.TokenCache()
    key = f"{HOME}-{ENV}-accesstoken-{CLIENT}-utid-{target}".lower()
    cache._cache.setdefault("AccessToken", {})[key] = {
        "credential_type": "AccessToken",
        "secret": "secret-1",
        "home_account_id": HOME,
        "environment": ENV,
        "client_id": CLIENT,
        "target": target,
        "realm": "utid",
        "cached_at": str(int(time.time())),
        "expires_on": str(int(time.time()) + 3600),
    }
    return cache


@pytest.mark.parametrize(
    ("target", "request_scope", "found"),
    [
        ("https://contoso.com/app1/user_impersonation", APP1, True),
        ("https://contoso.com/app1/user_impersonation", PARENT, False),
        ("https://contoso.com/app1/.default", PARENT, False),
        ("https://contoso.com/app1/user_impersonation", "https://.default", False),
        ("https://contoso.com/user_impersonation", PARENT, True),
        ("https://contoso.com/user_impersonation", APP1, False),
        ("https://contoso.com.evil/user_impersonation", PARENT, False),
    ],
)
def test_find_resource_token_compares_the_resource_exactly(
    target: str, request_scope: str, found: bool
) -> None:
    result = find_resource_token(
        cache_with(target), ACCOUNT, (request_scope,), client_id=CLIENT, margin=0
    )
    assert (result is not None) is found


def test_find_resource_token_applies_the_policy_to_what_it_returns() -> None:
    cache = cache_with("https://contoso.com/app1/user_impersonation")
    kwargs: dict[str, Any] = {"client_id": CLIENT, "margin": 0}
    assert find_resource_token(cache, ACCOUNT, (APP1,), **kwargs) is not None
    admitted = find_resource_token(cache, ACCOUNT, (APP1,), allowed_scopes=[APP1], **kwargs)
    assert admitted is not None  # the resource's .default admits what it was granted
    refused = find_resource_token(
        cache, ACCOUNT, (APP1,), allowed_scopes=["https://storage.azure.com/*"], **kwargs
    )
    assert refused is None


@pytest.mark.parametrize(
    ("scope", "resource"),
    [
        ("https://contoso.com/app1/user_impersonation", "https://contoso.com/app1/"),
        ("https://storage.azure.com/.default", "https://storage.azure.com/"),
        ("api://guid/access_as_user", "api://guid/"),
        ("https://storage.azure.com", ""),
        ("User.Read", ""),
    ],
)
def test_resource_of(scope: str, resource: str) -> None:
    assert resource_of(scope) == resource
