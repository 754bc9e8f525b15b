"""A DEBUG log of a whole sign-in, token, refresh and sign-out holds no secret value."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from jupyter_msal.redact import redact
from jupyter_msal.testing import EntraEmulator

STORAGE = "https://storage.azure.com/.default"


def test_redact_patterns() -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.c2lnbmF0dXJl"
    text = redact(
        f"Bearer {jwt} {{'device_code': 'DAQABsecret', \"refresh_token\": \"0.AAAsecret\"}} "
        "grant_type=refresh_token&refresh_token=0.AAAsecret&code=authcode123&client_info=abc"
    )
    for secret in (jwt, "DAQABsecret", "0.AAAsecret", "authcode123", "client_info=abc"):
        assert secret not in text, text
    assert "grant_type=refresh_token" in text  # names stay readable


async def test_debug_log_has_no_secrets(
    api: Any,
    msal_emulator: EntraEmulator,
    jp_serverapp: Any,
    jp_base_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("ServerApp", "tornado.access", "tornado.application", "msal", "urllib3"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    jp_serverapp.log.setLevel(logging.DEBUG)
    jp_serverapp.log.addHandler(caplog.handler)
    try:
        status, flow = await api("POST", "sign-ins", {})
        assert status == 202
        user_code = flow["user_code"]
        msal_emulator.approve(user_code)
        status, flow = await api("GET", f"sign-ins/{flow['id']}", params={"wait": "10"})
        assert flow["state"] == "succeeded"
        status, first = await api("POST", "token", {"scopes": [STORAGE]})
        assert status == 200
        status, second = await api("POST", "token", {"scopes": [STORAGE], "force_refresh": True})
        assert status == 200 and second["access_token"] != first["access_token"]
        status, _ = await api("DELETE", "accounts")
        assert status == 200
    finally:
        jp_serverapp.log.removeHandler(caplog.handler)

    text = caplog.text
    # The capture saw every layer: the REST calls, msal's own lines, the calls to the emulator.
    for line in (
        f"202 POST {jp_base_url}jupyter-msal/sign-ins ",
        f"200 POST {jp_base_url}jupyter-msal/token ",
        f"200 DELETE {jp_base_url}jupyter-msal/accounts ",
        f'{msal_emulator.url} "POST /organizations/oauth2/v2.0/devicecode HTTP/1.1" 200',
        f'{msal_emulator.url} "POST /organizations/oauth2/v2.0/token HTTP/1.1" 200',
    ):
        assert line in text, f"not captured: {line}"
    assert {"msal.application", "msal.token_cache"} <= {r.name for r in caplog.records}
    secrets = [
        *msal_emulator.issued_access_tokens,
        *msal_emulator.issued_refresh_tokens,
        *msal_emulator.issued_id_tokens,
        *msal_emulator.issued_device_codes,
        user_code,
    ]
    assert len(secrets) >= 7
    leaked = [s[:12] + "..." for s in secrets if s in text]
    assert leaked == []
