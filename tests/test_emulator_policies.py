"""The emulator's sign-in page for auth code, Conditional Access blocks, confidential clients."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from jupyter_msal.testing import EntraEmulator

STORAGE = ["https://storage.azure.com/.default"]
REDIRECT = "http://localhost:8400/"


def test_sign_in_page_for_people(msal_emulator: EntraEmulator) -> None:
    msal_emulator.auth_code_sign_in_page = True
    app = msal_emulator.public_client_app()
    flow = app.initiate_auth_code_flow(STORAGE, redirect_uri=REDIRECT)
    session = msal_emulator.http_session()
    page = session.get(flow["auth_uri"], allow_redirects=False)
    assert page.status_code == 200
    assert 'id="sign-in"' in page.text and 'id="cancel"' in page.text
    hidden = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    assert hidden["state"] == flow["state"] and hidden["code_challenge"]
    target = flow["auth_uri"].split("?")[0]

    answer = session.post(
        target,
        data={**hidden, "username": "grace@contoso.com", "action": "sign-in"},
        allow_redirects=False,
    )
    assert answer.status_code == 302
    response = dict(parse_qsl(urlsplit(answer.headers["Location"]).query))
    result = app.acquire_token_by_auth_code_flow(flow, response)
    assert result["id_token_claims"]["preferred_username"] == "grace@contoso.com"

    flow = app.initiate_auth_code_flow(STORAGE, redirect_uri=REDIRECT)
    cancelled = session.post(
        target, data={**hidden, "state": flow["state"], "action": "cancel"}, allow_redirects=False
    )
    response = dict(parse_qsl(urlsplit(cancelled.headers["Location"]).query))
    assert response["error"] == "access_denied" and response["state"] == flow["state"]


def test_blocked_device_code_and_auth_code(msal_emulator: EntraEmulator) -> None:
    control = msal_emulator.http_session()
    answer = control.post(f"{msal_emulator.url}/_emulator/block", json={"method": "device_code"})
    assert answer.json() == {"ok": True, "blocked": {"device_code": 53003}}
    app = msal_emulator.public_client_app()
    device = app.initiate_device_flow(STORAGE)
    msal_emulator.approve(device["user_code"])
    result = app.acquire_token_by_device_flow(device, exit_condition=lambda _: True)
    assert result["error"] == "invalid_grant" and result["error_codes"] == [53003]

    msal_emulator.block_sign_in("auth_code", 50097)
    flow = app.initiate_auth_code_flow(STORAGE, redirect_uri=REDIRECT)
    location = control.get(flow["auth_uri"], allow_redirects=False).headers["Location"]
    response = dict(parse_qsl(urlsplit(location).query))
    assert response["error"] == "access_denied" and "AADSTS50097" in response["error_description"]

    control.post(f"{msal_emulator.url}/_emulator/unblock", json={})
    assert msal_emulator.blocked_sign_ins == {}


def test_confidential_client_needs_its_secret(msal_emulator: EntraEmulator) -> None:
    msal_emulator.client_secrets["web-app"] = "right"
    for secret, expected in (("wrong", 7000215), (None, 7000218)):
        app = (
            msal_emulator.confidential_client_app(client_id="web-app", client_credential=secret)
            if secret
            else msal_emulator.public_client_app(client_id="web-app")
        )
        flow = app.initiate_auth_code_flow(STORAGE, redirect_uri=REDIRECT)
        location = msal_emulator.http_session().get(flow["auth_uri"], allow_redirects=False)
        response = dict(parse_qsl(urlsplit(location.headers["Location"]).query))
        result = app.acquire_token_by_auth_code_flow(flow, response)
        assert result["error_codes"] == [expected], result
    app = msal_emulator.confidential_client_app(client_id="web-app", client_credential="right")
    flow = app.initiate_auth_code_flow(STORAGE, redirect_uri=REDIRECT)
    location = msal_emulator.http_session().get(flow["auth_uri"], allow_redirects=False)
    response = dict(parse_qsl(urlsplit(location.headers["Location"]).query))
    assert "access_token" in app.acquire_token_by_auth_code_flow(flow, response)
    account = app.get_accounts()[0]
    refreshed = app.acquire_token_silent(STORAGE, account, force_refresh=True)
    assert refreshed and "access_token" in refreshed  # the refresh grant with the secret
