"""Small, frozen value types shared by the server, the kernel side and the CLI.

None of these imports msal. ``AccessToken`` is the only one that holds a secret, and its
``repr`` never shows it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AccessToken", "Account", "normalize_scopes"]


def normalize_scopes(scopes: Any) -> tuple[str, ...]:
    """Scopes as a sorted tuple without duplicates; one string may hold several, space-separated."""
    if scopes is None:
        return ()
    if isinstance(scopes, str):
        scopes = scopes.split()
    return tuple(sorted({s for s in scopes if s}))


@dataclass(frozen=True)
class Account:
    """A signed-in account. Holds nothing secret."""

    home_account_id: str
    username: str
    tenant_id: str = ""
    environment: str = ""
    authority: str = ""

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
        }

    def matches(self, selector: str) -> bool:
        """True when ``selector`` is this account's home_account_id or username (any case)."""
        s = selector.strip().lower()
        return s in {self.home_account_id.lower(), self.username.lower()}


@dataclass(frozen=True)
class AccessToken:
    """An access token as the service hands it out. ``repr`` is redacted."""

    token: str = field(repr=False)
    expires_on: int
    scopes: tuple[str, ...] = ()
    account: Account | None = None
    token_type: str = "Bearer"

    @property
    def expires_in(self) -> float:
        """Seconds until expiry (negative once expired)."""
        return self.expires_on - time.time()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form the token endpoint answers with (contains the token)."""
        return {
            "access_token": self.token,
            "token_type": self.token_type,
            "expires_on": self.expires_on,
            "scopes": list(self.scopes),
            "account": self.account.to_dict() if self.account else None,
        }

    def __repr__(self) -> str:
        who = self.account.username if self.account else "app"
        return (
            f"<AccessToken for {who}, scopes={list(self.scopes)}, "
            f"expires in {max(0, int(self.expires_in // 60))} min>"
        )
