"""The signed-in accounts, read from the token cache alone; sign-out; a revision number.

Listing needs no msal application (whose construction may talk to the network), so it
answers even while the identity provider hangs. Only accounts that own a refresh token of
the configured client count as signed in.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..config.settings import JupyterMsal
from ..errors import AccountNotNamed, BadRequest, NotFound, SignInRequired
from ..models import Account

if TYPE_CHECKING:
    import msal

    from .msal_app import MsalApp

__all__ = ["AccountStore"]


class AccountStore:
    """The accounts of one token cache, as :class:`~jupyter_msal.models.Account` values."""

    def __init__(self, settings: JupyterMsal, token_cache: msal.TokenCache) -> None:
        self.settings = settings
        self.token_cache = token_cache
        self._revision = 0
        self._known: frozenset[str] | None = None
        self._lock = threading.Lock()

    @property
    def revision(self) -> int:
        """A number that grows whenever the set of signed-in accounts changes."""
        return self._revision

    def raw(self) -> list[dict[str, Any]]:
        """msal's account entries that own a refresh token of our client, or that the OS broker
        holds (it keeps their refresh tokens itself); blocking, cache only."""
        if self.settings.service_principal:
            return []
        from msal import TokenCache

        kind = TokenCache.CredentialType
        owners = {
            rt.get("home_account_id")
            for rt in list(
                self.token_cache.search(
                    kind.REFRESH_TOKEN, query={"client_id": self.settings.client_id}
                )
            )
        }
        accounts: dict[str, dict[str, Any]] = {}
        for entry in list(self.token_cache.search(kind.ACCOUNT)):
            home = entry.get("home_account_id")
            by_broker = entry.get("account_source") == "broker"
            if (home in owners or by_broker) and home not in accounts:
                accounts[home] = entry
        raw = sorted(accounts.values(), key=lambda a: str(a.get("username", "")).lower())
        self._note([str(a.get("home_account_id") or "") for a in raw])
        return raw

    def to_account(self, raw: Mapping[str, Any]) -> Account:
        """The :class:`Account` for one of msal's account entries."""
        return Account.from_msal(
            raw, authority=self.settings.oidc_authority or self.settings.authority
        )

    def list(self) -> list[Account]:
        """Signed-in accounts (blocking: reads the cache file when another process changed it)."""
        return [self.to_account(a) for a in self.raw()]

    def _note(self, home_ids: Sequence[str]) -> None:
        ids = frozenset(home_ids)
        with self._lock:
            if ids != self._known:
                if self._known is not None:
                    self._revision += 1
                self._known = ids

    def pick(self, selector: str | None, scopes: Sequence[str]) -> dict[str, Any]:
        """The account entry a token request is for: the one named, or the only one."""
        raw_accounts = self.raw()
        if selector:
            for raw in raw_accounts:
                if self.to_account(raw).matches(selector):
                    return raw
            raise SignInRequired(
                f"{selector} is not signed in.",
                scopes=scopes,
                hint="Sign in as that account first (%msal_login or `jupyter msal login`).",
            )
        if not raw_accounts:
            raise SignInRequired(scopes=scopes)
        if len(raw_accounts) > 1:
            names = ", ".join(str(a.get("username")) for a in raw_accounts)
            raise BadRequest(f"Several accounts are signed in ({names}): name one with account=.")
        return raw_accounts[0]

    def find(self, username: str) -> Account | None:
        """The signed-in account with this username (any case), if there is one."""
        wanted = username.strip().lower()
        return next((a for a in self.list() if a.username.lower() == wanted), None)

    def remove(
        self, msal_app: MsalApp, account: str | None = None, *, all_accounts: bool = False
    ) -> list[Account]:
        """Remove one account (by username or home_account_id), or all; returns those removed.

        The account's refresh token is gone from the cache file when this returns; when another
        process holds the cache's lock too long, :class:`~jupyter_msal.errors.CacheLocked`.
        """
        if account is None and not all_accounts:
            raise AccountNotNamed()
        targets = [
            raw for raw in self.raw() if all_accounts or self.to_account(raw).matches(account or "")
        ]
        if account and not targets:
            raise NotFound(f"No signed-in account matches {account!r}.")
        app = msal_app.app
        for raw in targets:
            msal_app.call(lambda raw=raw: app.remove_account(raw))
        self.raw()
        return [self.to_account(raw) for raw in targets]
