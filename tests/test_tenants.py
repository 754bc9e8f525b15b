"""Tokens for guest tenants: one refresh of the home sign-in, the lookup, refusals, policy.

The emulator knows Ada as a guest of FABRIKAM (also named by its domain) and of MFA_TENANT,
which demands a sign-in of its own; the server's admin policy allows those tenants and
NOT_A_GUEST (where nobody is a guest) only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_msal.config import JupyterMsal
from jupyter_msal.errors import (
    BadRequest,
    IdentityProviderError,
    SignInRequired,
    TenantNotAllowed,
)
from jupyter_msal.models import decode_jwt_claims
from jupyter_msal.service import TokenService
from jupyter_msal.testing import DEFAULT_TENANT_ID as HOME
from jupyter_msal.testing import DEFAULT_USERNAME as ADA
from jupyter_msal.testing import EntraEmulator
from jupyter_msal.testing.server import run_cli

STORAGE = "https://storage.azure.com/.default"
VAULT = "https://vault.azure.net/.default"
FABRIKAM = "f00dface-0000-4000-8000-00000000fab1"
FABRIKAM_DOMAIN = "fabrikam.onmicrosoft.com"
MFA_TENANT = "f00dface-0000-4000-8000-0000000000fa"
NOT_A_GUEST = "f00dface-0000-4000-8000-0000000000ff"
ELSEWHERE = "f00dface-0000-4000-8000-0000000000ee"
BOB = "bob@contoso.com"
REFRESH = "grant:refresh_token"


@pytest.fixture
def msal_extra_env() -> dict[str, str]:
    """The admin allows three tenants by id and one by name."""
    return {
        "JUPYTER_MSAL_ALLOWED_TENANTS": ",".join(
            [FABRIKAM, MFA_TENANT, NOT_A_GUEST, FABRIKAM_DOMAIN]
        )
    }


@pytest.fixture
def guests(msal_emulator: EntraEmulator) -> EntraEmulator:
    """Ada is a guest of FABRIKAM and MFA_TENANT; MFA_TENANT wants its own sign-in."""
    msal_emulator.add_guest(ADA, FABRIKAM, domain=FABRIKAM_DOMAIN)
    msal_emulator.add_guest(ADA, MFA_TENANT)
    msal_emulator.require_mfa(MFA_TENANT)
    return msal_emulator


def _sign_in(service: TokenService, emulator: EntraEmulator, username: str = ADA) -> None:
    approval = emulator.approve_next(username=username)
    flow = service.flows.start("device_code", [], None)
    approval.wait(10)
    flow.wait(30)
    assert flow.state == "succeeded", flow.to_dict()


@pytest.fixture
def ada(service: TokenService, guests: EntraEmulator) -> Iterator[TokenService]:
    """The in-process service with Ada signed in and the emulator's counts at zero."""
    _sign_in(service, guests)
    guests.reset_counts()
    yield service


def _claims(token: Any) -> dict[str, Any]:
    return decode_jwt_claims(str(token))


def test_a_guest_token_costs_one_refresh_and_no_sign_in(
    ada: TokenService, guests: EntraEmulator
) -> None:
    token = ada.acquire_token(STORAGE, tenant=FABRIKAM)
    claims = _claims(token)
    assert claims["tid"] == FABRIKAM
    assert claims["iss"] == f"https://sts.windows.net/{FABRIKAM}/"  # v1: first-party resource
    assert claims["upn"] == ADA and token.account is not None and token.account.username == ADA
    assert guests.counts[REFRESH] == 1
    assert guests.token_requests_at(FABRIKAM, "refresh_token") == 1
    assert guests.counts["devicecode"] == guests.counts["grant:device_code"] == 0

    # Again, in any spelling: the lookup answers, nothing is sent.
    guests.reset_counts()
    assert ada.acquire_token(STORAGE, tenant=FABRIKAM.upper()) is token
    assert sum(guests.counts.values()) == 0

    # The home tenant's token is another one, and stays the home tenant's.
    home = ada.acquire_token(STORAGE)
    assert _claims(home)["tid"] == HOME and str(home) != str(token)
    guests.reset_counts()
    assert str(ada.acquire_token(STORAGE, tenant=FABRIKAM)) == str(token)
    assert guests.counts["token"] == 0

    # A v2 token (a resource of its own) names the tenant in its issuer too.
    api = ada.acquire_token("api://my-api/.default", tenant=FABRIKAM)
    assert _claims(api)["iss"].endswith(f"/{FABRIKAM}/v2.0")


def test_a_new_process_finds_the_guest_token_in_the_cache(
    ada: TokenService, guests: EntraEmulator
) -> None:
    token = ada.acquire_token(STORAGE, tenant=FABRIKAM)
    home = ada.acquire_token(STORAGE)
    guests.reset_counts()
    other = TokenService(JupyterMsal())
    try:
        assert str(other.acquire_token(STORAGE, tenant=FABRIKAM)) == str(token)
        assert str(other.acquire_token(STORAGE)) == str(home)
    finally:
        other.close()
    assert guests.counts["token"] == 0


def test_a_domain_name_names_the_tenant(ada: TokenService, guests: EntraEmulator) -> None:
    token = ada.acquire_token(VAULT, tenant="Fabrikam.onmicrosoft.com")
    assert _claims(token)["tid"] == FABRIKAM
    assert guests.token_requests_at(FABRIKAM_DOMAIN, "refresh_token") == 1


def test_two_accounts_are_never_mixed_up(ada: TokenService, guests: EntraEmulator) -> None:
    _sign_in(ada, guests, BOB)
    guests.reset_counts()
    token = ada.acquire_token(STORAGE, account=ADA, tenant=FABRIKAM)
    assert (_claims(token)["upn"], _claims(token)["tid"]) == (ADA, FABRIKAM)
    with pytest.raises(IdentityProviderError) as refused:  # Bob is no guest there
        ada.acquire_token(STORAGE, account=BOB, tenant=FABRIKAM)
    assert refused.value.aadsts == "50020"
    bob = ada.acquire_token(STORAGE, account=BOB)
    assert (_claims(bob)["upn"], _claims(bob)["tid"]) == (BOB, HOME)
    assert str(ada.acquire_token(STORAGE, account=ADA, tenant=FABRIKAM)) == str(token)
    with pytest.raises(BadRequest, match="Several accounts"):
        ada.acquire_token(STORAGE, tenant=FABRIKAM)  # whose? name one


def test_a_tenant_where_the_account_is_no_guest(ada: TokenService, guests: EntraEmulator) -> None:
    with pytest.raises(IdentityProviderError) as refused:
        ada.acquire_token(STORAGE, tenant=NOT_A_GUEST)
    err = refused.value
    assert err.aadsts == "50020" and not isinstance(err, SignInRequired)
    assert NOT_A_GUEST in err.message
    assert "neither a member nor a guest" in (err.hint or "")
    assert guests.counts[REFRESH] == 1


def test_a_tenant_that_wants_its_own_sign_in(ada: TokenService, guests: EntraEmulator) -> None:
    with pytest.raises(SignInRequired) as refused:
        ada.acquire_token(STORAGE, tenant=MFA_TENANT)
    err = refused.value
    assert err.tenant == MFA_TENANT and err.aadsts == "50076"
    assert err.message.startswith(f"Tenant {MFA_TENANT} wants its own sign-in of {ADA}")
    assert "Multi-factor authentication" in (err.hint or "")
    assert f"Sign in to tenant {MFA_TENANT}" in (err.hint or "")
    assert err.to_dict()["tenant"] == MFA_TENANT
    # The home tenant and the other guest tenant are not affected.
    assert _claims(ada.acquire_token(STORAGE))["tid"] == HOME
    assert _claims(ada.acquire_token(STORAGE, tenant=FABRIKAM))["tid"] == FABRIKAM


@pytest.mark.parametrize(
    ("tenant", "error", "text"),
    [
        (ELSEWHERE, TenantNotAllowed, "JupyterMsal.allowed_tenants"),
        ("contoso.onmicrosoft.com", TenantNotAllowed, "not allowed"),
        ("organizations", BadRequest, "names no one tenant"),
        ("not a tenant", BadRequest, "Invalid tenant"),
        ("../token", BadRequest, "Invalid tenant"),
    ],
)
def test_refused_before_any_request(
    ada: TokenService, guests: EntraEmulator, tenant: str, error: type, text: str
) -> None:
    with pytest.raises(error, match=text):
        ada.acquire_token(STORAGE, tenant=tenant)
    assert sum(guests.counts.values()) == 0


def test_the_configured_tenant_named_is_the_configured_one(
    msal_env: dict[str, str], guests: EntraEmulator
) -> None:
    """A tenant authority: naming its tenant is no other tenant (no policy, same token)."""
    settings = JupyterMsal(authority=guests.authority(HOME), allowed_tenants=[FABRIKAM])
    service = TokenService(settings)
    try:
        _sign_in(service, guests)
        guests.reset_counts()
        token = service.acquire_token(STORAGE, tenant=HOME)
        assert str(service.acquire_token(STORAGE)) == str(token)
        assert guests.counts[REFRESH] <= 1
    finally:
        service.close()


async def test_rest_token_with_a_tenant(api: Any, sign_in: Any, guests: EntraEmulator) -> None:
    await sign_in()
    guests.reset_counts()
    status, body = await api("POST", "token", {"scopes": ["storage"], "tenant": FABRIKAM})
    assert status == 200, body
    assert decode_jwt_claims(body["access_token"])["tid"] == FABRIKAM
    assert guests.counts[REFRESH] == 1

    status, body = await api("POST", "token", {"scopes": ["storage"], "tenant": ELSEWHERE})
    assert (status, body["error"], body["tenant"]) == (403, "tenant_not_allowed", ELSEWHERE)
    status, body = await api("POST", "token", {"scopes": ["storage"], "tenant": "x y"})
    assert (status, body["error"]) == (400, "bad_request")
    status, body = await api("POST", "token", {"scopes": ["storage"], "tenant": 7})
    assert (status, body["error"]) == (400, "bad_request")
    status, body = await api("POST", "token", {"scopes": ["storage"], "tenant": MFA_TENANT})
    assert (status, body["error"], body["tenant"]) == (401, "sign_in_required", MFA_TENANT)
    assert body["aadsts"] == "50076"
    assert guests.counts[REFRESH] == 2  # FABRIKAM's and MFA_TENANT's refusal, nothing else


def test_cli_token_for_a_tenant(
    shell_env: dict[str, str], msal_emulator: EntraEmulator, tmp_path: Path
) -> None:
    msal_emulator.add_guest(ADA, FABRIKAM)
    msal_emulator.auto_approve = ADA
    assert run_cli(shell_env, "login").returncode == 0
    msal_emulator.reset_counts()
    result = run_cli(shell_env, "token", "vault", "--tenant", FABRIKAM, "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    claims = decode_jwt_claims(doc["access_token"])
    assert (claims["tid"], claims["aud"]) == (FABRIKAM, "https://vault.azure.net")
    assert msal_emulator.counts[REFRESH] == 1 and msal_emulator.counts["devicecode"] == 0

    refused = run_cli(shell_env, "token", "vault", "--tenant", NOT_A_GUEST)
    assert refused.returncode != 0 and "AADSTS50020" in refused.stderr
    assert refused.stdout == ""
