"""Which requests the JupyterHub login serves, beside the user server's own accounts."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from jupyter_msal.errors import BadRequest, HubLoginUnusable, SignInRequired
from jupyter_msal.identity.hub_routing import HubRouting
from jupyter_msal.models import AccessToken, Account

ADA = Account(home_account_id="uid.tid", username="ada@contoso.com", tenant_id="tid")
GRACE = Account(home_account_id="g.tid", username="grace@contoso.com", tenant_id="tid")
SCOPES = ("https://storage.azure.com/.default",)


class FakeLink:
    """The hub service's answers: the hub login's account, a token or a refusal."""

    def __init__(self, account: Account | None, refuse: bool = False) -> None:
        self._account = account
        self.refuse = refuse
        self.calls: list[tuple[Any, ...]] = []

    def account(self) -> Account | None:
        return self._account

    def token(self, scopes: tuple[str, ...], *, claims: Any, force_refresh: bool) -> AccessToken:
        self.calls.append((scopes, claims, force_refresh))
        if self.refuse:
            raise HubLoginUnusable("consent is missing")
        return AccessToken("hub-token", 2_000_000_000, scopes, self._account)


class FakeAccounts:
    """The user server's own accounts."""

    def __init__(self, *accounts: Account) -> None:
        self.accounts = list(accounts)

    def list(self) -> list[Account]:
        return list(self.accounts)

    def find(self, selector: str) -> Account | None:
        return next((a for a in self.accounts if a.matches(selector)), None)


def routing(link: FakeLink | None, *own: Account) -> HubRouting:
    return HubRouting(link, FakeAccounts(*own), logging.getLogger("test"))  # type: ignore[arg-type]


def test_without_a_hub_nothing_is_routed() -> None:
    hub = routing(None, GRACE)
    assert hub.account_for(None) is None
    assert hub.with_hub_account([GRACE]) == [GRACE]
    assert hub.token(SCOPES, None, False, None) is None
    hub.check_sign_out("grace@contoso.com")


def test_the_hub_account_is_listed_first_once() -> None:
    assert routing(FakeLink(ADA)).with_hub_account([GRACE]) == [ADA, GRACE]
    assert routing(FakeLink(ADA)).with_hub_account([ADA, GRACE]) == [ADA, GRACE]
    assert routing(FakeLink(None)).with_hub_account([GRACE]) == [GRACE]


def test_requests_for_the_hub_account_or_nobody_go_to_the_hub() -> None:
    link = FakeLink(ADA)
    hub = routing(link, GRACE)
    assert hub.account_for("ADA@contoso.com") == ADA and hub.account_for("uid.tid") == ADA
    assert hub.account_for("grace@contoso.com") is None
    assert hub.token(SCOPES, "grace@contoso.com", False, None) is None
    token = hub.token(SCOPES, None, True, '{"x": 1}')
    assert token == "hub-token" and link.calls == [(SCOPES, '{"x": 1}', True)]


def test_an_unusable_hub_login_falls_back_or_asks_to_sign_in() -> None:
    assert routing(FakeLink(ADA, refuse=True), GRACE).token(SCOPES, None, False, None) is None
    with pytest.raises(SignInRequired, match="JupyterHub login cannot get this token") as info:
        routing(FakeLink(ADA, refuse=True)).token(SCOPES, None, False, None)
    assert not isinstance(info.value, HubLoginUnusable) and info.value.scopes == SCOPES


def test_the_hub_account_cannot_be_signed_out_here() -> None:
    with pytest.raises(BadRequest, match="log out of JupyterHub"):
        routing(FakeLink(ADA)).check_sign_out("ada@contoso.com")
    routing(FakeLink(ADA), ADA).check_sign_out("ada@contoso.com")  # signed in here too
