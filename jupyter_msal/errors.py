"""The exceptions jupyter-msal raises, and their wire format in REST answers.

Every error carries a machine ``code`` (sent as ``"error"`` in REST answers), a one-line
message saying what to fix and, where the identity provider gave one, the AADSTS code with
a hint. :meth:`JupyterMsalError.to_dict` writes an error as a JSON body and
:func:`error_from_dict` rebuilds the typed error from one (kernels and ``jupyter msal`` do).
HTTP statuses are the server's business (:mod:`jupyter_msal.server.errors`); msal's error
dicts become these errors in :mod:`jupyter_msal.identity.msal_results`.

The tree::

    JupyterMsalError
    ├── ConfigError                      a setting has an invalid value (names the setting)
    ├── CacheError                       the token cache cannot be used as configured
    │   └── CacheLocked                  another process has held the cache's lock too long
    ├── BadRequest                       malformed input from a client
    │   ├── BodyTooLarge
    │   └── AccountNotNamed              a sign-out that names no account (and not "all")
    ├── TooManySignIns                   too many sign-ins are waiting for the user
    ├── Forbidden                        authenticated but not allowed (browsers asking for tokens)
    │   ├── ScopeNotAllowed              the admin policy ``allowed_scopes`` forbids a scope
    │   └── TenantNotAllowed             the admin policy ``allowed_tenants`` forbids a tenant
    ├── NotFound                         unknown account or sign-in
    ├── SignInRequired                   nobody signed in, or the refresh token no longer works
    │   └── HubLoginUnusable             the JupyterHub login cannot give this token
    ├── Unauthenticated                  (hub service) no JupyterHub token, or an unknown one
    ├── HubApiError                      (hub service) the JupyterHub API refused or failed a call
    ├── BrokerUnavailable                the OS broker was asked for but cannot be used here
    ├── SignInFailed                     a sign-in flow ended without an account
    │   ├── SignInDeclined
    │   ├── SignInExpired
    │   │   └── SignInTimedOut           nobody completed it within the caller's timeout
    │   └── SignInCancelled
    ├── IdentityProviderError            the identity provider answered with an error or garbage
    │   ├── IdentityProviderUnreachable  it timed out or refused the connection
    │   └── IdentityProviderUnavailable  it answered 429/5xx, or msal replays such an answer
    └── ServerUnavailable                (kernel side) the Jupyter server cannot be reached
        └── ExtensionInactive            the server's jupyter-msal could not start (says why)

Every class takes the same arguments: the message first, then keywords only (``hint``,
``aadsts``, the fields of its own such as ``setting`` or ``retry_after``, and any further
details). ``to_dict`` writes those fields beside ``error`` and ``message``, so that
``error_from_dict`` rebuilds every class with one call, ``cls(message, **fields)``. A class
that declares its own ``code`` is registered for it when it is defined (wherever that is).

This module imports nothing heavy: kernels import it to rebuild errors from REST answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "AccountNotNamed",
    "BadRequest",
    "BodyTooLarge",
    "BrokerUnavailable",
    "CacheError",
    "CacheLocked",
    "ConfigError",
    "ExtensionInactive",
    "Forbidden",
    "HubApiError",
    "HubLoginUnusable",
    "IdentityProviderError",
    "IdentityProviderUnavailable",
    "IdentityProviderUnreachable",
    "JupyterMsalError",
    "NotFound",
    "ScopeNotAllowed",
    "ServerUnavailable",
    "SignInCancelled",
    "SignInDeclined",
    "SignInExpired",
    "SignInFailed",
    "SignInRequired",
    "SignInTimedOut",
    "TenantNotAllowed",
    "TooManySignIns",
    "Unauthenticated",
    "error_from_dict",
]

#: Each error code and the class that declared it (filled as classes are defined).
_BY_CODE: dict[str, type[JupyterMsalError]] = {}


class JupyterMsalError(Exception):
    """Base class of every jupyter-msal error."""

    code: ClassVar[str] = "error"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Register a class that declares its own ``code`` (the first to declare one keeps it)."""
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__:
            _BY_CODE.setdefault(cls.code, cls)

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        aadsts: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.aadsts = aadsts
        self.details = {k: v for k, v in details.items() if v is not None}

    def __str__(self) -> str:
        parts = [self.message]
        if self.aadsts:
            parts.append(f"(AADSTS{self.aadsts})")
        if self.hint and self.hint not in self.message:
            parts.append(self.hint)
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The JSON body a REST answer carries for this error."""
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        if self.aadsts:
            body["aadsts"] = self.aadsts
        body.update(self.details)
        return body


class ConfigError(JupyterMsalError, ValueError):
    """The configuration cannot be used. ``setting`` names the setting at fault (e.g.
    ``authority`` for ``JupyterMsal.authority``); ``None`` when the fault is not one setting's
    (a config file that cannot be read: the message names the file).

    :meth:`about` builds the usual message, ``JupyterMsal.<setting>: <what is wrong>``.
    """

    code = "config_error"

    def __init__(self, message: str, *, setting: str | None = None, **kw: Any) -> None:
        super().__init__(message, setting=setting, **kw)
        self.setting = setting

    @classmethod
    def about(cls, setting: str, problem: str, **kw: Any) -> ConfigError:
        """The error for setting ``setting``: ``JupyterMsal.<setting>: <problem>``."""
        return cls(f"JupyterMsal.{setting}: {problem}", setting=setting, **kw)


class CacheError(JupyterMsalError):
    """The token cache cannot be used as configured (e.g. encryption required but unavailable)."""

    code = "cache_error"


class CacheLocked(CacheError):
    """Another process held the token cache's lock for longer than this one waits for it.

    ``retry_after`` (seconds) says when trying again makes sense.
    """

    code = "cache_locked"

    def __init__(self, message: str, *, retry_after: int | None = None, **kw: Any) -> None:
        super().__init__(message, retry_after=retry_after, **kw)
        self.retry_after = retry_after


class BadRequest(JupyterMsalError, ValueError):
    """A client sent input that cannot be used; the message says what to fix."""

    code = "bad_request"


class BodyTooLarge(BadRequest):
    """A request body is larger than the API accepts."""

    code = "body_too_large"


class AccountNotNamed(BadRequest):
    """A sign-out must name the account, or ask for all of them."""

    code = "account_not_named"

    def __init__(
        self,
        message: str = "Name the account to sign out, or sign out of all accounts.",
        **kw: Any,
    ) -> None:
        super().__init__(message, **kw)


class TooManySignIns(JupyterMsalError):
    """``JupyterMsal.max_pending_sign_ins`` sign-ins are already waiting for the user."""

    code = "too_many_sign_ins"


class Forbidden(JupyterMsalError):
    """The caller is not allowed to do this."""

    code = "forbidden"


class ScopeNotAllowed(Forbidden):
    """The admin policy ``JupyterMsal.allowed_scopes`` does not allow a requested scope."""

    code = "scope_not_allowed"


class TenantNotAllowed(Forbidden):
    """The admin policy ``JupyterMsal.allowed_tenants`` does not allow the tenant asked for.

    ``tenant`` is the tenant that was refused.
    """

    code = "tenant_not_allowed"

    def __init__(self, message: str, *, tenant: str | None = None, **kw: Any) -> None:
        super().__init__(message, tenant=tenant, **kw)
        self.tenant = tenant


class NotFound(JupyterMsalError, LookupError):
    """An account or sign-in that does not exist."""

    code = "not_found"


class SignInRequired(JupyterMsalError):
    """No usable account for this request: sign in (again).

    ``scopes`` and ``claims`` are what a new interactive sign-in must ask for; ``tenant``
    the tenant it must sign in to, when a tenant other than the account's own demands its
    own sign-in (MFA, consent, Conditional Access).
    """

    code = "sign_in_required"

    def __init__(
        self,
        message: str = "Sign in first: no signed-in account can get this token.",
        *,
        scopes: tuple[str, ...] | list[str] = (),
        claims: str | None = None,
        tenant: str | None = None,
        **kw: Any,
    ) -> None:
        kw.setdefault("hint", "Run %msal_login, `jupyter msal login`, or use the Sign in button.")
        super().__init__(message, scopes=list(scopes) or None, claims=claims, tenant=tenant, **kw)
        self.scopes = tuple(scopes)
        self.claims = claims
        self.tenant = tenant


class HubLoginUnusable(SignInRequired):
    """The hub login cannot give this token (not an Entra login, consent missing, revoked).

    The user server falls back to its own accounts and sign-in methods.
    """

    code = "hub_login_unusable"


class Unauthenticated(JupyterMsalError):
    """(the JupyterHub service) No JupyterHub token, or one JupyterHub does not know."""

    code = "unauthenticated"


class HubApiError(JupyterMsalError):
    """(the JupyterHub service) The JupyterHub API refused or failed a call of the service."""

    code = "hub_api_error"


class BrokerUnavailable(JupyterMsalError):
    """The OS authentication broker was requested but cannot be used here."""

    code = "broker_unavailable"


class SignInFailed(JupyterMsalError):
    """A sign-in flow ended without signing anyone in."""

    code = "sign_in_failed"


class SignInDeclined(SignInFailed):
    """The user declined the sign-in."""

    code = "sign_in_declined"


class SignInExpired(SignInFailed):
    """The sign-in code expired before it was used."""

    code = "sign_in_expired"


class SignInTimedOut(SignInExpired):
    """Nobody completed the sign-in within the time the caller gave it; it was cancelled."""

    code = "sign_in_timed_out"


class SignInCancelled(SignInFailed):
    """The sign-in was cancelled."""

    code = "sign_in_cancelled"


class IdentityProviderError(JupyterMsalError):
    """The identity provider answered with an error, or with something that is not an answer."""

    code = "identity_provider_error"


class IdentityProviderUnreachable(IdentityProviderError):
    """The identity provider did not answer in time, or refused the connection."""

    code = "identity_provider_unreachable"


class IdentityProviderUnavailable(IdentityProviderError):
    """The identity provider is overloaded or failing (HTTP 429 or 5xx), now or moments ago.

    ``retry_after`` is the number of seconds after which a new request may reach it.
    ``replayed`` is True when no request was sent: msal answered from its throttle, replaying
    an earlier 429/5xx until that time has passed.
    """

    code = "identity_provider_unavailable"

    def __init__(
        self,
        message: str,
        *,
        retry_after: int | None = None,
        replayed: bool = False,
        **kw: Any,
    ) -> None:
        super().__init__(message, retry_after=retry_after, replayed=replayed, **kw)
        self.retry_after = retry_after
        self.replayed = bool(replayed)


class ServerUnavailable(JupyterMsalError):
    """The Jupyter server with the jupyter-msal extension cannot be reached (kernel side)."""

    code = "server_unavailable"


class ExtensionInactive(ServerUnavailable):
    """jupyter-msal could not start on this Jupyter server (an invalid setting, a file it
    cannot read): the server answers every request with this error. The message is
    ``jupyter-msal is not active on this server: <reason>``.
    """

    code = "inactive"

    #: How the message of every such error begins.
    PREFIX: ClassVar[str] = "jupyter-msal is not active on this server: "

    @classmethod
    def because(cls, reason: str) -> ExtensionInactive:
        """The error for a server whose extension did not start because of ``reason``."""
        return cls(
            cls.PREFIX + reason,
            hint="Correct it and restart the Jupyter server (on JupyterHub: stop and start "
            "your server from the hub's control panel); the server's log has the details.",
        )

    def __str__(self) -> str:
        """The message, and what to do on a line of its own (a reason ends without a stop)."""
        return "\n".join(filter(None, [self.message, self.hint]))


def error_from_dict(body: Mapping[str, Any], status: int | None = None) -> JupyterMsalError:
    """Rebuild the typed error from a REST error body (used by kernels and the CLI).

    An unknown code gives a :class:`JupyterMsalError`; a body without a message is named by
    its code, or by the HTTP ``status``.
    """
    cls = _BY_CODE.get(str(body.get("error", "")), JupyterMsalError)
    message = str(body.get("message") or body.get("error") or f"HTTP {status}")
    fields = {str(k): v for k, v in body.items() if k not in ("error", "message", "hint", "aadsts")}
    return cls(message, hint=body.get("hint"), aadsts=body.get("aadsts"), **fields)
