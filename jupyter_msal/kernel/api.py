"""The Python API of the notebook surface: ``get_token``, ``accounts``, ``login``, ``logout``.

Tokens are kept in the kernel until :data:`jupyter_msal.kernel.refresh_margin` seconds before
they expire (at most half their lifetime), so a hot loop calling :func:`get_token` does a
dictionary lookup and never reaches the server, and nobody gets a token that expires while they
are still using it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from ..client import Client, SignInInterrupted, get_client
from ..errors import (
    BadRequest,
    JupyterMsalError,
    SignInCancelled,
    SignInExpired,
    SignInRequired,
    SignInTimedOut,
)
from ..models import AccessToken, Account, SignInMethod
from ..scopes import flatten_scopes
from .prompt import SignInPrompt

__all__ = [
    "SignInInterrupted",
    "accounts",
    "clear_cache",
    "current_refresh_margin",
    "get_token",
    "kept_token",
    "login",
    "logout",
    "margin_from_env",
    "normalize_claims",
    "run_sign_in",
]


def margin_from_env() -> float:
    """``JUPYTER_MSAL_KERNEL_REFRESH_MARGIN`` in seconds, or the default of 300."""
    raw = os.environ.get("JUPYTER_MSAL_KERNEL_REFRESH_MARGIN", "").strip()
    try:
        return max(0.0, float(raw)) if raw else 300.0
    except ValueError:
        return 300.0


def current_refresh_margin() -> float:
    """The value of the setting :data:`jupyter_msal.kernel.refresh_margin` now, in seconds.

    Read at each use, so that a value assigned in a notebook applies to the next token fetched.
    """
    from .. import kernel

    value = getattr(kernel, "refresh_margin", None)
    return float(value) if isinstance(value, (int, float)) else margin_from_env()


# (scopes as passed, account, tenant) -> (token, wall-clock time (time.time) until which it is
# fresh)
_cache: dict[tuple[Any, Any, Any], tuple[AccessToken, float]] = {}
_time = time.time


def clear_cache() -> None:
    """Forget every token kept in this kernel (the server's cache is not touched)."""
    _cache.clear()


def kept_token(
    scopes: tuple[Any, ...], account: str | None, tenant: str | None = None
) -> AccessToken | None:
    """The token kept in this kernel for ``scopes`` (as passed to :func:`get_token`),
    ``account`` and ``tenant`` while it is fresh, else None. A dictionary lookup: no I/O,
    never blocks."""
    try:
        hit = _cache.get((scopes, account, tenant))
    except TypeError:  # a list among the scopes: not hashable, nothing kept under it
        return None
    return hit[0] if hit is not None and hit[1] > _time() else None


def normalize_claims(claims: str | Mapping[str, Any] | None) -> str | None:
    """Claims as a compact JSON string; accepts a dict, JSON, or base64url-encoded JSON.

    Raises :class:`~jupyter_msal.errors.BadRequest` (one line) when it is none of those.
    """
    if claims is None or claims == "":
        return None
    if isinstance(claims, Mapping):
        return json.dumps(claims, separators=(",", ":"))
    text = str(claims).strip()
    try:
        doc = json.loads(text)
    except ValueError:
        try:
            decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            doc = json.loads(decoded)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise BadRequest(
                "The claims are not valid JSON (nor base64-encoded JSON), e.g. "
                '\'{"access_token": {"nbf": {"essential": true, "value": "1700000000"}}}\'.'
            ) from None
        text = decoded
    if not isinstance(doc, dict):
        raise BadRequest("The claims must be a JSON object, e.g. '{\"access_token\": {...}}'.")
    return text


def get_token(
    *scopes: str | Iterable[str],
    account: str | None = None,
    force_refresh: bool = False,
    claims: str | Mapping[str, Any] | None = None,
    sign_in: bool = True,
    timeout: float | None = None,
    tenant: str | None = None,
) -> AccessToken:
    """An access token for ``scopes`` (a ``str`` whose ``repr`` is redacted).

    Args:
        scopes: e.g. ``"https://storage.azure.com/.default"``; several may be given, or one
            space-separated string. None: the configured ``default_scopes``.
        account: username or home_account_id; may be left out when one account is signed in.
        force_refresh: skip every cache and ask the identity provider for a new token.
        claims: a claims challenge (JSON, base64url JSON, or a dict) from a ``401`` answer.
        sign_in: when nobody (usable) is signed in, run a sign-in and wait for it (the prompt is
            shown in the cell; for the tenant, when a guest tenant wants a sign-in of its own);
            ``False`` raises :class:`~jupyter_msal.errors.SignInRequired`.
        timeout: seconds to wait for that sign-in (default: until the code expires).
        tenant: the tenant the token is for, a tenant id or domain name where the account is a
            guest (default: the account's own). Its token comes from the same sign-in where
            the tenant allows it; the admin may limit the tenants (``allowed_tenants``).

    Raises:
        jupyter_msal.errors.JupyterMsalError: a subclass saying what went wrong and what to do.
    """
    if not force_refresh and claims is None:
        hit = kept_token(scopes, account, tenant)
        if hit is not None:
            return hit
    return _fetch(scopes, account, force_refresh, claims, sign_in, timeout, tenant)


def _fetch(
    raw_scopes: tuple[Any, ...],
    account: str | None,
    force_refresh: bool,
    claims: Any,
    sign_in: bool,
    timeout: float | None,
    tenant: str | None = None,
) -> AccessToken:
    scopes = flatten_scopes(raw_scopes)
    claims_json = normalize_claims(claims)
    if not force_refresh and claims_json is None:
        # Another spelling of the same scopes ("a b", ("b", "a"), ["a", "b"]) may be kept.
        hit = _cache.get((scopes, account, tenant))
        if hit is not None and hit[1] > _time():
            try:
                _cache[(raw_scopes, account, tenant)] = hit
            except TypeError:  # unhashable spelling: nothing to remember it by
                pass
            return hit[0]
    client = get_client()
    extra = {"tenant": tenant} if tenant is not None else {}
    try:
        token = client.token(scopes, account, force_refresh, claims_json, **extra)
    except SignInRequired as err:
        if not sign_in:
            raise
        run_sign_in(
            client,
            scopes=err.scopes or scopes,
            timeout=timeout,
            claims=err.claims,
            tenant=err.tenant,
        )
        token = client.token(scopes, account, False, claims_json, **extra)
    if claims_json is None:
        _remember((raw_scopes, account, tenant), token)
        if raw_scopes != scopes:
            _remember((scopes, account, tenant), token)
    return token


def _remember(key: tuple[Any, Any, Any], token: AccessToken) -> None:
    now = _time()
    lifetime = token.expires_on - now
    fresh_until = token.expires_on - min(current_refresh_margin(), lifetime / 2)
    if fresh_until <= now:
        return
    try:
        _cache[key] = (token, fresh_until)
    except TypeError:  # unhashable scopes
        pass


def accounts() -> list[Account]:
    """The accounts signed in (shared by every kernel and terminal of this server)."""
    return get_client().accounts()


def login(
    *scopes: str | Iterable[str],
    method: str = "auto",
    timeout: float | None = None,
    tenant: str | None = None,
) -> Account:
    """Sign in (in the browser, with a device code, or the OS broker) and wait until done.

    The prompt (link, code with a copy button, countdown) is shown in the cell; interrupting
    the kernel cancels the sign-in. ``tenant`` (a tenant id or domain name where the account
    is a guest) signs in to that tenant, for one that wants a sign-in of its own (MFA,
    consent, Conditional Access); its tokens then come silently. Returns the account that
    signed in.
    """
    try:
        chosen = SignInMethod.parse(method)
    except ValueError as err:
        raise BadRequest(str(err)) from None
    return run_sign_in(
        get_client(), scopes=flatten_scopes(scopes), method=chosen, timeout=timeout, tenant=tenant
    )


def logout(
    account: str | None = None, *, all_accounts: bool = False, **deprecated: Any
) -> list[Account]:
    """Sign out: remove the account's refresh token from the cache (every kernel sees it).

    With no ``account``, signs out of the only signed-in account; ``all_accounts=True`` signs
    out of every account. Returns the accounts removed. ``all=True``, the former spelling of
    ``all_accounts=True`` (it shadowed the builtin), still works with a ``DeprecationWarning``.
    """
    all_accounts = _all_accounts(all_accounts, deprecated)
    client = get_client()
    if not all_accounts and not account:
        signed_in = client.accounts()
        if not signed_in:
            clear_cache()
            return []
        if len(signed_in) > 1:
            names = ", ".join(a.username for a in signed_in)
            raise BadRequest(
                f"Several accounts are signed in ({names}): name one, or sign out of all."
            )
        account = signed_in[0].home_account_id or signed_in[0].username
    try:
        return client.sign_out(account, all_accounts=all_accounts)
    finally:
        clear_cache()


def _all_accounts(all_accounts: bool, deprecated: Mapping[str, Any]) -> bool:
    """``all_accounts``, or else the value of :func:`logout`'s deprecated ``all=`` keyword."""
    unknown = sorted(set(deprecated) - {"all"})
    if unknown:
        raise TypeError(f"logout() got an unexpected keyword argument {unknown[0]!r}")
    if "all" not in deprecated:
        return all_accounts
    warnings.warn(
        "logout(all=...) is deprecated: use logout(all_accounts=...).",
        DeprecationWarning,
        stacklevel=3,
    )
    return all_accounts or bool(deprecated["all"])


def run_sign_in(
    client: Client,
    *,
    scopes: Iterable[str] = (),
    method: str = "auto",
    timeout: float | None = None,
    rich: bool | None = None,
    claims: str | None = None,
    tenant: str | None = None,
) -> Account:
    """Start a sign-in, show its prompt, wait for it, and replace the prompt by the outcome.

    ``tenant``: sign in to that tenant (None: the configured authority's).

    ``KeyboardInterrupt`` cancels the flow and is re-raised (as
    :class:`~jupyter_msal.client.SignInInterrupted`, a ``KeyboardInterrupt``); ``timeout``
    cancels it and raises :class:`~jupyter_msal.errors.SignInTimedOut`.
    """
    extra = {"tenant": tenant} if tenant is not None else {}
    flow = client.start_sign_in(method, list(scopes), claims, **extra)
    if rich is None and client.mode != "server":
        rich = False  # direct mode: the prompt prints as text
    prompt = SignInPrompt(flow, rich=rich)
    prompt.show()
    try:
        account = client.wait_for_sign_in(flow, timeout=timeout, on_update=prompt.update)
    except SignInInterrupted:
        prompt.finish("Sign-in cancelled.", ok=False)
        raise
    except JupyterMsalError as err:
        prompt.finish(_outcome(err), ok=False)
        raise
    clear_cache()
    where = f" to tenant {flow['tenant']}" if flow.get("tenant") else ""
    prompt.finish(f"Signed in as {account.username or account.home_account_id}{where}.")
    return account


def _outcome(err: JupyterMsalError) -> str:
    """The line that replaces a sign-in prompt when the sign-in did not succeed."""
    if isinstance(err, SignInTimedOut):
        return "Sign-in timed out and was cancelled."
    if isinstance(err, SignInCancelled):
        return "Sign-in cancelled."
    if isinstance(err, SignInExpired):
        return f"Sign-in expired: {err.message}"
    return f"Sign-in failed: {err}"
