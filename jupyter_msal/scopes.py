"""Scopes and the admin scope policy, as pure functions (no msal, no I/O).

::

    flatten_scopes(("a b", ["c"]))              -> ("a", "b", "c")
    resolve_scopes(requested, default_scopes=…, allowed_scopes=…) -> what msal is asked for
    check_account_selector("ada@contoso.com")   -> the selector, or BadRequest
    check_tenant("Contoso.onmicrosoft.com")     -> "contoso.onmicrosoft.com", or BadRequest
    check_tenant_policy(tenant, allowed_tenants) -> None, or TenantNotAllowed

What reaches the identity provider (and the logs) is validated strictly: a scope is an
RFC 6749 ``scope-token`` (printable ASCII, no quote or backslash) of at most
:data:`MAX_SCOPE_LENGTH` characters; an account selector is printable, without white space,
control, format (bidi overrides, zero-width) or surrogate characters, and at most
:data:`MAX_ACCOUNT_LENGTH` characters; claims are a JSON object. Anything else is
:class:`~jupyter_msal.errors.BadRequest`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .errors import BadRequest, ScopeNotAllowed, TenantNotAllowed
from .models import normalize_scopes

__all__ = [
    "MAX_ACCOUNT_LENGTH",
    "MAX_CLAIMS_LENGTH",
    "MAX_SCOPES",
    "MAX_SCOPE_LENGTH",
    "OIDC_SCOPES",
    "check_account_selector",
    "check_claims",
    "check_policy",
    "check_scope",
    "check_tenant",
    "check_tenant_policy",
    "flatten_scopes",
    "is_audience_name",
    "resolve_scopes",
    "scope_matches",
]

#: Scopes msal adds to every user sign-in; always allowed, never requested explicitly.
OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
MAX_SCOPES = 50
MAX_SCOPE_LENGTH = 512
MAX_ACCOUNT_LENGTH = 256
MAX_CLAIMS_LENGTH = 16384
#: RFC 6749, section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
#: Several scope-tokens in one string, separated by spaces (and nothing else).
_SCOPE_LIST = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")


def _shown(value: str) -> str:
    """``value`` for an error message: cut, and every unusual character escaped."""
    cut = value[:60] + ("…" if len(value) > 60 else "")
    return ascii(cut)


def check_scope(scope: str) -> str:
    """``scope`` when it is a valid scope (see the module docstring), else :class:`BadRequest`."""
    if len(scope) > MAX_SCOPE_LENGTH:
        raise BadRequest(
            f"Invalid scope {_shown(scope)}: too long (over {MAX_SCOPE_LENGTH} characters)."
        )
    if not _SCOPE_TOKEN.fullmatch(scope):
        raise BadRequest(
            f"Invalid scope {_shown(scope)}: scopes are printable ASCII without whitespace, "
            'quotes (") or backslashes, e.g. https://storage.azure.com/.default.'
        )
    return scope


def _split(text: str) -> list[str]:
    """The scopes of one space-separated string; other separators are refused."""
    if not _SCOPE_LIST.fullmatch(text):
        bad = next(c for c in text if not _SCOPE_LIST.fullmatch(c))
        raise BadRequest(
            f"Invalid scope {_shown(text)}: {bad!a} is not allowed; scopes are printable "
            'ASCII without quotes (") or backslashes, separated by spaces.'
        )
    return text.split(" ")


def check_account_selector(selector: str) -> str:
    """``selector`` (a username or home_account_id) when it is valid, else BadRequest."""
    if not isinstance(selector, str):
        raise BadRequest("account must be a string (a username or home_account_id)")
    if not selector or len(selector) > MAX_ACCOUNT_LENGTH:
        raise BadRequest(
            f"Invalid account {_shown(selector)}: 1 to {MAX_ACCOUNT_LENGTH} characters."
        )
    if not selector.isprintable() or any(c.isspace() for c in selector):
        raise BadRequest(
            f"Invalid account {_shown(selector)}: a username or home_account_id has no white "
            "space, control, format (bidi, zero-width) or surrogate characters."
        )
    return selector


def check_claims(claims: str) -> str:
    """``claims`` when it is a JSON object of reasonable size, else :class:`BadRequest`."""
    if not isinstance(claims, str):
        raise BadRequest("claims must be a JSON string")
    if len(claims) > MAX_CLAIMS_LENGTH:
        raise BadRequest(f"claims are longer than {MAX_CLAIMS_LENGTH} characters.")
    try:
        claims.encode("utf-8")
        doc = json.loads(claims)
    except (ValueError, RecursionError):
        raise BadRequest("claims must be a JSON object (a claims challenge).") from None
    if not isinstance(doc, dict):
        raise BadRequest("claims must be a JSON object (a claims challenge).")
    return claims


_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DOMAIN = re.compile(r"(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
#: Authority names that stand for several tenants: an authority may use them, a request not.
MULTI_TENANT_NAMES = frozenset({"common", "organizations", "consumers"})


def check_tenant(tenant: str) -> str:
    """``tenant`` in lower case when it is a tenant id (a GUID) or a domain name
    (``contoso.onmicrosoft.com``), else :class:`BadRequest` saying what a tenant looks like."""
    if not isinstance(tenant, str):
        raise BadRequest("tenant must be a string (a tenant id or a domain name)")
    value = tenant.strip().lower()
    if value in MULTI_TENANT_NAMES:
        raise BadRequest(
            f"{value!r} names no one tenant: ask for a tenant id (a GUID) or a domain name such "
            "as contoso.onmicrosoft.com, or leave the tenant out for the account's own."
        )
    if not (_GUID.fullmatch(value) or _DOMAIN.fullmatch(value)):
        raise BadRequest(
            f"Invalid tenant {_shown(tenant)}: use a tenant id (a GUID such as "
            "72f988bf-86f1-41af-91ab-2d7cd011db47) or a domain name (contoso.onmicrosoft.com)."
        )
    return value


def check_tenant_policy(tenant: str, allowed_tenants: Sequence[str]) -> None:
    """Raise :class:`TenantNotAllowed` unless the admin policy ``allowed_tenants`` (tenant
    ids and domain names in lower case; empty: any tenant) lists ``tenant`` or ``*``."""
    if not allowed_tenants or "*" in allowed_tenants or tenant in allowed_tenants:
        return
    raise TenantNotAllowed(
        f"Tenant {tenant} is not allowed here: JupyterMsal.allowed_tenants lists "
        f"{', '.join(allowed_tenants)}.",
        tenant=tenant,
        hint="Ask for one of those tenants, or ask the admin to allow this one.",
    )


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
            flat.extend(_split(item))
        elif isinstance(item, Iterable):
            for sub in item:
                if not isinstance(sub, str):
                    raise BadRequest(f"Scopes must be strings, not {type(sub).__name__}.")
                flat.extend(_split(sub))
        else:
            raise BadRequest(f"Scopes must be strings, not {type(item).__name__}.")
    return normalize_scopes(flat)


def _glob(pattern: str, stop: str) -> re.Pattern[str]:
    """``pattern`` (``*`` any run, ``?`` one character) as a regex that never crosses ``stop``."""
    parts: list[str] = []
    for char in pattern:
        if char == "*":
            parts.append(f"[^{re.escape(stop)}]*" if stop else ".*")
        elif char == "?":
            parts.append(f"[^{re.escape(stop)}]" if stop else ".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts))


#: A host name and an optional port: what a URL scope's authority must be to match a pattern.
_AUTHORITY = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::[0-9]+)?")


def _split_url(value: str) -> tuple[str, str, str] | None:
    """``(scheme, authority, path)`` of a URL-form scope or pattern, or None for a bare name."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        return None
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    return scheme, rest[:cut], rest[cut:]


def _unsafe_path(path: str) -> bool:
    """True when ``path`` holds a ``.`` or ``..`` segment or any percent-encoding (which could
    hide one, or a ``/``): real resource scopes have neither."""
    return "%" in path or any(segment in {".", ".."} for segment in re.split(r"[/?#]", path))


def _host_matches(pattern: str, authority: str) -> bool:
    """Label by label: ``*`` in a host pattern stays inside one label (and the port)."""
    if not _AUTHORITY.fullmatch(authority):
        return False
    host, _, port = authority.partition(":")
    host_pattern, _, port_pattern = pattern.partition(":")
    labels, wanted = host.split("."), host_pattern.split(".")
    if len(labels) != len(wanted) or not _glob(port_pattern, ":").fullmatch(port):
        return False
    return all(_glob(w, ".").fullmatch(label) for w, label in zip(wanted, labels, strict=True))


def scope_matches(scope: str, pattern: str) -> bool:
    """Whether ``scope`` is admitted by one ``allowed_scopes`` pattern.

    A URL pattern (``scheme://host/path``) is matched part by part: the scheme exactly (``*``
    and ``?`` allowed), the host label by label (``*`` never crosses a ``.``, so
    ``https://*.vault.azure.net/.default`` admits ``https://kv1.vault.azure.net/.default``
    and nothing on another host), and the path, where ``*`` may span segments but a scope
    with a dot segment (``.``, ``..``) or any percent-encoding is never admitted. A bare
    pattern (``User.Read``, ``Mail.*``) admits only bare scopes; ``*`` alone admits every
    scope. Matching is case-sensitive.
    """
    if pattern == "*":
        return True
    wanted, given = _split_url(pattern), _split_url(scope)
    if wanted is None or given is None:
        return wanted is None and given is None and _glob(pattern, "").fullmatch(scope) is not None
    if _unsafe_path(given[2]):
        return False
    return (
        _glob(wanted[0], ":/").fullmatch(given[0]) is not None
        and _host_matches(wanted[1], given[1])
        and _glob(wanted[2], "").fullmatch(given[2]) is not None
    )


def check_policy(scopes: Iterable[str], allowed_scopes: Sequence[str]) -> None:
    """Raise :class:`ScopeNotAllowed` unless every scope matches a pattern of ``allowed_scopes``
    (see :func:`scope_matches`).

    An empty ``allowed_scopes`` allows every scope; OpenID scopes are always allowed.
    """
    if not allowed_scopes:
        return
    for scope in scopes:
        if scope in OIDC_SCOPES:
            continue
        if not any(scope_matches(scope, p) for p in allowed_scopes):
            raise ScopeNotAllowed(
                f"The scope {scope!r} is not allowed by the admin policy "
                f"JupyterMsal.allowed_scopes ({', '.join(allowed_scopes)}).",
                hint="Ask the admin of this Jupyter server to allow it.",
                policy="JupyterMsal.allowed_scopes",
            )


#: An audience name: a bare lower-case word (no ``.``, ``/`` or ``:``).
_AUDIENCE_NAME = re.compile(r"[a-z][a-z0-9_-]*")


def is_audience_name(scope: str) -> bool:
    """Whether ``scope`` is an audience name (``storage``), not a scope: a bare lower-case word
    that is not an OpenID scope."""
    return scope not in OIDC_SCOPES and _AUDIENCE_NAME.fullmatch(scope) is not None


def resolve_scopes(
    scopes: Sequence[str] | str | None,
    *,
    default_scopes: Sequence[str] = (),
    allowed_scopes: Sequence[str] = (),
    names: Callable[[str], str] | None = None,
) -> tuple[str, ...]:
    """Validated, normalized scopes: ``default_scopes`` when none are named, policy enforced.

    With ``names`` (:meth:`jupyter_msal.audiences.Audiences.resolve`), each audience name
    (:func:`is_audience_name`) is replaced by the scope it stands for before the policy is
    checked; ``names`` raises for a name it does not know. OpenID scopes are dropped unless
    nothing else is asked for (msal adds them itself).
    """
    if scopes is not None and not isinstance(scopes, (str, list, tuple)):
        raise BadRequest("scopes must be a list of strings")
    if isinstance(scopes, (list, tuple)) and not all(isinstance(s, str) for s in scopes):
        raise BadRequest("scopes must be a list of strings")
    if isinstance(scopes, str):
        scopes = _split(scopes)
    normalized = normalize_scopes(scopes) or normalize_scopes(default_scopes)
    if not normalized:
        raise BadRequest(
            "Name at least one scope, e.g. https://management.azure.com/.default "
            "(or set JupyterMsal.default_scopes)."
        )
    if len(normalized) > MAX_SCOPES:
        raise BadRequest(f"At most {MAX_SCOPES} scopes per request, not {len(normalized)}.")
    for scope in normalized:
        check_scope(scope)
    if names is not None:
        normalized = normalize_scopes(names(s) if is_audience_name(s) else s for s in normalized)
    check_policy(normalized, allowed_scopes)
    return tuple(s for s in normalized if s not in OIDC_SCOPES) or normalized
