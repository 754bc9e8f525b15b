"""Auth-code sign-in on a remote server: the configured redirect_uri on the server's own origin."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from test_auth_code import accounts, follow, start, strategy, with_state

from jupyter_msal.testing import EntraEmulator


@pytest.fixture
def redirect_uri(jp_http_port: int, jp_base_url: str) -> str:
    return f"http://localhost:{jp_http_port}{jp_base_url}jupyter-msal/redirect"


@pytest.fixture
def msal_extra_env(redirect_uri: str) -> dict[str, str]:
    return {"JUPYTER_MSAL_REDIRECT_URI": redirect_uri}


async def open_redirect(jp_fetch: Any, location: str, **kw: Any) -> Any:
    """The browser arriving at the server's redirect page (with the user's Jupyter login)."""
    params = dict(parse_qsl(urlsplit(location).query))
    return await jp_fetch(
        "jupyter-msal", "redirect", params=params, raise_error=False, follow_redirects=False, **kw
    )


async def test_redirect_on_the_server_origin_completes(
    api: Any,
    jp_fetch: Any,
    msal_emulator: EntraEmulator,
    msal_service: Any,
    redirect_uri: str,
    jp_serverapp: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    jp_serverapp.log.setLevel(logging.DEBUG)
    listeners = len(strategy(msal_service).receivers)
    flow = await start(api)
    assert len(strategy(msal_service).receivers) == listeners  # no loopback listener
    link = dict(parse_qsl(urlsplit(flow["sign_in_url"]).query))
    assert link["redirect_uri"] == redirect_uri
    location = follow(msal_emulator, flow["sign_in_url"])
    assert location.startswith(redirect_uri + "?")
    caplog.clear()  # from here on, only what the server logs (not the browser's own requests)

    for state in ("forged", "\u00e9t\u00e9"):
        forged = await open_redirect(jp_fetch, with_state(location, state))
        assert forged.code == 400 and b"Signed in" not in forged.body
    stranger = await open_redirect(jp_fetch, location, headers={"Authorization": ""})
    assert stranger.code in (302, 403)  # not signed in to Jupyter: sent to its login page
    assert await accounts(api) == []

    page = await open_redirect(jp_fetch, location)
    assert page.code == 200 and b"you can close this tab" in page.body
    _, done = await api("GET", f"sign-ins/{flow['id']}")
    assert done["state"] == "succeeded" and await accounts(api) == ["ada@contoso.com"]
    replay = await open_redirect(jp_fetch, location)
    assert replay.code == 400
    answer = dict(parse_qsl(urlsplit(location).query))
    assert "jupyter-msal/redirect" in caplog.text  # the requests were logged ...
    assert answer["code"] not in caplog.text and answer["state"] not in caplog.text  # ... bare
