"""Hostile request input gets a 400 before it reaches msal, the identity provider or the log;
finished sign-ins are bounded; sign-in starts do not queue behind hung refreshes."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient

from jupyter_msal.testing import EntraEmulator, wait_until

STORAGE = "https://storage.azure.com/.default"

#: (name, raw request body) for POST token; each must be a 400 without any request to the IdP
HOSTILE_TOKEN_BODIES = [
    ("nested arrays", b"[" * 20000 + b"]" * 20000),
    ("nested objects", b'{"a":' * 5000 + b"1" + b"}" * 5000),
    ("nested scopes", json.dumps({"scopes": [[[[[[[[[[STORAGE]]]]]]]]]]}).encode()),
    ("lone surrogate", b'{"scopes": ["https://storage.azure.com/.default\\ud800"]}'),
    ("NUL", json.dumps({"scopes": ["https://storage.azure.com/\x00.default"]}).encode()),
    (
        "bidi override",
        json.dumps({"scopes": ["https://storage.azure.com/\u202e.default"]}).encode(),
    ),
    ("zero width", json.dumps({"scopes": ["https://storage.azure.com/\u200b.default"]}).encode()),
    ("line separator", json.dumps({"scopes": [f"{STORAGE}\u2028User.Read"]}).encode()),
    ("quote", json.dumps({"scopes": ['https://storage.azure.com/".default']}).encode()),
    ("account bidi", json.dumps({"scopes": [STORAGE], "account": "ada\u202e@x"}).encode()),
    ("account surrogate", b'{"scopes": ["x"], "account": "\\udfff"}'),
    ("account too long", json.dumps({"scopes": [STORAGE], "account": "a" * 300}).encode()),
    ("claims not JSON", json.dumps({"scopes": [STORAGE], "claims": "{nope"}).encode()),
    ("claims surrogate", b'{"scopes": ["x"], "claims": "{\\"a\\": \\"\\ud800\\"}"}'),
]


@pytest.mark.parametrize(
    ("name", "raw"), HOSTILE_TOKEN_BODIES, ids=[n for n, _ in HOSTILE_TOKEN_BODIES]
)
async def test_hostile_token_requests_are_400_and_go_nowhere(
    api: Any,
    sign_in: Any,
    msal_emulator: EntraEmulator,
    caplog: pytest.LogCaptureFixture,
    name: str,
    raw: bytes,
) -> None:
    await sign_in()
    msal_emulator.reset_counts()
    caplog.set_level(logging.DEBUG)
    status, body = await api("POST", "token", raw=raw)
    assert status == 400, body
    assert body["error"] == "bad_request" and body["message"], body
    assert sum(msal_emulator.counts.values()) == 0  # nothing was sent
    for char in ("\u202e", "\u200b", "\u2028", "\x00"):
        assert char not in caplog.text and char not in body["message"]
    status, _ = await api("POST", "sign-ins", raw=raw)
    assert status == 400


@pytest.mark.parametrize("account", ["ada\u202e@contoso.com", "ad\u200ba", "x\x07y"])
async def test_hostile_account_names_in_paths_are_400(api: Any, account: str) -> None:
    from urllib.parse import quote

    for method in ("GET", "DELETE"):
        status, body = await api(method, f"accounts/{quote(account, safe='')}")
        assert status == 400 and "Invalid account" in body["message"], (method, body)


async def test_finished_sign_ins_are_capped(
    api: Any, msal_emulator: EntraEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jupyter_msal.flows.registry as registry

    monkeypatch.setattr(registry, "MAX_FINISHED_FLOWS", 5)
    ids = []
    for _ in range(9):
        status, flow = await api("POST", "sign-ins", {"method": "device_code"})
        assert status == 202, flow
        assert (await api("DELETE", f"sign-ins/{flow['id']}"))[0] == 200
        ids.append(flow["id"])
    status, listed = await api("GET", "sign-ins")
    assert [f["id"] for f in listed["sign_ins"]] == ids[-5:]
    assert (await api("GET", f"sign-ins/{ids[0]}"))[0] == 404


@pytest.mark.parametrize("msal_extra_env", [{"JUPYTER_MSAL_HTTP_TIMEOUT": "2"}])
async def test_a_sign_in_starts_while_refreshes_hang(
    api: Any,
    sign_in: Any,
    msal_emulator: EntraEmulator,
    jp_http_port: int,
    jp_base_url: str,
    jp_auth_header: dict[str, str],
) -> None:
    await sign_in()
    msal_emulator.reset_counts()
    msal_emulator.set_latency(3, endpoint="token")  # longer than http_timeout: they hang
    # their own HTTP client: the test client queues beyond 10 requests in flight
    client = AsyncHTTPClient(force_instance=True, max_clients=50)
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}jupyter-msal/token"
    hung = [
        asyncio.ensure_future(
            client.fetch(
                url,
                method="POST",
                headers=jp_auth_header,
                raise_error=False,
                body=json.dumps({"scopes": [f"https://r{i}.example.com/.default"]}),
                request_timeout=60,
            )
        )
        for i in range(16)  # twice the identity-provider threads
    ]
    # every identity-provider thread waits on the token endpoint
    await asyncio.to_thread(wait_until, lambda: msal_emulator.counts["token"] >= 8, 30)
    status, flow = await api("POST", "sign-ins", {"method": "device_code"})
    assert status == 202, flow
    assert sum(task.done() for task in hung) == 0, "the sign-in waited for hung refreshes"
    answers = await asyncio.gather(*hung)
    client.close()
    assert {a.code for a in answers} == {504}
    await api("DELETE", f"sign-ins/{flow['id']}")


async def test_scopes_the_identity_provider_refuses_are_the_callers_400(
    api: Any, sign_in: Any, msal_emulator: EntraEmulator
) -> None:
    await sign_in()
    two_resources = ["https://storage.azure.com/.default", "https://vault.azure.net/.default"]
    for path, body in (
        ("token", {"scopes": two_resources}),
        ("sign-ins", {"method": "device_code", "scopes": two_resources}),
    ):
        msal_emulator.reset_counts()
        status, err = await api("POST", path, body)
        assert status == 400 and err["error"] == "bad_request", err
        assert err["aadsts"] == "28000" and err["idp_error"] == "invalid_scope", err
        assert "one resource" in err["hint"]
        asked = sum(n for k, n in msal_emulator.counts.items() if not k.startswith("grant:"))
        assert asked == 1  # asked once: the identity provider said no
