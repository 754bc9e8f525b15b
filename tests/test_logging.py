"""A DEBUG log of a whole sign-in, token, refresh and sign-out holds no secret value."""

from __future__ import annotations

import logging
from typing import Any

from jupyter_msal.redact import redact

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
    api: Any, msal_emulator: Any, jp_serverapp: Any, caplog: Any
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
    assert "oauth2/v2.0/token" in text or "POST /" in text, "the capture saw nothing"
    assert any(r.name.startswith("msal") for r in caplog.records), "msal's own DEBUG lines"
    secrets = [
        *msal_emulator.issued_access_tokens,
        *msal_emulator.issued_refresh_tokens,
        *msal_emulator.issued_id_tokens,
        *list(msal_emulator._device_codes),
        user_code,
    ]
    assert len(secrets) >= 7
    leaked = [s[:12] + "..." for s in secrets if s in text]
    assert leaked == []
