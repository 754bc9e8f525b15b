"""Small value types shared by the server, the kernel side and the CLI.

None of these imports msal. :class:`AccessToken` is the only one that holds a secret: it is
a ``str`` whose every display is redacted. ``str(token)``, f-strings, ``"Bearer " + token``
and anything that takes a string give the token itself; ``repr()``, IPython's pretty printer,
``display()`` and rich HTML output show only
``<AccessToken for ada@contoso.com, scopes=[...], expires in 59 min>``, so ending a cell with
a token, or a verbose traceback that lists locals, never writes it into a notebook.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

__all__ = [
    "AccessToken",
    "Account",
    "FlowState",
    "SignInMethod",
    "decode_jwt_claims",
    "normalize_scopes",
]


class _StrEnum(str, Enum):
    """A string enum whose ``str()`` and f-string form is its value (``enum.StrEnum`` on 3.11+)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class SignInMethod(_StrEnum):
    """How an interactive sign-in happens. ``AUTO`` lets the server choose."""

    AUTO = "auto"
    DEVICE_CODE = "device_code"
    AUTH_CODE = "auth_code"
    BROKER = "broker"
    #: The user's JupyterHub login, through the jupyter-msal hub service.
    HUB = "hub"

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Every method name, as clients and the REST API spell them."""
        return tuple(m.value for m in cls)

    @classmethod
    def parse(cls, value: object) -> SignInMethod:
        """The method named ``value``; ``ValueError`` names the accepted ones."""
        try:
            return cls(value)
        except ValueError:
            raise ValueError(
                f"Unknown sign-in method {value!r}: use one of {', '.join(cls.names())}."
            ) from None


class FlowState(_StrEnum):
    """The states of a sign-in flow; every state but ``PENDING`` is final."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """True for the final states."""
        return self is not FlowState.PENDING


def normalize_scopes(scopes: Any) -> tuple[str, ...]:
    """Scopes as a sorted tuple without duplicates; one string may hold several, space-separated."""
    if scopes is None:
        return ()
    if isinstance(scopes, str):
        scopes = scopes.split()
    return tuple(sorted({s for s in scopes if s}))


#: How msal's cache says an account signed in (``account_source``), as sign-in method names.
_ACCOUNT_SOURCES = {
    "broker": "broker",
    "authorization_code": "auth_code",
    "urn:ietf:params:oauth:grant-type:device_code": "device_code",
    "device_code": "device_code",
}


@dataclass(frozen=True)
class Account:
    """A signed-in account. Holds nothing secret.

    ``sign_in_method`` is how it signed in (``broker``, ``auth_code``, ``device_code``), or
    ``""`` when msal's cache does not say.
    """

    home_account_id: str
    username: str
    tenant_id: str = ""
    environment: str = ""
    authority: str = ""
    sign_in_method: str = ""

    @classmethod
    def from_msal(cls, account: Mapping[str, Any], authority: str = "") -> Account:
        """Build from an entry of ``msal.ClientApplication.get_accounts()``."""
        home = str(account.get("home_account_id") or "")
        return cls(
            home_account_id=home,
            username=str(account.get("username") or ""),
            tenant_id=home.partition(".")[2] or str(account.get("realm") or ""),
            environment=str(account.get("environment") or ""),
            authority=authority,
            sign_in_method=_ACCOUNT_SOURCES.get(str(account.get("account_source") or ""), ""),
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Account:
        """Build from the JSON form (see :meth:`to_dict`)."""
        return cls(**{k: str(data.get(k) or "") for k in cls.__dataclass_fields__})

    def to_dict(self) -> dict[str, str]:
        """The JSON form used by the REST API."""
        return {
            "home_account_id": self.home_account_id,
            "username": self.username,
            "tenant_id": self.tenant_id,
            "environment": self.environment,
            "authority": self.authority,
            "sign_in_method": self.sign_in_method,
        }

    def matches(self, selector: str) -> bool:
        """True when ``selector`` is this account's home_account_id or username (any case)."""
        s = selector.strip().lower()
        return s in {self.home_account_id.lower(), self.username.lower()}


def decode_jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT as a dict, without checking its signature; ``{}`` if not a JWT.

    This is decoding, not validation: use it to read ``aud``, ``scp``, ``exp``, never to decide
    whether a token is genuine.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1]
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(raw)
    except (binascii.Error, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


class AccessToken(str):
    """An access token that is a ``str`` everywhere except on screen.

    Attributes:
        expires_on: expiry as seconds since the epoch (UTC).
        scopes: the scopes the token was granted for.
        account: the :class:`~jupyter_msal.models.Account` it was issued to (``None`` for an app).
        token_type: normally ``"Bearer"``.
    """

    expires_on: int
    scopes: tuple[str, ...]
    account: Account | None
    token_type: str

    def __new__(
        cls,
        token: str,
        expires_on: int | float,
        scopes: Iterable[str] = (),
        account: Account | None = None,
        token_type: str = "Bearer",  # noqa: S107
    ) -> AccessToken:
        """Wrap ``token`` (the secret) with what is known about it."""
        self = super().__new__(cls, token)
        self.expires_on = int(expires_on)
        self.scopes = tuple(scopes)
        self.account = account
        self.token_type = token_type or "Bearer"
        return self

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> AccessToken:
        """Build from the JSON of ``POST jupyter-msal/token`` (:meth:`to_dict`)."""
        account = data.get("account")
        return cls(
            str(data["access_token"]),
            int(data["expires_on"]),
            tuple(data.get("scopes") or ()),
            Account.from_dict(account) if isinstance(account, Mapping) else None,
            str(data.get("token_type") or "Bearer"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form ``POST jupyter-msal/token`` answers with (contains the token)."""
        return {
            "access_token": str.__str__(self),
            "token_type": self.token_type,
            "expires_on": self.expires_on,
            "scopes": list(self.scopes),
            "account": self.account.to_dict() if self.account else None,
        }

    @property
    def token(self) -> str:
        """The token as a plain ``str`` (the secret)."""
        return str.__str__(self)

    @property
    def expires_in(self) -> float:
        """Seconds until the token expires (negative once it has)."""
        return self.expires_on - time.time()

    @property
    def claims(self) -> dict[str, Any]:
        """The decoded (not validated) JWT payload: ``aud``, ``scp``, ``exp``, ``upn`` ...

        Empty when the token is not a JWT (tokens for some Microsoft APIs are opaque).
        """
        cached = self.__dict__.get("_claims")
        if cached is None:
            cached = self.__dict__["_claims"] = decode_jwt_claims(str.__str__(self))
        return dict(cached)

    @property
    def username(self) -> str:
        """The signed-in user's name, or ``""`` for an application token."""
        return self.account.username if self.account else ""

    def __str__(self) -> str:
        return str.__str__(self)

    def _describe(self) -> str:
        who = self.account.username if self.account and self.account.username else "app"
        left = self.expires_in
        if left <= 0:
            when = "expired"
        elif left < 60:
            when = f"expires in {int(left)} s"
        else:
            when = f"expires in {int(left // 60)} min"
        return f"<AccessToken for {who}, scopes={list(self.scopes)}, {when}>"

    def __repr__(self) -> str:
        return self._describe()

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self._describe())

    def _repr_html_(self) -> str:
        return f"<code>{html.escape(self._describe())}</code>"

    def _repr_markdown_(self) -> str:
        return f"`{self._describe()}`"

    def _repr_latex_(self) -> None:
        return None

    def _repr_json_(self) -> None:
        return None

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (str.__str__(self), self.expires_on, self.scopes, self.account, self.token_type),
        )

    def __copy__(self) -> AccessToken:
        return self

    def __deepcopy__(self, memo: Any) -> AccessToken:
        return self
