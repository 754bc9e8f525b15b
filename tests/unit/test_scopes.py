"""jupyter_msal.scopes: scope parsing, validation and the admin scope policy."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_msal.errors import BadRequest, ScopeNotAllowed
from jupyter_msal.scopes import (
    MAX_ACCOUNT_LENGTH,
    MAX_CLAIMS_LENGTH,
    MAX_SCOPE_LENGTH,
    MAX_SCOPES,
    check_account_selector,
    check_claims,
    check_policy,
    check_scope,
    flatten_scopes,
    resolve_scopes,
)

STORAGE = "https://storage.azure.com/.default"
GRAPH = "https://graph.microsoft.com/User.Read"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ((), ()),
        ((None,), ()),
        (("b a",), ("a", "b")),
        (("a b", ["c"]), ("a", "b", "c")),
        ((["b", "a b"], "a"), ("a", "b")),
        ((STORAGE,), (STORAGE,)),
    ],
)
def test_flatten_scopes_sorts_and_deduplicates(given: tuple[Any, ...], expected: tuple[str, ...]):
    assert flatten_scopes(given) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ((42,), "not int"),
        ((["a", 7],), "not int"),
        (("a\tb",), "'\\t' is not allowed"),
        (('a"b',), "is not allowed"),
    ],
)
def test_flatten_scopes_refuses(given: tuple[Any, ...], message: str):
    with pytest.raises(BadRequest, match=message.replace("\\", "\\\\")):
        flatten_scopes(given)


@pytest.mark.parametrize(
    "scope", [STORAGE, "openid", "api://1234/Files.Read", "x" * MAX_SCOPE_LENGTH, "!#[]~"]
)
def test_check_scope_accepts_rfc6749_tokens(scope: str):
    assert check_scope(scope) == scope


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ("", "printable ASCII"),
        ("a b", "printable ASCII"),
        ('a"b', "printable ASCII"),
        ("a\\b", "printable ASCII"),
        ("caf\u00e9", "printable ASCII"),
        ("x" * (MAX_SCOPE_LENGTH + 1), "too long"),
    ],
)
def test_check_scope_refuses(scope: str, message: str):
    with pytest.raises(BadRequest, match=message):
        check_scope(scope)


def test_check_scope_message_escapes_and_cuts_the_value():
    with pytest.raises(BadRequest) as caught:
        check_scope("\u202e" + "y" * 100)
    assert "\\u202e" in caught.value.message
    assert "y" * 61 not in caught.value.message
    assert "…" in caught.value.message or "\\u2026" in caught.value.message


@pytest.mark.parametrize(
    "selector", ["ada@contoso.com", "uid.utid", "a" * MAX_ACCOUNT_LENGTH, "Ünïcode@example.org"]
)
def test_check_account_selector_accepts(selector: str):
    assert check_account_selector(selector) == selector


@pytest.mark.parametrize(
    "selector",
    [
        "",
        "a" * (MAX_ACCOUNT_LENGTH + 1),
        "ada @contoso.com",
        "ada\n",
        "ada\u200b@contoso.com",  # zero-width space (format)
        "\u202eada",  # bidi override
        "\ud800",  # lone surrogate
        42,
        None,
    ],
)
def test_check_account_selector_refuses(selector: Any):
    with pytest.raises(BadRequest):
        check_account_selector(selector)


@pytest.mark.parametrize("claims", ["{}", '{"access_token": {"xms_cc": {"values": ["cp1"]}}}'])
def test_check_claims_accepts_json_objects(claims: str):
    assert check_claims(claims) == claims


@pytest.mark.parametrize(
    "claims",
    ["", "[]", "null", '"text"', "{", "[" * 100_000, " " * (MAX_CLAIMS_LENGTH + 1), 5, "\ud800"],
)
def test_check_claims_refuses(claims: Any):
    with pytest.raises(BadRequest):
        check_claims(claims)


@pytest.mark.parametrize(
    ("scopes", "allowed"),
    [
        ([STORAGE], ()),
        ([STORAGE], ["https://storage.azure.com/*"]),
        ([STORAGE, GRAPH], ["https://storage.azure.com/*", "https://graph.microsoft.com/*"]),
        (["openid", "profile", "offline_access", "email"], ["https://storage.azure.com/*"]),
    ],
)
def test_check_policy_allows(scopes: list[str], allowed: list[str]):
    check_policy(scopes, allowed)


@pytest.mark.parametrize(
    ("scopes", "allowed"),
    [
        ([GRAPH], ["https://storage.azure.com/*"]),
        ([STORAGE, GRAPH], ["https://storage.azure.com/*"]),
        (["HTTPS://STORAGE.AZURE.COM/.default"], ["https://storage.azure.com/*"]),
    ],
)
def test_check_policy_refuses(scopes: list[str], allowed: list[str]):
    with pytest.raises(ScopeNotAllowed) as caught:
        check_policy(scopes, allowed)
    assert caught.value.details["policy"] == "JupyterMsal.allowed_scopes"
    assert caught.value.hint


@pytest.mark.parametrize(
    ("requested", "defaults", "expected"),
    [
        ([STORAGE], (), (STORAGE,)),
        (STORAGE + " " + GRAPH, (), (GRAPH, STORAGE)),
        (None, (STORAGE,), (STORAGE,)),
        ([], (STORAGE,), (STORAGE,)),
        ([GRAPH], (STORAGE,), (GRAPH,)),
        ([STORAGE, "openid", "offline_access"], (), (STORAGE,)),
        (["openid", "profile"], (), ("openid", "profile")),
        ((STORAGE, STORAGE), (), (STORAGE,)),
    ],
)
def test_resolve_scopes(requested: Any, defaults: tuple[str, ...], expected: tuple[str, ...]):
    assert resolve_scopes(requested, default_scopes=defaults) == expected


@pytest.mark.parametrize(
    ("requested", "message"),
    [
        (None, "Name at least one scope"),
        ([], "Name at least one scope"),
        ({"scope": STORAGE}, "list of strings"),
        ([STORAGE, 3], "list of strings"),
        ([f"s{i}" for i in range(MAX_SCOPES + 1)], f"At most {MAX_SCOPES} scopes"),
        (["bad\\scope"], "printable ASCII"),
    ],
)
def test_resolve_scopes_refuses(requested: Any, message: str):
    with pytest.raises(BadRequest, match=message):
        resolve_scopes(requested)


def test_resolve_scopes_applies_the_policy_to_defaults_too():
    with pytest.raises(ScopeNotAllowed):
        resolve_scopes(None, default_scopes=[GRAPH], allowed_scopes=["https://storage.azure.com/*"])
    assert resolve_scopes(
        None, default_scopes=[STORAGE], allowed_scopes=["https://storage.azure.com/*"]
    ) == (STORAGE,)
