"""jupyter_msal.identity.msal_results: msal's error dicts become typed errors, with hints."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_msal.errors import (
    BadRequest,
    IdentityProviderError,
    JupyterMsalError,
    SignInDeclined,
    SignInExpired,
    SignInFailed,
    SignInRequired,
)
from jupyter_msal.identity.msal_results import (
    AADSTS_HINTS,
    aadsts_code,
    error_from_msal_result,
    is_error_result,
    replay_key,
)

STORAGE = "https://storage.azure.com/.default"


@pytest.mark.parametrize(
    ("result", "during_sign_in", "cls"),
    [
        ({"error": "invalid_grant"}, False, SignInRequired),
        ({"error": "interaction_required"}, False, SignInRequired),
        ({"error": "consent_required"}, False, SignInRequired),
        ({"error": "login_required"}, False, SignInRequired),
        ({"error": "invalid_grant"}, True, IdentityProviderError),
        ({"error": "invalid_scope"}, False, BadRequest),
        ({"error": "invalid_scope"}, True, BadRequest),
        ({"error": "authorization_declined"}, True, SignInDeclined),
        ({"error": "access_denied"}, True, SignInDeclined),
        ({"error": "access_denied"}, False, IdentityProviderError),
        ({"error": "expired_token"}, True, SignInExpired),
        ({"error": "code_expired"}, True, SignInExpired),
        ({"error": "bad_verification_code"}, True, SignInFailed),
        ({"error": "unauthorized_client"}, False, IdentityProviderError),
        ({}, False, IdentityProviderError),
    ],
)
def test_each_error_becomes_its_class(
    result: dict[str, Any], during_sign_in: bool, cls: type[JupyterMsalError]
) -> None:
    err = error_from_msal_result(result, scopes=[STORAGE], during_sign_in=during_sign_in)
    assert type(err) is cls
    assert err.details["idp_error"] == result.get("error", "unknown_error")


def test_sign_in_again_carries_scopes_claims_and_the_first_line_only() -> None:
    err = error_from_msal_result(
        {
            "error": "invalid_grant",
            "error_description": "AADSTS50076: Due to MFA...\r\nTrace ID: t\r\nCorrelation ID: c",
            "error_codes": [50076],
            "correlation_id": "c",
            "claims": '{"access_token": {}}',
        },
        scopes=(STORAGE,),
    )
    assert isinstance(err, SignInRequired)
    assert err.message == "Sign in again: AADSTS50076: Due to MFA..."
    assert err.scopes == (STORAGE,) and err.claims == '{"access_token": {}}'
    assert err.aadsts == "50076" and err.hint == AADSTS_HINTS["50076"]
    assert err.details["correlation_id"] == "c" and err.details["idp_error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("result", "code"),
    [
        ({"error_codes": [53003, 1]}, "53003"),
        ({"error_description": "AADSTS700016: Application not found"}, "700016"),
        ({"error_codes": [], "error_description": "AADSTS65001: no consent"}, "65001"),
        ({"error_description": "no code here"}, None),
    ],
)
def test_aadsts_code_from_codes_or_description(result: dict[str, Any], code: str | None) -> None:
    assert aadsts_code(result) == code


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("53003", "Conditional Access"),
        ("65001", "consent"),
        ("700016", "client_id"),
        ("7000215", "client_secret"),
    ],
)
def test_known_codes_get_their_hint(code: str, words: str) -> None:
    err = error_from_msal_result({"error": "x", "error_description": f"AADSTS{code}: y"})
    assert err.aadsts == code and words in (err.hint or "")


def test_hints_are_one_line_per_numeric_code() -> None:
    assert all(code.isdigit() and "\n" not in hint for code, hint in AADSTS_HINTS.items())


def test_default_hints_when_no_code_has_one() -> None:
    scope = error_from_msal_result({"error": "invalid_scope"})
    assert "storage.azure.com/.default" in (scope.hint or "")
    again = error_from_msal_result({"error": "invalid_grant"})
    assert "%msal_login" in (again.hint or "")
    refused = error_from_msal_result({"error": "server_error", "error_description": "   "})
    assert refused.hint is None and refused.message.endswith(": server_error")


def test_error_results_and_what_identifies_them() -> None:
    pending = {"error": "authorization_pending", "correlation_id": "c"}
    assert is_error_result(pending)
    assert not is_error_result(pending, frozenset({"authorization_pending"}))
    assert not is_error_result({"access_token": "t"}) and not is_error_result(None)
    assert replay_key(pending) == ("authorization_pending", "c")
    assert replay_key({}) == (None, None)


def test_typed_errors_survive_the_rest_round_trip() -> None:
    from jupyter_msal.errors import error_from_dict

    err = error_from_msal_result(
        {"error": "invalid_grant", "error_codes": [70008], "correlation_id": "c"}, scopes=["s"]
    )
    back = error_from_dict(err.to_dict(), 401)
    assert type(back) is SignInRequired and back.to_dict() == err.to_dict()
