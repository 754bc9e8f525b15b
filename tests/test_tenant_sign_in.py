"""A sign-in for a guest tenant that demands its own (MFA, consent, Conditional Access).

Ada is a guest of MFA_TENANT, which refuses the home sign-in's refresh token like
AADSTS50076. Her token request for it says so, naming the tenant; a sign-in for that tenant
(``POST sign-ins`` with ``"tenant"``) runs at ``<host>/<tenant>``, and her tokens for that
tenant then come without another sign-in, while the home tenant's keep working. The admin
policy allows MFA_TENANT and FABRIKAM only.
"""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_msal.config import JupyterMsal
from jupyter_msal.errors import SignInRequired
from jupyter_msal.models import decode_jwt_claims
from jupyter_msal.service import TokenService
from jupyter_msal.testing import DEFAULT_TENANT_ID as HOME
from jupyter_msal.testing import DEFAULT_USERNAME as ADA
from jupyter_msal.testing import EntraEmulator
from jupyter_msal.testing.server import run_cli

STORAGE = "https://storage.azure.com/.default"
VAULT = "https://vault.azure.net/.default"
MFA_TENANT = "f00dface-0000-4000-8000-0000000000fa"
FABRIKAM = "f00dface-0000-4000-8000-00000000fab1"
ELSEWHERE = "f00dface-0000-4000-8000-0000000000ee"
REFRESH = "grant:refresh_token"
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
SIGN_INS = ("devicecode", "grant:device_code", "authorize", "grant:authorization_code")


@pytest.fixture
def msal_extra_env() -> dict[str, str]:
    """The admin allows two guest tenants."""
    return {"JUPYTER_MSAL_ALLOWED_TENANTS": f"{MFA_TENANT},{FABRIKAM}"}


@pytest.fixture
def guests(msal_emulator: EntraEmulator) -> EntraEmulator:
    """Ada is a guest of MFA_TENANT (which wants its own sign-in) and of FABRIKAM."""
    msal_emulator.add_guest(ADA, MFA_TENANT)
    msal_emulator.add_guest(ADA, FABRIKAM)
    msal_emulator.require_mfa(MFA_TENANT)
    return msal_emulator


def _tid(token: str) -> str:
    return str(decode_jwt_claims(token)["tid"])


def _refreshed_at(emulator: EntraEmulator) -> dict[str, int]:
    """Path -> how many refresh-token grants it answered with tokens."""
    granted: dict[str, int] = {}
    for entry in emulator.state()["requests"]:
        if entry.get("grant_type") == "refresh_token" and entry.get("status") == 200:
            granted[entry["path"]] = granted.get(entry["path"], 0) + 1
    return granted


def _sign_ins(emulator: EntraEmulator) -> int:
    return sum(emulator.counts[key] for key in SIGN_INS)


async def _wait(api: Any, flow: dict[str, Any]) -> dict[str, Any]:
    for _ in range(6):
        if flow["state"] != "pending":
            break
        _, flow = await api("GET", f"sign-ins/{flow['id']}", params={"wait": "10"})
    return flow


async def test_a_sign_in_for_the_tenant_then_its_tokens_come_silently(
    api: Any, sign_in: Any, guests: EntraEmulator
) -> None:
    await sign_in()
    status, home = await api("POST", "token", {"scopes": ["storage"]})
    assert status == 200 and _tid(home["access_token"]) == HOME

    # The guest tenant wants its own sign-in: the error names it and how to sign in.
    guests.reset_counts()
    status, refused = await api("POST", "token", {"scopes": ["storage"], "tenant": MFA_TENANT})
    assert (status, refused["error"], refused["tenant"]) == (401, "sign_in_required", MFA_TENANT)
    assert refused["aadsts"] == "50076"
    assert f"%msal_login --tenant {MFA_TENANT}" in refused["hint"]
    assert f"jupyter msal login --tenant {MFA_TENANT}" in refused["hint"]
    assert guests.token_requests_at(MFA_TENANT, "refresh_token") == 1

    # A sign-in for that tenant, at its own authority.
    guests.reset_counts()
    approval = guests.approve_next(username=ADA)
    status, flow = await api("POST", "sign-ins", {"scopes": ["storage"], "tenant": MFA_TENANT})
    assert status == 202, flow
    assert flow["tenant"] == MFA_TENANT and flow["method"] == "device_code"
    assert approval.wait(0) == flow["user_code"]
    flow = await _wait(api, flow)
    assert flow["state"] == "succeeded", flow
    assert flow["account"]["username"] == ADA
    devicecode_at = [r for r in guests.state()["requests"] if r.get("path", "").endswith("code")]
    assert [r["path"] for r in devicecode_at] == [f"/{MFA_TENANT}/oauth2/v2.0/devicecode"]
    assert guests.token_requests_at(MFA_TENANT, DEVICE_CODE) >= 1

    # Now the guest tenant's tokens come without a sign-in: the one of the sign-in ...
    guests.reset_counts()
    status, token = await api("POST", "token", {"scopes": ["storage"], "tenant": MFA_TENANT})
    assert status == 200, token
    assert _tid(token["access_token"]) == MFA_TENANT
    assert sum(guests.counts.values()) == 0
    # ... and another resource's, with one refresh at that tenant.
    status, vault = await api("POST", "token", {"scopes": ["vault"], "tenant": MFA_TENANT})
    assert status == 200, vault
    assert _tid(vault["access_token"]) == MFA_TENANT
    # msal tries the newest refresh token first; the home sign-in's, of the same second,
    # may be tried before and be refused: one grant at that tenant answers, nothing else.
    assert _refreshed_at(guests) == {f"/{MFA_TENANT}/oauth2/v2.0/token": 1}
    assert _sign_ins(guests) == 0

    # One account still, and the home tenant's tokens are still the home tenant's.
    status, accounts = await api("GET", "accounts")
    assert [a["username"] for a in accounts["accounts"]] == [ADA]
    assert accounts["accounts"][0]["tenant_id"] == HOME
    status, again = await api("POST", "token", {"scopes": ["storage"]})
    assert status == 200 and again["access_token"] == home["access_token"]
    status, graph = await api("POST", "token", {"scopes": ["graph"]})
    assert status == 200 and _tid(graph["access_token"]) == HOME
    status, fabrikam = await api("POST", "token", {"scopes": ["storage"], "tenant": FABRIKAM})
    assert status == 200 and _tid(fabrikam["access_token"]) == FABRIKAM
    assert _sign_ins(guests) == 0


async def test_a_sign_in_for_a_tenant_not_allowed_or_not_a_tenant(
    api: Any, sign_in: Any, guests: EntraEmulator
) -> None:
    await sign_in()
    guests.reset_counts()
    status, body = await api("POST", "sign-ins", {"tenant": ELSEWHERE})
    assert (status, body["error"], body["tenant"]) == (403, "tenant_not_allowed", ELSEWHERE)
    assert "JupyterMsal.allowed_tenants" in body["message"]
    for junk, text in [
        ("not a tenant", "Invalid tenant"),
        ("../token", "Invalid tenant"),
        ("organizations", "names no one tenant"),
        (7, "must be str"),
    ]:
        status, body = await api("POST", "sign-ins", {"tenant": junk})
        assert (status, body["error"]) == (400, "bad_request"), body
        assert text in body["message"]
    assert sum(guests.counts.values()) == 0
    status, body = await api("GET", "sign-ins")
    assert [f["tenant"] for f in body["sign_ins"]] == [None]  # the first sign-in only


def test_a_browser_sign_in_for_the_tenant_goes_to_its_authority(
    msal_env: dict[str, str], guests: EntraEmulator
) -> None:
    service = TokenService(JupyterMsal())
    try:
        flow = service.flows.start("auth_code", [], None, MFA_TENANT.upper())
        assert flow.tenant == MFA_TENANT
        assert str(flow.prompt.sign_in_url).startswith(
            f"{guests.url}/{MFA_TENANT}/oauth2/v2.0/authorize?"
        )
        service.flows.cancel(flow.id)
    finally:
        service.close()


def test_the_configured_tenant_named_is_an_ordinary_sign_in(
    msal_env: dict[str, str], guests: EntraEmulator
) -> None:
    """With a tenant authority, naming its own tenant is no other tenant: a plain sign-in,
    outside the admin's list of other tenants."""
    service = TokenService(JupyterMsal(authority=guests.authority(HOME), allowed_tenants=[]))
    try:
        guests.approve_next(username=ADA)
        flow = service.flows.start("device_code", [], None, HOME)
        flow.wait(10)
        assert (flow.state, flow.tenant) == ("succeeded", None)
        assert guests.token_requests_at(HOME, DEVICE_CODE) >= 1
    finally:
        service.close()


def test_the_kernel_api_signs_in_to_the_tenant_the_error_names(
    msal_env: dict[str, str], guests: EntraEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """``get_token(tenant=T)`` meets the tenant's demand for a sign-in and runs that sign-in,
    then ``login(tenant=T)`` signs in to it again (direct mode: no server here)."""
    from jupyter_msal import client
    from jupyter_msal.kernel import api

    client.reset_client(None)
    api.clear_cache()
    try:
        guests.approve_next(username=ADA)
        assert api.login().username == ADA
        guests.reset_counts()
        with pytest.raises(SignInRequired) as refused:
            api.get_token(STORAGE, tenant=MFA_TENANT, sign_in=False)
        assert refused.value.tenant == MFA_TENANT and _sign_ins(guests) == 0

        guests.approve_next(username=ADA)
        token = api.get_token(STORAGE, tenant=MFA_TENANT)
        assert _tid(str(token)) == MFA_TENANT
        assert guests.counts["devicecode"] == 1
        assert guests.token_requests_at(MFA_TENANT, DEVICE_CODE) >= 1
        printed = capsys.readouterr().out
        assert f"(a sign-in to tenant {MFA_TENANT})" in printed
        assert f"Signed in as {ADA} to tenant {MFA_TENANT}." in printed

        guests.reset_counts()
        guests.approve_next(username=ADA)
        assert api.login("vault", tenant=MFA_TENANT).username == ADA
        assert guests.token_requests_at(MFA_TENANT, DEVICE_CODE) >= 1
        guests.reset_counts()
        vault = api.get_token("vault", tenant=MFA_TENANT)
        assert _tid(str(vault)) == MFA_TENANT and sum(guests.counts.values()) == 0
    finally:
        api.clear_cache()
        client.reset_client(None)


def test_cli_login_for_a_tenant(shell_env: dict[str, str], guests: EntraEmulator) -> None:
    env = {**shell_env, "JUPYTER_MSAL_ALLOWED_TENANTS": MFA_TENANT}
    guests.auto_approve = ADA
    assert run_cli(env, "login").returncode == 0
    refused = run_cli(env, "token", "storage", "--tenant", MFA_TENANT)
    assert refused.returncode != 0 and refused.stdout == ""
    assert f"jupyter msal login --tenant {MFA_TENANT}" in refused.stderr

    guests.reset_counts()
    login = run_cli(env, "login", "storage", "--tenant", MFA_TENANT)
    assert login.returncode == 0, login.stderr
    assert f"(a sign-in to tenant {MFA_TENANT})" in login.stderr
    assert guests.token_requests_at(MFA_TENANT, DEVICE_CODE) >= 1
    guests.reset_counts()
    token = run_cli(env, "token", "storage", "--tenant", MFA_TENANT)
    assert token.returncode == 0, token.stderr
    assert _tid(token.stdout.strip()) == MFA_TENANT
    assert _sign_ins(guests) == 0 and guests.counts["token"] == 0

    refused = run_cli(env, "login", "--tenant", ELSEWHERE)
    assert refused.returncode != 0 and "JupyterMsal.allowed_tenants" in refused.stderr
