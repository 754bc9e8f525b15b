"""Helpers of the emulator's own tests (tests/test_emulator*.py): real msal against it."""

from __future__ import annotations

import urllib.parse
from typing import Any

import msal
import requests

from jupyter_msal.testing import EntraEmulator

__all__ = ["ARM", "STORAGE", "authorize", "control", "raw_token", "sign_in"]

STORAGE = ["https://storage.azure.com/.default"]
ARM = ["https://management.core.windows.net//.default"]


def sign_in(
    msal_emulator: EntraEmulator, scopes: list[str] = STORAGE, **app_kwargs: Any
) -> tuple[msal.PublicClientApplication, dict[str, Any]]:
    """Device-code sign-in approved up front; returns (app, result)."""
    app = msal_emulator.public_client_app(**app_kwargs)
    flow = app.initiate_device_flow(scopes)
    msal_emulator.approve(flow["user_code"])
    result = app.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result
    return app, result


def control(
    msal_emulator: EntraEmulator, action: str, body: dict[str, Any] | None = None
) -> requests.Response:
    """``POST /_emulator/<action>`` with a JSON body."""
    return msal_emulator.http_session().post(
        f"{msal_emulator.url}/_emulator/{action}", json=body or {}
    )


def raw_token(
    msal_emulator: EntraEmulator, data: dict[str, str], tenant: str = "organizations"
) -> requests.Response:
    """A form ``POST`` to the token endpoint of ``tenant``, without msal."""
    return msal_emulator.http_session().post(
        f"{msal_emulator.url}/{tenant}/oauth2/v2.0/token", data=data
    )


def authorize(msal_emulator: EntraEmulator, flow: dict[str, Any]) -> dict[str, str]:
    """Follow an auth-code flow's sign-in link; the parameters sent back to its redirect URI."""
    response = msal_emulator.http_session().get(flow["auth_uri"], allow_redirects=False)
    assert response.status_code == 302
    location = urllib.parse.urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == flow["redirect_uri"]
    return dict(urllib.parse.parse_qsl(location.query))
