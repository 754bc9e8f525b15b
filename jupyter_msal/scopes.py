"""Scopes and the admin scope policy, as pure functions (no msal, no I/O).

::

    flatten_scopes(("a b", ["c"]))              -> ("a", "b", "c")
    resolve_scopes(requested, default_scopes=…, allowed_scopes=…) -> what msal is asked for
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from typing import Any

from .errors import BadRequest, ScopeNotAllowed
from .models import normalize_scopes

__all__ = [
    "MAX_SCOPES",
    "MAX_SCOPE_LENGTH",
    "OIDC_SCOPES",
    "check_policy",
    "flatten_scopes",
    "resolve_scopes",
]

#: Scopes msal adds to every user sign-in; always allowed, never requested explicitly.
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
MAX_SCOPES = 50
MAX_SCOPE_LENGTH = 512


def flatten_scopes(scopes: Iterable[Any]) -> tuple[str, ...]:
    """Scopes given as strings (each may hold several, space-separated) or lists of strings.

    Returns them sorted and without duplicates; ``None`` items are skipped.
    Raises :class:`BadRequest` for anything that is not a string.
    """
    flat: list[str] = []
    for item in scopes:
        if item is None:
            continue
        if isinstance(item, str):
            flat.extend(item.split())
        elif isinstance(item, Iterable):
            for sub in item:
                if not isinstance(sub, str):
                    raise BadRequest(f"Scopes must be strings, not {type(sub).__name__}.")
                flat.extend(sub.split())
        else:
            raise BadRequest(f"Scopes must be strings, not {type(item).__name__}.")
    return normalize_scopes(flat)


def check_policy(scopes: Iterable[str], allowed_scopes: Sequence[str]) -> None:
    """Raise :class:`ScopeNotAllowed` unless every scope matches a pattern of ``allowed_scopes``.

    An empty ``allowed_scopes`` allows every scope; OpenID scopes are always allowed.
    """
    if not allowed_scopes:
        return
    for scope in scopes:
        if scope in OIDC_SCOPES:
            continue
        if not any(fnmatch.fnmatchcase(scope, p) for p in allowed_scopes):
            raise ScopeNotAllowed(
                f"The scope {scope!r} is not allowed by the admin policy "
                f"JupyterMsal.allowed_scopes ({', '.join(allowed_scopes)}).",
                hint="Ask the admin of this Jupyter server to allow it.",
                policy="JupyterMsal.allowed_scopes",
            )


def resolve_scopes(
    scopes: Sequence[str] | str | None,
    *,
    default_scopes: Sequence[str] = (),
    allowed_scopes: Sequence[str] = (),
) -> tuple[str, ...]:
    """Validated, normalized scopes: ``default_scopes`` when none are named, policy enforced.

    OpenID scopes are dropped unless nothing else is asked for (msal adds them itself).
    """
    if scopes is not None and not isinstance(scopes, (str, list, tuple)):
        raise BadRequest("scopes must be a list of strings")
    if isinstance(scopes, (list, tuple)) and not all(isinstance(s, str) for s in scopes):
        raise BadRequest("scopes must be a list of strings")
    normalized = normalize_scopes(scopes) or normalize_scopes(default_scopes)
    if not normalized:
        raise BadRequest(
            "Name at least one scope, e.g. https://management.azure.com/.default "
            "(or set JupyterMsal.default_scopes)."
        )
    if len(normalized) > MAX_SCOPES:
        raise BadRequest(f"At most {MAX_SCOPES} scopes per request, not {len(normalized)}.")
    for scope in normalized:
        if len(scope) > MAX_SCOPE_LENGTH or any(c.isspace() or ord(c) < 32 for c in scope):
            raise BadRequest(f"Invalid scope {scope[:60]!r}: too long or contains whitespace.")
    check_policy(normalized, allowed_scopes)
    return tuple(s for s in normalized if s not in OIDC_SCOPES) or normalized
