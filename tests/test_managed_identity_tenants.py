"""The managed-identity endpoint of one tenant, ``.../managed-identity/tenants/{tenant}``.

The App Service protocol has no tenant parameter; the tenant is part of the endpoint's path.
Here the test process plays the kernel of an in-process server (it inherits IDENTITY_ENDPOINT
and IDENTITY_HEADER); the kernels, ``%msal_tenant`` and ``DefaultAzureCredential`` are in
tests/kernel/test_kernel_keyvault.py.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import pytest

from jupyter_msal.client.endpoint import endpoint_tenant, home_endpoint, tenant_endpoint
from jupyter_msal.constants import IDENTITY_ENDPOINT_ENV, IDENTITY_HEADER_ENV, SERVER_URL_ENV
from jupyter_msal.errors import BadRequest, ConfigError, ServerUnavailable
from jupyter_msal.testing import DEFAULT_TENANT_ID, decode_jwt

GUEST = "b2b0b2b0-0000-4000-8000-00000000b0b0"
GUEST_DOMAIN = "fabrikam.onmicrosoft.com"
STRANGER = "5742a0e0-0000-4000-8000-0000000005a1"
VAULT = "https://vault.azure.net"


@pytest.fixture(autouse=True)
def _no_outside_identity(no_outside_identity: None) -> None:
    """Every test here runs without a managed identity from outside."""


@pytest.fixture
def guest(sign_in: Any, msal_emulator: Any) -> Any:
    """``await guest()``: Ada signed in (home tenant: the emulator's default), a guest of
    GUEST; returns the emulator with its counts at 0."""

    async def run() -> Any:
        msal_emulator.add_guest("ada@contoso.com", GUEST, domain=GUEST_DOMAIN)
        await sign_in()
        msal_emulator.reset_counts()
        return msal_emulator

    return run


def _headers() -> dict[str, str]:
    return {"X-IDENTITY-HEADER": os.environ[IDENTITY_HEADER_ENV], "Authorization": ""}


async def _get(api: Any, tenant: str, resource: str = VAULT) -> tuple[int, Any]:
    params = {"api-version": "2019-08-01", "resource": resource}
    return await api(  # type: ignore[no-any-return]
        "GET", f"managed-identity/tenants/{tenant}", params=params, headers=_headers()
    )


async def test_a_guest_tenant_token_from_the_home_sign_in(api: Any, guest: Any) -> None:
    emu = await guest()
    status, body = await _get(api, GUEST)
    assert status == 200, body
    claims = decode_jwt(body["access_token"])
    assert claims["tid"] == GUEST and claims["aud"] == VAULT
    assert claims["iss"] == f"https://sts.windows.net/{GUEST}/"
    assert emu.token_requests_at(GUEST, "refresh_token") == 1
    assert emu.counts["token"] == 1 and emu.counts["devicecode"] == 0
    again = await _get(api, GUEST)
    assert again[1]["access_token"] == body["access_token"]
    by_domain = await _get(api, GUEST_DOMAIN.upper())
    assert decode_jwt(by_domain[1]["access_token"])["tid"] == GUEST
    # the plain endpoint still serves the home tenant
    home = await api(
        "GET",
        "managed-identity",
        params={"api-version": "2019-08-01", "resource": VAULT},
        headers=_headers(),
    )
    assert decode_jwt(home[1]["access_token"])["tid"] == DEFAULT_TENANT_ID


@pytest.mark.parametrize(
    ("tenant", "words"),
    [
        ("organizations", "names no one tenant"),
        ("not a tenant", "Invalid tenant"),
        ("x" * 300, "Invalid tenant"),
    ],
    ids=["multi-tenant-name", "spaces", "too-long"],
)
async def test_what_is_no_tenant_is_a_400_before_any_request(
    api: Any, guest: Any, tenant: str, words: str
) -> None:
    emu = await guest()
    status, body = await _get(api, tenant)
    assert status == 400, body
    assert body["error"] == "bad_request" and words in body["message"]
    assert emu.counts["token"] == 0


async def test_a_tenant_where_the_user_is_no_guest_says_so(api: Any, guest: Any) -> None:
    emu = await guest()
    status, body = await _get(api, STRANGER)
    assert 400 <= status < 500, body  # never retried by the Azure SDKs
    assert "50020" in body["message"] and STRANGER in body["message"]
    assert emu.token_requests_at(STRANGER, "refresh_token") == 1


@pytest.mark.parametrize(
    "msal_extra_env",
    [{"JUPYTER_MSAL_ALLOWED_TENANTS": '["contoso.onmicrosoft.com"]'}],
    indirect=True,
)
async def test_allowed_tenants_refuses_before_any_request(api: Any, guest: Any) -> None:
    emu = await guest()
    status, body = await _get(api, GUEST)
    assert status == 403, body
    assert body["error"] == "tenant_not_allowed" and "allowed_tenants" in body["message"]
    assert emu.counts["token"] == 0


def _azure_clients_get(endpoint: str) -> list[str]:
    """Tokens from azure-identity and msal, with ``endpoint`` as IDENTITY_ENDPOINT."""
    import msal
    import requests
    from azure.identity import ManagedIdentityCredential

    os.environ[IDENTITY_ENDPOINT_ENV] = endpoint
    tokens = [ManagedIdentityCredential().get_token(VAULT + "/.default").token]
    client = msal.ManagedIdentityClient(
        msal.SystemAssignedManagedIdentity(), http_client=requests.Session()
    )
    tokens.append(client.acquire_token_for_client(resource=VAULT)["access_token"])
    return tokens


async def test_azure_sdks_append_their_query_to_the_tenant_path(
    api: Any, guest: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = await guest()
    monkeypatch.setenv(IDENTITY_ENDPOINT_ENV, os.environ[IDENTITY_ENDPOINT_ENV])  # restored after
    endpoint = tenant_endpoint(os.environ, GUEST_DOMAIN)
    tokens = await asyncio.to_thread(_azure_clients_get, endpoint)
    assert {decode_jwt(t)["tid"] for t in tokens} == {GUEST}
    assert emu.token_requests_at(GUEST_DOMAIN, "refresh_token") == 1


def test_endpoint_addresses() -> None:
    server = "http://127.0.0.1:8888/base/"
    home = server + "jupyter-msal/managed-identity"
    env = {SERVER_URL_ENV: server, IDENTITY_ENDPOINT_ENV: home, IDENTITY_HEADER_ENV: "x"}
    assert home_endpoint(env) == tenant_endpoint(env, None) == home
    assert tenant_endpoint(env, "Fabrikam.onmicrosoft.com") == home + "/tenants/" + GUEST_DOMAIN
    assert endpoint_tenant(env) is None
    env[IDENTITY_ENDPOINT_ENV] = tenant_endpoint(env, GUEST)
    assert endpoint_tenant(env) == GUEST and home_endpoint(env) == home
    with pytest.raises(BadRequest, match="names no one tenant"):
        tenant_endpoint(env, "common")
    with pytest.raises(ServerUnavailable, match="notebook or a terminal"):
        tenant_endpoint({}, GUEST)
    real = {
        SERVER_URL_ENV: server,
        IDENTITY_ENDPOINT_ENV: "http://169.254.0.1/msi",
        "IDENTITY_HEADER": "r",
    }
    with pytest.raises(ConfigError, match="managed_identity_endpoint"):
        tenant_endpoint(real, GUEST)


def test_cli_prints_the_url_only(tmp_path: Any) -> None:
    server = "http://127.0.0.1:8888/"
    env = {
        **os.environ,
        SERVER_URL_ENV: server,
        IDENTITY_ENDPOINT_ENV: server + "jupyter-msal/managed-identity",
        IDENTITY_HEADER_ENV: "not-printed",
    }
    run = subprocess.run(
        [sys.executable, "-m", "jupyter_msal.cli", "endpoint", "--tenant", GUEST],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"{server}jupyter-msal/managed-identity/tenants/{GUEST}\n"
    bad = subprocess.run(
        [sys.executable, "-m", "jupyter_msal.cli", "endpoint", "--tenant", "organizations"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.startswith("jupyter msal endpoint: ") and "names no one tenant" in bad.stderr


def test_msal_tenant_magic_in_this_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], ipython_shell: Any
) -> None:
    """``%msal_tenant`` sets, shows and resets IDENTITY_ENDPOINT (the kernels' test runs it
    against a server); bad arguments are one-line usage errors and change nothing."""
    from IPython.core.error import UsageError
    server = "http://127.0.0.1:8888/"
    home = server + "jupyter-msal/managed-identity"
    monkeypatch.setenv(SERVER_URL_ENV, server)
    monkeypatch.setenv(IDENTITY_ENDPOINT_ENV, home)
    monkeypatch.setenv(IDENTITY_HEADER_ENV, "x")
    ip = ipython_shell
    ip.run_line_magic("load_ext", "jupyter_msal")
    try:
        ip.run_line_magic("msal_tenant", GUEST_DOMAIN)
        assert os.environ[IDENTITY_ENDPOINT_ENV] == f"{home}/tenants/{GUEST_DOMAIN}"
        with pytest.raises(UsageError, match="not both"):
            ip.run_line_magic("msal_tenant", f"{GUEST} --home")
        ip.run_line_magic("msal_tenant", "")
        assert f"tokens of {GUEST_DOMAIN}" in capsys.readouterr().out
        ip.run_line_magic("msal_tenant", "--home")
        assert os.environ[IDENTITY_ENDPOINT_ENV] == home
        assert "the signed-in account's own tenant" in capsys.readouterr().out
    finally:
        ip.run_line_magic("unload_ext", "jupyter_msal")
    assert "msal_tenant" not in ip.magics_manager.magics["line"]
