"""Cached tokens survive an outage; a failing identity provider gets a typed, honest answer.

* A new process (``jupyter msal token`` in a plain shell) and a restarted server serve a
  cached token with no request at all to the identity provider, whichever way it is down:
  msal's ``http_cache`` (the authority's metadata) is persisted beside the token cache.
* HTTP 429/5xx answers become 503 ``identity_provider_unavailable`` with ``Retry-After``;
  msal's local replay of such an answer says that it is one.
* The fault matrix: every kind of outage against every operation of the REST API.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from jupyter_msal.client import ServerClient
from jupyter_msal.errors import (
    IdentityProviderUnavailable,
    IdentityProviderUnreachable,
)
from jupyter_msal.testing import DEFAULT_USERNAME, EntraEmulator
from jupyter_msal.testing.server import JupyterServerProcess
from jupyter_msal.testing.server import run_cli as cli

STORAGE = "https://storage.azure.com/.default"
GRAPH = "https://graph.microsoft.com/.default"
#: A named scope: its cached token is found by msal itself, which needs the authority's
#: metadata (a ``.default`` token is found in the cache without building msal's client).
NAMED = "https://storage.azure.com/user_impersonation"
#: Every endpoint of the emulator answers this while "the identity provider is down".
DOWN = 503


def requests_seen(emulator: EntraEmulator) -> int:
    """How many requests reached the emulator's identity endpoints (answered or not)."""
    return sum(v for k, v in emulator.counts.items() if not k.startswith("grant:"))


def signed_in_with_token(env: dict[str, str], emulator: EntraEmulator) -> str:
    """Sign in and get a NAMED token through the CLI; the token."""
    emulator.auto_approve = DEFAULT_USERNAME
    login = cli(env, "login", NAMED)
    assert login.returncode == 0, login.stderr
    emulator.auto_approve = None
    token = cli(env, "token", "--scope", NAMED)
    assert token.returncode == 0, token.stderr
    return token.stdout.strip()


@pytest.mark.fresh_emulator  # stops the emulator
def test_new_process_serves_a_cached_token_without_any_request(
    msal_emulator: EntraEmulator, shell_env: dict[str, str], tmp_path: Path
) -> None:
    first = signed_in_with_token(shell_env, msal_emulator)
    http_cache = tmp_path / "cache" / "token_cache.bin.http-cache"
    assert stat.S_IMODE(http_cache.stat().st_mode) == 0o600
    assert b"access_token" not in http_cache.read_bytes()  # metadata only, no token

    msal_emulator.reset_counts()
    again = cli(shell_env, "token", "--scope", NAMED)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == first
    assert requests_seen(msal_emulator) == 0, msal_emulator.requests

    # The identity provider is down (every endpoint answers 503): still served.
    msal_emulator.inject_error(DOWN, endpoint="any", count=None)
    during = cli(shell_env, "token", "--scope", NAMED)
    assert during.returncode == 0, during.stderr
    assert during.stdout.strip() == first
    assert requests_seen(msal_emulator) == 0

    # Gone entirely (connection refused): still served, and so is a .default token.
    msal_emulator.stop()
    offline = cli(shell_env, "token", "--scope", NAMED)
    assert offline.returncode == 0, offline.stderr
    assert offline.stdout.strip() == first


def test_encrypted_http_cache_is_sealed_with_the_cache_key(
    msal_emulator: EntraEmulator, shell_env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(shell_env, JUPYTER_MSAL_CACHE_ENCRYPTION="auto", JUPYTER_MSAL_CACHE_KEY="k" * 40)
    first = signed_in_with_token(env, msal_emulator)
    sealed = (tmp_path / "cache" / "token_cache.bin.http-cache").read_bytes()
    assert sealed.startswith(b"jupyter-msal-cache v2 key=") and b"openid" not in sealed
    msal_emulator.reset_counts()
    assert cli(env, "token", "--scope", NAMED).stdout.strip() == first
    assert requests_seen(msal_emulator) == 0


@pytest.mark.slow
@pytest.mark.fresh_emulator  # stops the emulator
def test_restarted_server_serves_a_cached_token_during_an_outage(
    msal_emulator: EntraEmulator, shell_env: dict[str, str], tmp_path: Path
) -> None:
    first = signed_in_with_token(shell_env, msal_emulator)
    msal_emulator.reset_counts()
    msal_emulator.inject_error(DOWN, endpoint="any", count=None)
    server = JupyterServerProcess(shell_env, tmp_path / "server").start()
    try:
        client = ServerClient(server.url, jupyter_token=server.token)
        assert client.token([NAMED]) == first
        assert [a.username for a in client.accounts()] == [DEFAULT_USERNAME]
        assert requests_seen(msal_emulator) == 0, msal_emulator.requests
        # what does need the identity provider is answered 503, with when to try again
        with pytest.raises(IdentityProviderUnavailable) as info:
            client.token([GRAPH])
        assert info.value.retry_after == 60 and not info.value.replayed
        assert msal_emulator.counts["token"] == 1
    finally:
        server.stop()

    msal_emulator.stop()  # connection refused from now on
    server = JupyterServerProcess(shell_env, tmp_path / "server2").start()
    try:
        client = ServerClient(server.url, jupyter_token=server.token)
        assert client.token([NAMED]) == first
        with pytest.raises(IdentityProviderUnreachable):
            client.token([GRAPH])
    finally:
        server.stop()


async def test_a_blip_is_503_with_retry_after_and_its_replay_says_so(
    api: Any, sign_in: Any, msal_emulator: EntraEmulator, jp_fetch: Any
) -> None:
    await sign_in()
    msal_emulator.reset_counts()
    msal_emulator.inject_error(500, endpoint="token", count=1)  # no Retry-After
    status, err = await api("POST", "token", {"scopes": [GRAPH]})
    assert status == 503 and err["error"] == "identity_provider_unavailable", err
    assert err["retry_after"] == 60 and err["replayed"] is False
    assert "HTTP 500" in err["message"]

    # The identity provider is back, but msal replays its answer without asking it.
    response = await jp_fetch(
        "jupyter-msal", "token", method="POST", body=f'{{"scopes": ["{GRAPH}"]}}',
        raise_error=False,
    )  # fmt: skip
    assert response.code == 503
    replay = __import__("json").loads(response.body)
    assert replay["replayed"] is True and "local replay" in replay["message"], replay
    assert 0 < replay["retry_after"] <= 60
    assert response.headers["Retry-After"] == str(replay["retry_after"])
    assert msal_emulator.counts["token"] == 1  # the replay sent nothing

    # Another resource is not throttled; a Retry-After of the identity provider is passed on.
    msal_emulator.inject_error(429, endpoint="token", count=1, headers={"Retry-After": "7"})
    status, err = await api("POST", "token", {"scopes": [STORAGE], "force_refresh": True})
    assert status == 503 and err["retry_after"] == 7 and err["replayed"] is False, err
    assert msal_emulator.counts["token"] == 2


# -- the fault matrix -------------------------------------------------------------------------

#: name -> (how the identity provider fails, the status a request that needs it gets)
FAULTS: dict[str, tuple[dict[str, Any], int]] = {
    "500": ({"status": 500}, 503),
    "503 Retry-After": ({"status": 503, "headers": {"Retry-After": "30"}}, 503),
    "429 Retry-After": ({"status": 429, "headers": {"Retry-After": "30"}}, 503),
    "502 proxy page": (
        {"status": 502, "body": "<html>Bad gateway</html>", "content_type": "text/html"},
        503,
    ),
    "200 proxy page": (
        {"status": 200, "body": "<html>Sign in to the proxy</html>", "content_type": "text/html"},
        502,
    ),
    "hangs": ({}, 504),
}


@pytest.mark.parametrize("msal_extra_env", [{"JUPYTER_MSAL_HTTP_TIMEOUT": "1"}])
@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_fault_matrix(
    api: Any, sign_in: Any, msal_emulator: EntraEmulator, fault: str
) -> None:
    await sign_in()
    status, cached = await api("POST", "token", {"scopes": [STORAGE]})
    assert status == 200
    spec, expected = FAULTS[fault]
    msal_emulator.reset_counts()
    if fault == "hangs":
        msal_emulator.set_latency(3, endpoint="any")
    else:
        msal_emulator.inject_error(endpoint="any", count=None, **spec)

    answers = {
        "cached token": await api("POST", "token", {"scopes": [STORAGE]}),
        "accounts": await api("GET", "accounts"),
        "status": await api("GET", "status"),
        "refresh": await api("POST", "token", {"scopes": [STORAGE], "force_refresh": True}),
        "new scope": await api("POST", "token", {"scopes": [GRAPH]}),
        "sign-in": await api("POST", "sign-ins", {"method": "device_code"}),
    }
    statuses = {name: answer[0] for name, answer in answers.items()}
    assert statuses == {
        "cached token": 200,
        "accounts": 200,
        "status": 200,
        "refresh": expected,
        "new scope": expected,
        "sign-in": expected,
    }, answers
    assert answers["cached token"][1]["access_token"] == cached["access_token"]
    kinds = {answers[n][1]["error"] for n in ("refresh", "new scope", "sign-in")}
    assert (
        kinds
        == {
            503: {"identity_provider_unavailable"},
            504: {"identity_provider_unreachable"},
            502: {"identity_provider_error"},
        }[expected]
    )
    # no request leaves for what the cache answers
    assert msal_emulator.counts["discovery"] == 0
