"""The emulator's Resource Manager: subscriptions and tenants lists for its own ARM tokens."""

from __future__ import annotations

import requests

from jupyter_msal.testing import DEFAULT_USERNAME, EntraEmulator

ARM = "https://management.core.windows.net//.default"
SUB = "0b1f6c7e-0000-4000-8000-000000000001"


def _token(emu: EntraEmulator, scope: str) -> str:
    app = emu.public_client_app()
    flow = app.initiate_device_flow([scope])
    emu.approve(flow["user_code"], DEFAULT_USERNAME)  # approved before msal's first poll
    return str(app.acquire_token_by_device_flow(flow)["access_token"])


def _get(emu: EntraEmulator, what: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(
        f"{emu.url}/{what}?api-version=2022-12-01",
        headers=headers,
        verify=emu.ca_bundle_path,
        timeout=10,
    )


def test_subscriptions_of_the_tokens_tenant(msal_emulator: EntraEmulator) -> None:
    token = _token(msal_emulator, ARM)
    tenant = msal_emulator.users[DEFAULT_USERNAME]["tenant_id"]
    listed = _get(msal_emulator, "subscriptions", token).json()["value"]
    assert [(s["displayName"], s["tenantId"]) for s in listed] == [
        ("Emulated subscription", tenant)
    ]
    assert listed[0]["id"] == f"/subscriptions/{listed[0]['subscriptionId']}"
    msal_emulator.set_subscriptions(tenant, {SUB: "Research"})
    listed = _get(msal_emulator, "subscriptions", token).json()["value"]
    assert [(s["subscriptionId"], s["displayName"]) for s in listed] == [(SUB, "Research")]
    tenants = _get(msal_emulator, "tenants", token).json()["value"]
    assert [t["tenantId"] for t in tenants] == [tenant]
    msal_emulator.reset()
    assert msal_emulator.subscriptions_of(tenant)[0]["name"] == "Emulated subscription"


def test_refuses_unknown_tokens_and_other_audiences(msal_emulator: EntraEmulator) -> None:
    assert _get(msal_emulator, "subscriptions", None).status_code == 401
    assert _get(msal_emulator, "subscriptions", "not.a.token").status_code == 401
    storage = _token(msal_emulator, "https://storage.azure.com/.default")
    answer = _get(msal_emulator, "subscriptions", storage)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"
