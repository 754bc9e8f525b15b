"""Sign-in with the authorization-code flow through a real server, against the TLS emulator.

The browser is played by ``requests``: it opens the flow's ``sign_in_url`` at the emulator,
which signs in at once and redirects to the flow's loopback listener (or, with
``redirect_uri`` set, to the Jupyter server's own redirect page).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests

from jupyter_msal.flows import AuthCodeSignIn
from jupyter_msal.models import SignInMethod
from jupyter_msal.testing import EntraEmulator

STORAGE = "https://storage.azure.com/.default"


@pytest.fixture
def msal_extra_env() -> dict[str, str]:
    """``auto`` as users get it (the test environment otherwise keeps it to device code)."""
    return {"JUPYTER_MSAL_AUTO_SIGN_IN_METHODS": "broker,auth_code,device_code"}


def strategy(service: Any) -> AuthCodeSignIn:
    found = service.flows.strategies[SignInMethod.AUTH_CODE]
    assert isinstance(found, AuthCodeSignIn)
    return found


def follow(emulator: EntraEmulator, sign_in_url: str) -> str:
    """What the browser does at the identity provider: the address it is sent back to."""
    response = emulator.http_session().get(sign_in_url, allow_redirects=False)
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def loopback_get(url: str) -> requests.Response:
    """The browser following the redirect to the loopback listener (no proxies)."""
    with requests.Session() as session:
        session.trust_env = False
        return session.get(url, timeout=10)


def with_state(url: str, state: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["state"] = state
    return urlunsplit(parts._replace(query=urlencode(query)))


def listening(port: int) -> int:
    """How many sockets of this machine listen on 127.0.0.1:``port`` (/proc/net/tcp)."""
    needle = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as table:
        return sum(1 for line in table if line.split()[1:2] == [needle] and line.split()[3] == "0A")


async def start(api: Any, **body: Any) -> dict[str, Any]:
    status, flow = await api("POST", "sign-ins", {"method": "auth_code", **body})
    assert status == 202, flow
    assert flow["method"] == "auth_code" and flow["state"] == "pending"
    return flow


async def accounts(api: Any) -> list[str]:
    status, body = await api("GET", "accounts")
    assert status == 200
    return [a["username"] for a in body["accounts"]]


async def test_sign_in_through_the_loopback_listener(
    api: Any, msal_emulator: EntraEmulator, msal_service: Any
) -> None:
    flow = await start(api, scopes=[STORAGE])
    assert flow["user_code"] is None and flow["verification_uri"] is None
    link = flow["sign_in_url"]
    assert link.startswith(f"{msal_emulator.url}/organizations/oauth2/v2.0/authorize?")
    query = dict(parse_qsl(urlsplit(link).query))
    assert query["code_challenge_method"] == "S256" and query["state"] and query["nonce"]
    assert query["redirect_uri"].startswith("http://localhost:")
    assert "paste" in flow["message"]
    receiver = strategy(msal_service).receivers[-1]
    assert receiver.address[0] == "127.0.0.1" and listening(receiver.port) == 1
    assert query["redirect_uri"] == f"http://localhost:{receiver.port}/"

    location = follow(msal_emulator, link)
    page = await asyncio.to_thread(loopback_get, location.replace("localhost", "127.0.0.1"))
    assert page.status_code == 200
    assert "Signed in" in page.text and "you can close this tab" in page.text

    status, done = await api("GET", f"sign-ins/{flow['id']}")
    assert done["state"] == "succeeded" and done["account"]["username"] == "ada@contoso.com"
    assert receiver.wait_closed(5) and listening(receiver.port) == 0
    assert await accounts(api) == ["ada@contoso.com"]
    msal_emulator.reset_counts()
    status, _token = await api("POST", "token", {"scopes": [STORAGE]})
    assert status == 200 and msal_emulator.counts["token"] == 0  # consented during sign-in


async def test_pasted_address_completes_once(api: Any, msal_emulator: EntraEmulator) -> None:
    flow = await start(api)
    location = follow(msal_emulator, flow["sign_in_url"])
    status, done = await api("POST", f"sign-ins/{flow['id']}/response", {"url": location})
    assert status == 200 and done["state"] == "succeeded"
    status, again = await api("POST", f"sign-ins/{flow['id']}/response", {"url": location})
    assert status == 400 and "ended" in again["message"]
    assert msal_emulator.counts["grant:authorization_code"] == 1


async def test_wrong_state_is_refused_and_the_flow_goes_on(
    api: Any, msal_emulator: EntraEmulator
) -> None:
    flow = await start(api)
    location = follow(msal_emulator, flow["sign_in_url"])
    forged = with_state(location, "not-the-state")
    status, body = await api("POST", f"sign-ins/{flow['id']}/response", {"url": forged})
    assert status == 400 and "state" in body["message"]
    page = await asyncio.to_thread(loopback_get, forged.replace("localhost", "127.0.0.1"))
    assert page.status_code == 400 and "Signed in" not in page.text
    assert msal_emulator.counts["grant:authorization_code"] == 0
    assert await accounts(api) == []
    status, body = await api("POST", f"sign-ins/{flow['id']}/response", {"url": "no answer"})
    assert status == 400
    odd = with_state(location, "\u00e9t\u00e9")  # not ASCII: refused like any other
    status, body = await api("POST", f"sign-ins/{flow['id']}/response", {"url": odd})
    assert status == 400 and "state" in body["message"]
    status, done = await api("POST", f"sign-ins/{flow['id']}/response", {"url": location})
    assert status == 200 and done["state"] == "succeeded"


async def test_code_of_another_flow_signs_nobody_in(api: Any, msal_emulator: EntraEmulator) -> None:
    first, second = await start(api), await start(api)
    code_of_first = follow(msal_emulator, first["sign_in_url"])
    state_of_second = dict(parse_qsl(urlsplit(second["sign_in_url"]).query))["state"]
    swapped = with_state(code_of_first, state_of_second)
    status, body = await api("POST", f"sign-ins/{second['id']}/response", {"url": swapped})
    assert status == 400 and body["error"] == "sign_in_failed"
    assert body["aadsts"] in {"501481", "500112"}  # the PKCE verifier (or redirect) does not match
    assert await accounts(api) == []
    _, failed = await api("GET", f"sign-ins/{second['id']}")
    assert failed["state"] == "failed"


async def test_expired_flow_signs_nobody_in(
    api: Any, msal_emulator: EntraEmulator, msal_service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(strategy(msal_service), "lifetime", 0.5)
    flow = await start(api)
    receiver = strategy(msal_service).receivers[-1]
    location = follow(msal_emulator, flow["sign_in_url"])
    _, done = await api("GET", f"sign-ins/{flow['id']}", params={"wait": "5"})
    assert done["state"] == "expired"
    assert receiver.wait_closed(5) and listening(receiver.port) == 0
    status, body = await api("POST", f"sign-ins/{flow['id']}/response", {"url": location})
    assert status == 400 and "expired" in body["message"]
    assert msal_emulator.counts["grant:authorization_code"] == 0
    assert await accounts(api) == []


async def test_redirect_for_a_cancelled_flow_signs_nobody_in(
    api: Any, msal_emulator: EntraEmulator, msal_service: Any
) -> None:
    flow = await start(api)
    receiver = strategy(msal_service).receivers[-1]
    location = follow(msal_emulator, flow["sign_in_url"])
    status, cancelled = await api("DELETE", f"sign-ins/{flow['id']}")
    assert status == 200 and cancelled["state"] == "cancelled"
    assert receiver.wait_closed(5) and listening(receiver.port) == 0
    with pytest.raises(requests.ConnectionError):
        await asyncio.to_thread(loopback_get, location.replace("localhost", "127.0.0.1"))
    status, _ = await api("POST", f"sign-ins/{flow['id']}/response", {"url": location})
    assert status == 400
    assert msal_emulator.counts["grant:authorization_code"] == 0
    assert await accounts(api) == []


def test_code_without_its_pkce_verifier_is_refused(msal_emulator: EntraEmulator) -> None:
    app = msal_emulator.public_client_app()
    auth = app.initiate_auth_code_flow([STORAGE], redirect_uri="http://localhost:1/")
    code = dict(parse_qsl(urlsplit(follow(msal_emulator, auth["auth_uri"])).query))["code"]
    answer = msal_emulator.http_session().post(
        f"{msal_emulator.url}/organizations/oauth2/v2.0/token",
        data={
            "grant_type": "authorization_code",
            "client_id": app.client_id,
            "code": code,
            "redirect_uri": "http://localhost:1/",
        },
    )
    assert answer.status_code == 400 and answer.json()["error_codes"] == [501481]
    assert app.get_accounts() == []


async def test_debug_log_has_no_code_verifier_or_state(
    api: Any,
    msal_emulator: EntraEmulator,
    msal_service: Any,
    jp_serverapp: Any,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = msal_service.msal.app
    made: list[dict[str, Any]] = []
    initiate = app.initiate_auth_code_flow

    def recording(*args: Any, **kwargs: Any) -> dict[str, Any]:
        made.append(initiate(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(app, "initiate_auth_code_flow", recording)
    caplog.set_level(logging.DEBUG)
    for name in ("ServerApp", "tornado.access", "msal", "urllib3"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    jp_serverapp.log.addHandler(caplog.handler)
    try:
        flow = await start(api)
        browser_log = logging.getLogger("urllib3.connectionpool")
        browser_log.disabled = True  # the browser's own requests are not the server's log
        try:
            location = follow(msal_emulator, flow["sign_in_url"])
        finally:
            browser_log.disabled = False
        status, done = await api("POST", f"sign-ins/{flow['id']}/response", {"url": location})
        assert status == 200
    finally:
        jp_serverapp.log.removeHandler(caplog.handler)
    answer = dict(parse_qsl(urlsplit(location).query))
    secrets = [answer["code"], made[0]["code_verifier"], made[0]["state"]]
    assert "sign-ins" in caplog.text
    assert [s[:8] for s in secrets if s in caplog.text] == []
    # the state travels in the sign-in link by design (worthless once the flow ends)
    assert [s[:8] for s in secrets[:2] if s in str(done)] == []


# ------------------------------------------------------------------ auto and the fallback


# without the broker among the automatic methods, the reason for the fallback is the browser's
@pytest.mark.parametrize(
    "msal_extra_env", [{"JUPYTER_MSAL_AUTO_SIGN_IN_METHODS": "auth_code,device_code"}]
)
async def test_auto_prefers_the_browser_on_a_loopback_server(
    api: Any, msal_service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert strategy(msal_service).reaches_browser() is None  # the test server is on loopback
    status, flow = await api("POST", "sign-ins", {"method": "auto"})
    assert status == 202 and flow["method"] == "auth_code" and flow["sign_in_url"]
    monkeypatch.setattr(strategy(msal_service), "browser_reaches_loopback", lambda: False)
    status, flow = await api("POST", "sign-ins", {"method": "auto"})
    assert status == 202 and flow["method"] == "device_code"
    assert flow["fallback_reason"] == strategy(msal_service).reaches_browser()
    assert "set JupyterMsal.redirect_uri" in flow["fallback_reason"]


@pytest.mark.parametrize("code", [53003, 50097])
async def test_blocked_device_code_continues_in_the_browser(
    api: Any, msal_emulator: EntraEmulator, code: int
) -> None:
    msal_emulator.device_code_interval = 1
    msal_emulator.block_sign_in("device_code", code)
    status, flow = await api("POST", "sign-ins", {"method": "device_code"})
    assert status == 202 and flow["user_code"]
    msal_emulator.approve(flow["user_code"])  # the user signs in; the policy refuses the code
    _, step = await api("GET", f"sign-ins/{flow['id']}", params={"wait": "10"})
    assert step["state"] == "pending" and step["method"] == "auth_code"
    assert step["id"] == flow["id"] and step["sign_in_url"] and step["user_code"] is None
    assert f"AADSTS{code}" in step["fallback_reason"]
    location = follow(msal_emulator, step["sign_in_url"])
    page = await asyncio.to_thread(loopback_get, location.replace("localhost", "127.0.0.1"))
    assert page.status_code == 200
    _, done = await api("GET", f"sign-ins/{flow['id']}", params={"wait": "5"})
    assert done["state"] == "succeeded" and done["method"] == "auth_code"


async def test_other_device_code_errors_do_not_fall_back(
    api: Any, msal_emulator: EntraEmulator
) -> None:
    msal_emulator.device_code_interval = 1
    _status, flow = await api("POST", "sign-ins", {"method": "device_code"})
    msal_emulator.decline(flow["user_code"])
    _, done = await api("GET", f"sign-ins/{flow['id']}", params={"wait": "10"})
    assert done["state"] == "failed" and done["method"] == "device_code"


async def test_a_client_that_missed_a_step_is_answered_at_once(
    api: Any, msal_emulator: EntraEmulator
) -> None:
    """``since`` (the step a client saw): a flow that moved on answers a long poll at once."""
    msal_emulator.device_code_interval = 1
    msal_emulator.block_sign_in("device_code")
    _, flow = await api("POST", "sign-ins", {"method": "device_code"})
    assert flow["step"] == 0
    msal_emulator.approve(flow["user_code"])
    _, step = await api("GET", f"sign-ins/{flow['id']}", params={"wait": "10", "since": "0"})
    assert step["method"] == "auth_code" and step["step"] == 1
    # a client still at step 0 is not kept waiting 30 s for news it already missed
    _, again = await api(
        "GET", f"sign-ins/{flow['id']}", params={"wait": "30", "since": "0"}, request_timeout=5
    )
    assert again["step"] == 1 and again["state"] == "pending"
    status, _ = await api("GET", f"sign-ins/{flow['id']}", params={"wait": "1", "since": "x"})
    assert status == 400
