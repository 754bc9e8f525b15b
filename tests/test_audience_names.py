"""Audience names through a real server: REST, the CLI, a kernel's magics, the managed identity."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_msal.constants import IDENTITY_HEADER_ENV
from jupyter_msal.testing import EntraEmulator, decode_jwt
from jupyter_msal.testing.server import JupyterServerProcess, emulator_environment, run_cli

STORAGE = "https://storage.azure.com/.default"
VAULT = "https://vault.azure.net/.default"


async def test_token_for_a_name(api: Any, sign_in: Any, msal_emulator: EntraEmulator) -> None:
    await sign_in()
    status, token = await api("POST", "token", {"scopes": ["storage"]})
    assert status == 200, token
    assert token["scopes"] == [STORAGE]
    assert decode_jwt(token["access_token"])["aud"] == "https://storage.azure.com"
    # The name and its scope are one token: the second request is served from the cache.
    msal_emulator.reset_counts()
    status, again = await api("POST", "token", {"scopes": [STORAGE]})
    assert again["access_token"] == token["access_token"]
    assert msal_emulator.counts["token"] == 0


async def test_unknown_name_is_refused_before_any_request(
    api: Any, sign_in: Any, msal_emulator: EntraEmulator
) -> None:
    await sign_in()
    msal_emulator.reset_counts()
    status, err = await api("POST", "token", {"scopes": ["stroage"]})
    assert status == 400 and err["error"] == "bad_request"
    assert "'stroage'" in err["message"] and "storage" in err["message"]
    assert {"storage", "vault", "arm", "graph"} <= set(err["known_names"])
    assert sum(msal_emulator.counts.values()) == 0


async def test_unknown_name_in_a_sign_in_is_refused(api: Any, msal_emulator: EntraEmulator) -> None:
    status, err = await api("POST", "sign-ins", {"scopes": ["stroage"]})
    assert status == 400 and "known_names" in err
    assert sum(msal_emulator.counts.values()) == 0
    status, flow = await api("POST", "sign-ins", {"scopes": ["storage"]})
    assert status == 202, flow
    await api("DELETE", f"sign-ins/{flow['id']}")


@pytest.mark.parametrize(
    "msal_extra_env", [{"JUPYTER_MSAL_ALLOWED_SCOPES": "https://storage.azure.com/*"}]
)
async def test_allowed_scopes_apply_to_what_a_name_stands_for(
    api: Any, sign_in: Any, msal_emulator: EntraEmulator
) -> None:
    await sign_in()
    msal_emulator.reset_counts()
    status, err = await api("POST", "token", {"scopes": ["vault"]})
    assert status == 403 and err["error"] == "scope_not_allowed"
    assert VAULT in err["message"]
    assert sum(msal_emulator.counts.values()) == 0
    status, token = await api("POST", "token", {"scopes": ["storage"]})
    assert status == 200, token


@pytest.mark.parametrize(
    "msal_extra_env", [{"JUPYTER_MSAL_AUDIENCES": '{"lake": "https://datalake.azure.net"}'}]
)
async def test_get_audiences_answers_the_table(api: Any) -> None:
    status, doc = await api("GET", "audiences")
    assert status == 200 and doc["cloud"] == "public"
    table = {item["name"]: item["scope"] for item in doc["audiences"]}
    assert table["storage"] == STORAGE and table["keyvault"] == VAULT
    assert table["lake"] == "https://datalake.azure.net/.default"
    assert table["devops"] == "499b84ac-1321-427f-aa17-267ca6975798/.default"


async def test_get_audiences_needs_authentication(api: Any) -> None:
    status, _ = await api("GET", "audiences", headers={"Authorization": ""})
    assert status == 403


async def test_managed_identity_takes_resource_uris_only(
    api: Any, sign_in: Any, msal_emulator: EntraEmulator
) -> None:
    await sign_in()
    headers = {"X-IDENTITY-HEADER": os.environ[IDENTITY_HEADER_ENV], "Authorization": ""}
    params = {"api-version": "2019-08-01", "resource": "storage"}
    status, body = await api("GET", "managed-identity", params=params, headers=headers)
    # "storage" is asked for as the resource it says ("storage/.default"), not resolved.
    assert status == 200, body
    assert body["resource"] == "storage"
    assert decode_jwt(body["access_token"])["aud"] == "storage"


@pytest.fixture
def server(msal_emulator: EntraEmulator, tmp_path: Path) -> Iterator[JupyterServerProcess]:
    """A Jupyter server in a subprocess with ada signed in."""
    env = emulator_environment(msal_emulator, tmp_path / "cache" / "token_cache.bin")
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "config")
    srv = JupyterServerProcess(env, tmp_path / "server").start()
    try:
        flow = srv.request("POST", "jupyter-msal/sign-ins", {})
        msal_emulator.approve(flow["user_code"])
        srv.request("GET", f"jupyter-msal/sign-ins/{flow['id']}?wait=10")
        yield srv
    finally:
        srv.stop()


def test_cli_token_and_scopes_with_names(
    server: JupyterServerProcess, msal_emulator: EntraEmulator, tmp_path: Path
) -> None:
    env = emulator_environment(msal_emulator, tmp_path / "cache" / "token_cache.bin")
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "config")
    env.update(server.kernel_environment())  # a terminal of this server
    token = run_cli(env, "token", "vault", "--json")
    assert token.returncode == 0, token.stderr
    doc = json.loads(token.stdout)
    assert doc["scopes"] == [VAULT]
    assert decode_jwt(doc["access_token"])["aud"] == "https://vault.azure.net"

    unknown = run_cli(env, "token", "stroage")
    assert unknown.returncode != 0 and "Known names" in unknown.stderr

    listing = run_cli(env, "scopes")
    assert listing.returncode == 0, listing.stderr
    assert "public cloud" in listing.stdout
    lines = listing.stdout.split("\n")
    assert any(line.split() == ["storage", STORAGE] for line in lines)
    assert any(line.split() == ["keyvault", VAULT] for line in lines)
    as_json = json.loads(run_cli(env, "scopes", "--json").stdout)
    assert as_json["cloud"] == "public"


def test_kernel_magics_with_names(server: JupyterServerProcess) -> None:
    with server.open_kernel() as k:
        k.ok("%load_ext jupyter_msal")
        k.ok("tok = %msal_token storage")
        claims = k.eval("__import__('jupyter_msal.testing').testing.decode_jwt(str(tok))")
        assert claims["aud"] == "https://storage.azure.com"
        assert k.eval("list(tok.scopes)") == [STORAGE]
        listing = k.ok("%msal_scopes").stdout
        assert any(line.split() == ["vault", VAULT] for line in listing.split("\n"))


def test_direct_mode_lists_the_names_of_the_authoritys_cloud(
    msal_emulator: EntraEmulator, tmp_path: Path
) -> None:
    env = emulator_environment(msal_emulator, tmp_path / "cache" / "token_cache.bin")
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "config")
    env["JUPYTER_MSAL_AUTHORITY"] = "https://login.chinacloudapi.cn/contoso.partner.onmschina.cn"
    msal_emulator.reset_counts()
    listing = run_cli(env, "scopes", "--json")
    assert listing.returncode == 0, listing.stderr
    doc = json.loads(listing.stdout)
    table = {item["name"]: item["scope"] for item in doc["audiences"]}
    assert doc["cloud"] == "china"
    assert table["vault"] == "https://vault.azure.cn/.default" and table["fabric"] is None
    assert sum(msal_emulator.counts.values()) == 0
