"""msal's result dicts read in one place: error dicts become typed errors, with AADSTS hints.

msal answers most calls with a dict; a failure is a dict with ``error`` (an OAuth error code),
``error_description`` (Entra starts it with ``AADSTS<n>:`` and appends trace and correlation
ids), ``error_codes``, ``correlation_id`` and, for a claims challenge, ``claims``. Nothing
outside this module reads those keys: :func:`is_error_result` tells an error dict,
:func:`replay_key` what identifies its answer, and :func:`error_from_msal_result` the
:mod:`jupyter_msal.errors` exception it means (with a hint from :data:`AADSTS_HINTS` for the
codes users meet most often).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..errors import (
    BadRequest,
    IdentityProviderError,
    JupyterMsalError,
    SignInDeclined,
    SignInExpired,
    SignInFailed,
    SignInRequired,
)

__all__ = [
    "AADSTS_HINTS",
    "aadsts_code",
    "closed_by_the_user",
    "error_from_msal_result",
    "error_of",
    "is_error_result",
    "replay_key",
    "tenant_refused",
]

#: What to do about the AADSTS codes users meet most often.
AADSTS_HINTS: dict[str, str] = {
    "50076": "Multi-factor authentication is required: sign in again interactively.",
    "50079": "You must register for multi-factor authentication, then sign in again.",
    "50097": "Device authentication is required: sign in with the broker on a managed device.",
    "53003": "Blocked by a Conditional Access policy; ask your admin, or use another sign-in "
    "method (for example the broker) that the policy allows.",
    "65001": "The app has no consent for this scope: ask an admin to grant consent, or sign in "
    "again to consent.",
    "700016": "The client_id is not known in this tenant: check JupyterMsal.client_id and "
    "JupyterMsal.authority.",
    "70008": "The refresh token has expired or was revoked: sign in again.",
    "50173": "The credentials changed (password reset?): sign in again.",
    "700082": "The refresh token expired after inactivity: sign in again.",
    "70011": "A requested scope is invalid: check the scope string.",
    "28000": "One token is for one resource: ask for the scopes of one resource at a time.",
    "50126": "Invalid username or password.",
    "90002": "The tenant in JupyterMsal.authority does not exist.",
    "50059": "No tenant could be found: use a tenant-specific authority.",
    "7000215": "The client secret is invalid: check JupyterMsal.client_secret.",
    "50011": "The redirect URI does not match the app registration.",
    "50020": "The account is neither a member nor a guest of this tenant: ask the tenant's "
    "admin to invite it, or use an account of that tenant.",
}

#: Errors that mean: the cached refresh token is no good, only a new sign-in helps.
_SIGN_IN_AGAIN = frozenset(
    {"invalid_grant", "interaction_required", "consent_required", "login_required"}
)
#: AADSTS codes of a refresh that no sign-in of this account cures (it is not in the tenant).
_NOT_IN_TENANT = frozenset({"50020"})
_DECLINED = frozenset({"authorization_declined", "access_denied"})
_EXPIRED = frozenset({"expired_token", "code_expired"})
_SIGN_IN_HINT = "Run %msal_login, `jupyter msal login`, or use the Sign in button."
_AADSTS_RE = re.compile(r"AADSTS(\d+)")


def is_error_result(result: Any, keep_waiting: frozenset[str] = frozenset()) -> bool:
    """Whether ``result`` is an msal error dict, other than one whose ``error`` is in
    ``keep_waiting`` (e.g. a device flow's ``authorization_pending``)."""
    return isinstance(result, Mapping) and "error" in result and result["error"] not in keep_waiting


def error_of(result: Any) -> str | None:
    """The ``error`` of an msal result dict, or None for a result that holds tokens."""
    if isinstance(result, Mapping) and result.get("error") is not None:
        return str(result["error"])
    return None


def closed_by_the_user(result: Any) -> bool:
    """Whether a broker result says the user closed the sign-in window: msal reports it as a
    ``broker_error`` whose status names ``UserCanceled``."""
    return error_of(result) == "broker_error" and "UserCanceled" in str(
        result.get("_broker_status") or result.get("error_description")
    )


def replay_key(result: Mapping[str, Any]) -> tuple[Any, Any]:
    """``(error, correlation_id)`` of an error dict: what tells one identity-provider answer
    from another, so that msal replaying a throttled answer can be recognised."""
    return result.get("error"), result.get("correlation_id")


def aadsts_code(result: Mapping[str, Any]) -> str | None:
    """The AADSTS code of an error dict (``"50076"``), from ``error_codes`` or the description."""
    codes = result.get("error_codes")
    if isinstance(codes, list) and codes:
        return str(codes[0])
    match = _AADSTS_RE.search(str(result.get("error_description", "")))
    return match.group(1) if match else None


def error_from_msal_result(
    result: Mapping[str, Any],
    *,
    scopes: tuple[str, ...] | list[str] = (),
    during_sign_in: bool = False,
) -> JupyterMsalError:
    """Turn an msal error dict into a typed exception.

    ``during_sign_in`` reads the errors a sign-in flow ends with (declined, expired, a bad
    code) as such; otherwise an error that only a new sign-in cures is a
    :class:`SignInRequired` for ``scopes`` (with the claims challenge, if any). The
    description is cut to its first line: Entra appends trace and correlation ids that help
    support but clutter a notebook; the correlation id is kept as a detail.
    """
    error = str(result.get("error") or "unknown_error")
    description = str(result.get("error_description") or error).strip()
    first_line = description.splitlines()[0] if description else error
    aadsts = aadsts_code(result)
    hint = AADSTS_HINTS.get(aadsts or "")
    details: dict[str, Any] = {
        "aadsts": aadsts,
        "correlation_id": result.get("correlation_id"),
        "idp_error": error,
    }
    if during_sign_in:
        ended = _sign_in_ended(error, hint, details)
        if ended is not None:
            return ended
    if error == "invalid_scope":  # the request's scopes: the caller's to fix, not an outage
        return BadRequest(
            f"The identity provider does not accept these scopes: {first_line}",
            hint=hint or "Check the scopes, e.g. https://storage.azure.com/.default.",
            **details,
        )
    if aadsts in _NOT_IN_TENANT:
        return IdentityProviderError(
            f"The tenant refused this account: {first_line}", hint=hint, **details
        )
    if error in _SIGN_IN_AGAIN and not during_sign_in:
        claims = result.get("claims")
        return SignInRequired(
            f"Sign in again: {first_line}",
            scopes=scopes,
            claims=str(claims) if claims else None,
            hint=hint or _SIGN_IN_HINT,
            **details,
        )
    return IdentityProviderError(
        f"The identity provider refused the request: {first_line}", hint=hint, **details
    )


def tenant_refused(err: SignInRequired, tenant: str, username: str) -> SignInRequired:
    """The error for a guest tenant that refused ``username``'s sign-in (MFA, consent or
    Conditional Access of its own): names the tenant and the reason (``err``'s AADSTS code
    and hint); a sign-in to that tenant is what helps, and the hint says how."""
    reason = err.message.removeprefix("Sign in again: ")
    return SignInRequired(
        f"Tenant {tenant} wants its own sign-in of {username}: {reason}",
        scopes=err.scopes,
        claims=err.claims,
        tenant=tenant,
        hint=f"{err.hint or ''} Sign in to tenant {tenant}: %msal_login --tenant {tenant}, "
        f"`jupyter msal login --tenant {tenant}`, or jupyter_msal.login(tenant=...).".strip(),
        aadsts=err.aadsts,
        **{k: v for k, v in err.details.items() if k not in ("scopes", "claims", "tenant")},
    )


def _sign_in_ended(error: str, hint: str | None, details: dict[str, Any]) -> SignInFailed | None:
    """The error a sign-in flow ended with, or None when ``error`` is not one of those."""
    if error in _DECLINED:
        return SignInDeclined("The sign-in was declined.", hint=hint, **details)
    if error in _EXPIRED:
        return SignInExpired(
            "The sign-in code expired before it was used: start a new sign-in.", **details
        )
    if error == "bad_verification_code":
        return SignInFailed("The identity provider did not recognise the sign-in code.", **details)
    return None
