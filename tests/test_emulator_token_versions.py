"""The emulator's access tokens look like Entra ID's: v1 for first-party resources, v2 else."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_msal.testing import DEFAULT_TENANT_ID, EntraEmulator, decode_jwt

STS = f"https://sts.windows.net/{DEFAULT_TENANT_ID}/"
V1_ONLY = {"unique_name", "given_name", "family_name", "acr", "amr", "appidacr", "ipaddr", "rh"}


def _user_token(emulator: EntraEmulator, scope: str) -> dict[str, Any]:
    emulator.auto_approve = "grace@contoso.com"
    app = emulator.public_client_app()
    flow = app.initiate_device_flow([scope])
    result = app.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result
    return decode_jwt(result["access_token"])


@pytest.mark.parametrize(
    ("scope", "audience"),
    [
        ("https://storage.azure.com/.default", "https://storage.azure.com"),
        ("https://vault.azure.net/.default", "https://vault.azure.net"),
        ("https://management.core.windows.net//.default", "https://management.core.windows.net/"),
        ("https://contoso.blob.core.windows.net/.default", "https://contoso.blob.core.windows.net"),
    ],
)
def test_first_party_resources_get_v1_tokens(
    msal_emulator: EntraEmulator, scope: str, audience: str
) -> None:
    claims = _user_token(msal_emulator, scope)
    assert claims["ver"] == "1.0"
    assert claims["iss"] == STS
    assert claims["aud"] == audience
    assert V1_ONLY <= set(claims)
    assert "preferred_username" not in claims and "azp" not in claims
    assert claims["upn"] == claims["unique_name"] == "grace@contoso.com"
    assert claims["appid"] and claims["scp"] and claims["tid"] == DEFAULT_TENANT_ID


def test_other_resources_get_v2_tokens(msal_emulator: EntraEmulator) -> None:
    claims = _user_token(msal_emulator, "api://contoso-reports/.default")
    assert claims["ver"] == "2.0"
    assert claims["iss"] == f"{msal_emulator.url}/{DEFAULT_TENANT_ID}/v2.0"
    assert claims["preferred_username"] == "grace@contoso.com" and claims["azp"]
    assert not (V1_ONLY & set(claims))


@pytest.mark.parametrize(
    ("version", "scope", "expected"),
    [
        ("2.0", "https://storage.azure.com/.default", "2.0"),
        ("1.0", "api://contoso-reports/.default", "1.0"),
    ],
)
def test_version_is_configurable(
    msal_emulator: EntraEmulator, version: str, scope: str, expected: str
) -> None:
    msal_emulator.access_token_version = version
    assert _user_token(msal_emulator, scope)["ver"] == expected


def test_added_resource_gets_v1(msal_emulator: EntraEmulator) -> None:
    msal_emulator.v1_resources.add("reports.contoso.com")
    assert _user_token(msal_emulator, "https://reports.contoso.com/.default")["ver"] == "1.0"


def test_app_tokens_for_storage_are_v1(msal_emulator: EntraEmulator) -> None:
    cca = msal_emulator.confidential_client_app(client_id="app-1", client_credential="s3cret")
    result = cca.acquire_token_for_client(["https://storage.azure.com/.default"])
    claims = decode_jwt(result["access_token"])
    assert (claims["ver"], claims["iss"], claims["idp"]) == ("1.0", STS, STS)
    assert claims["appidacr"] == "1" and claims["idtyp"] == "app" and "azp" not in claims


def test_version_through_the_control_api(msal_emulator: EntraEmulator) -> None:
    session = msal_emulator.http_session()
    url = f"{msal_emulator.url}/_emulator/config"
    assert session.post(url, json={"access_token_version": "2.0"}).json()["ok"] is True
    assert _user_token(msal_emulator, "https://storage.azure.com/.default")["ver"] == "2.0"
    refused = session.post(url, json={"access_token_version": "3.0"})
    assert refused.status_code == 400 and msal_emulator.access_token_version == "2.0"
