"""Token requests through the REST API: refresh, single flight, faults, a hanging IdP."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPResponse

from jupyter_msal.testing import EntraEmulator, wait_until

STORAGE = "https://storage.azure.com/.default"
GRAPH = "https://graph.microsoft.com/.default"
#: Tokens issued with this lifetime (seconds) are inside the 5-minute refresh margin of both
#: msal and the service from the start: every cache in front of the IdP treats them as expired.
ALMOST_EXPIRED = 240


async def test_cached_token_makes_no_idp_call(
    api: Any, sign_in: Any, msal_emulator: EntraEmulator
) -> None:
    await sign_in()
    status, first = await api("POST", "token", {"scopes": [STORAGE]})
    assert status == 200
    msal_emulator.reset_counts()
    status, second = await api("POST", "token", {"scopes": [STORAGE]})
    assert second["access_token"] == first["access_token"]
    assert msal_emulator.counts["token"] == 0

    status, forced = await api("POST", "token", {"scopes": [STORAGE], "force_refresh": True})
    assert status == 200 and forced["access_token"] != first["access_token"]
    assert msal_emulator.counts["grant:refresh_token"] == 1


async def test_silent_refresh_on_expiry(
    api: Any, sign_in: Any, msal_emulator: EntraEmulator
) -> None:
    msal_emulator.access_token_lifetime = ALMOST_EXPIRED
    await sign_in()
    status, first = await api("POST", "token", {"scopes": [STORAGE]})
    assert status == 200
    msal_emulator.access_token_lifetime = 3600
    msal_emulator.reset_counts()
    status, second = await api("POST", "token", {"scopes": [STORAGE]})
    assert status == 200
    assert second["access_token"] != first["access_token"]
    assert second["access_token"] in msal_emulator.issued_access_tokens
    assert second["expires_on"] - first["expires_on"] >= 3600 - ALMOST_EXPIRED - 5
    assert msal_emulator.counts["grant:refresh_token"] == 1
    # The refreshed token is good for an hour: served from the cache from now on.
    status, third = await api("POST", "token", {"scopes": [STORAGE]})
    assert status == 200 and third["access_token"] == second["access_token"]
    assert msal_emulator.counts["token"] == 1


async def test_fifty_concurrent_requests_one_refresh(
    api: Any, sign_in: Any, msal_emulator: EntraEmulator
) -> None:
    msal_emulator.access_token_lifetime = ALMOST_EXPIRED
    await sign_in()
    status, first = await api("POST", "token", {"scopes": [STORAGE]})
    assert status == 200
    msal_emulator.access_token_lifetime = 3600
    msal_emulator.reset_counts()
    msal_emulator.set_latency(0.5, endpoint="token")  # keep the refresh in flight a while
    results = await asyncio.gather(
        *(api("POST", "token", {"scopes": [STORAGE]}) for _ in range(50))
    )
    assert [status for status, _ in results] == [200] * 50
    tokens = {body["access_token"] for _, body in results}
    assert len(tokens) == 1 and first["access_token"] not in tokens
    assert msal_emulator.counts["grant:refresh_token"] == 1
    assert msal_emulator.counts["token"] == 1


async def test_revoked_refresh_token_asks_to_sign_in_again(
    api: Any, sign_in: Any, msal_emulator: EntraEmulator
) -> None:
    await sign_in()
    msal_emulator.revoke_refresh_tokens()
    status, err = await api("POST", "token", {"scopes": [GRAPH], "force_refresh": True})
    assert status == 401
    assert err["error"] == "sign_in_required"
    assert err["message"].startswith("Sign in again")
    assert err["aadsts"] == "50173"  # the emulator's answer for a revoked refresh token
    status, _ = await api("GET", "status")
    assert status == 200


async def test_no_account_is_sign_in_required(api: Any) -> None:
    status, err = await api("POST", "token", {"scopes": [STORAGE]})
    assert status == 401 and err["error"] == "sign_in_required"
    assert err["scopes"] == [STORAGE]


#: The server's HTTP timeout in the test of a hanging identity provider: short, so that the
#: test does not wait out the 8 s every other test allows.
SHORT_TIMEOUT = 3


def token_request(
    client: AsyncHTTPClient, url: str, headers: dict[str, str], resource: str
) -> Awaitable[HTTPResponse]:
    """A token request for ``resource/.default`` sent with its own ``client``."""
    return client.fetch(
        url,
        method="POST",
        headers=headers,
        raise_error=False,
        body=json.dumps({"scopes": [f"{resource}/.default"]}),
        request_timeout=30,
    )


@pytest.mark.slow
@pytest.mark.parametrize("msal_extra_env", [{"JUPYTER_MSAL_HTTP_TIMEOUT": str(SHORT_TIMEOUT)}])
async def test_server_stays_responsive_while_idp_hangs(
    api: Any,
    sign_in: Any,
    msal_emulator: EntraEmulator,
    msal_service: Any,
    jp_fetch: Any,
    jp_http_port: int,
    jp_base_url: str,
    jp_auth_header: dict[str, str],
) -> None:
    await sign_in()
    msal_emulator.set_latency(4 * SHORT_TIMEOUT, endpoint="token")  # longer than http_timeout
    at_idp = msal_emulator.counts["token"]
    hanging = asyncio.ensure_future(
        api("POST", "token", {"scopes": [STORAGE], "force_refresh": True})
    )
    await asyncio.to_thread(wait_until, lambda: msal_emulator.counts["token"] > at_idp)
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        response = await jp_fetch("api", "status")
        assert response.code == 200
        status, _ = await api("GET", "status")
        assert status == 200
        status, _ = await api("GET", "accounts")
        assert status == 200
        timings.append(time.perf_counter() - started)
    assert not hanging.done()
    assert max(timings) < 1.0, timings
    # Many requests hanging on the IdP at once (more than the worker threads) do not starve
    # the requests that only read the cache.
    # (their own HTTP client: the test client queues beyond 10 requests in flight)
    client = AsyncHTTPClient(force_instance=True, max_clients=50)
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}jupyter-msal/token"
    many = [
        asyncio.ensure_future(token_request(client, url, jp_auth_header, f"https://r{i}.example"))
        for i in range(12)
    ]
    # every IdP worker thread is taken (the first request's and the first of these) and the
    # rest of these wait in the queue
    idp_threads = msal_service.workers.idp._max_workers
    await asyncio.to_thread(
        wait_until, lambda: msal_emulator.counts["token"] >= at_idp + idp_threads
    )
    started = time.perf_counter()
    status, body = await api("GET", "accounts")
    assert status == 200 and len(body["accounts"]) == 1
    status, _ = await api("GET", "status")
    assert status == 200
    assert time.perf_counter() - started < 1.0
    assert not any(task.done() for task in many)
    status, err = await hanging
    assert status == 504
    answers = await asyncio.gather(*many)
    assert {a.code for a in answers} == {504}
    client.close()
    assert err["error"] == "identity_provider_unreachable"
    assert f"did not answer within {SHORT_TIMEOUT} s" in err["message"]


async def test_5xx_is_a_clear_error(api: Any, sign_in: Any, msal_emulator: EntraEmulator) -> None:
    await sign_in()
    msal_emulator.inject_error(status=503, endpoint="token", count=1)
    status, err = await api("POST", "token", {"scopes": [GRAPH]})
    assert status == 503, err
    assert err["error"] == "identity_provider_unavailable"
    assert err["retry_after"] == 60 and err["replayed"] is False
    assert (await api("GET", "status"))[0] == 200


async def test_non_json_body_is_a_clear_error(
    api: Any, sign_in: Any, msal_emulator: EntraEmulator
) -> None:
    await sign_in()
    msal_emulator.inject_error(
        status=200,
        body="<html>proxy error</html>",
        endpoint="token",
        count=1,
        content_type="text/html",
    )
    status, err = await api("POST", "token", {"scopes": [GRAPH]})
    assert status == 502, err
    assert err["error"] == "identity_provider_error"
    assert "msal cannot use" in err["message"] and "<html>" not in err["message"]
    assert (await api("GET", "status"))[0] == 200


@pytest.mark.parametrize(
    "msal_extra_env", [{"JUPYTER_MSAL_ALLOWED_SCOPES": "https://storage.azure.com/*"}]
)
async def test_policy_forbids_scope(api: Any, sign_in: Any, msal_emulator: EntraEmulator) -> None:
    await sign_in()
    status, err = await api("POST", "token", {"scopes": [GRAPH]})
    assert status == 403
    assert err["error"] == "scope_not_allowed"
    assert "JupyterMsal.allowed_scopes" in err["message"]
    status, _ = await api("POST", "token", {"scopes": [STORAGE]})
    assert status == 200


@pytest.mark.parametrize("msal_extra_env", [{"JUPYTER_MSAL_DEFAULT_SCOPES": GRAPH}])
async def test_default_scopes(api: Any, sign_in: Any, msal_emulator: EntraEmulator) -> None:
    await sign_in()
    status, token = await api("POST", "token", {})
    assert status == 200 and token["scopes"] == [GRAPH]


async def test_sign_out_removes_refresh_token_from_disk(
    api: Any, sign_in: Any, msal_emulator: EntraEmulator, cache_file: Any
) -> None:
    await sign_in("ada@contoso.com")
    await sign_in("grace@contoso.com")
    status, _ = await api("POST", "token", {"scopes": [STORAGE], "account": "ada@contoso.com"})
    assert status == 200
    ada_refresh = [rt for rt in msal_emulator.issued_refresh_tokens if rt in cache_file.read_text()]
    assert len(ada_refresh) == 2  # one current refresh token per account

    status, body = await api("DELETE", "accounts/ada%40contoso.com")
    assert status == 200
    assert [a["username"] for a in body["removed"]] == ["ada@contoso.com"]
    assert [a["username"] for a in body["accounts"]] == ["grace@contoso.com"]
    text = cache_file.read_text()
    remaining = [rt for rt in msal_emulator.issued_refresh_tokens if rt in text]
    assert len(remaining) == 1
    assert "ada@contoso.com" not in text

    status, err = await api("POST", "token", {"scopes": [STORAGE], "account": "ada@contoso.com"})
    assert status == 401
    status, err = await api("DELETE", "accounts/nobody%40contoso.com")
    assert status == 404 and err["error"] == "not_found"

    status, body = await api("DELETE", "accounts")
    assert status == 200 and body["accounts"] == []
    assert not any(rt in cache_file.read_text() for rt in msal_emulator.issued_refresh_tokens)


def test_default_scope_token_found_after_restart_when_entra_expands_it(
    msal_env: dict[str, str], msal_emulator: EntraEmulator, cache_file: Path
) -> None:
    """Entra answers ``R/.default`` with R's granted scopes, and msal keys the cached token by
    those, so msal alone would redeem the refresh token after every restart. The service finds
    the token by its resource instead."""
    from jupyter_msal.config.settings import JupyterMsal
    from jupyter_msal.service import TokenService

    msal_emulator.expand_default_scope = True
    first = TokenService(JupyterMsal())
    try:
        approval = msal_emulator.approve_next()
        flow = first.flows.start(scopes=[STORAGE])
        approval.wait(5)
        assert flow.wait(20) == "succeeded"
        token = first.acquire_token([STORAGE])
    finally:
        first.close()
    assert "https://storage.azure.com/user_impersonation" in cache_file.read_text()
    assert token.token in cache_file.read_text()

    msal_emulator.reset_counts()
    second = TokenService(JupyterMsal())
    try:
        again = second.acquire_token([STORAGE])
    finally:
        second.close()
    assert again.token == token.token
    assert msal_emulator.counts["token"] == 0
