"""Sign-in flows through the REST API of a real server, against the TLS emulator."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from jupyter_msal.testing import EntraEmulator, wait_until

STORAGE = "https://storage.azure.com/.default"


async def start_flow(api: Any, **body: Any) -> dict[str, Any]:
    status, flow = await api("POST", "sign-ins", body)
    assert status == 202, flow
    assert flow["state"] == "pending"
    assert flow["user_code"] and flow["verification_uri"].endswith("/devicelogin")
    return flow


async def wait_flow(api: Any, flow_id: str, wait: float = 10) -> dict[str, Any]:
    for _ in range(6):
        status, flow = await api("GET", f"sign-ins/{flow_id}", params={"wait": str(wait)})
        assert status == 200, flow
        if flow["state"] != "pending":
            return flow
    raise AssertionError("sign-in still pending")


async def assert_polling_stopped(emulator: EntraEmulator, polls_then: int, flows: int = 1) -> None:
    """After cancelling ``flows`` sign-ins (when the emulator had counted ``polls_then``
    device-code polls), the server polls no more: over two poll intervals at most the one poll
    per flow that was already on the wire arrives. A poller that kept going would poll twice."""
    window = 2 * emulator.device_code_interval + 0.5
    with pytest.raises(TimeoutError):
        await asyncio.to_thread(
            wait_until,
            lambda: emulator.counts["grant:device_code"] > polls_then + flows,
            window,
        )


async def test_device_code_success_then_token(api: Any, msal_emulator: EntraEmulator) -> None:
    flow = await start_flow(api)
    device_codes = msal_emulator.issued_device_codes
    assert len(device_codes) == 1 and device_codes[0] not in json.dumps(flow)
    assert "pymsalruntime" in flow["fallback_reason"]  # auto fell back, and says why
    msal_emulator.approve(flow["user_code"], username="ada@contoso.com")
    done = await wait_flow(api, flow["id"])
    assert done["state"] == "succeeded"
    assert done["account"]["username"] == "ada@contoso.com"

    status, body = await api("GET", "accounts")
    assert status == 200
    assert [a["username"] for a in body["accounts"]] == ["ada@contoso.com"]

    status, token = await api("POST", "token", {"scopes": [STORAGE]})
    assert status == 200, token
    assert token["access_token"] in msal_emulator.issued_access_tokens
    assert token["account"]["username"] == "ada@contoso.com"
    assert set(token) == {"access_token", "token_type", "expires_on", "scopes", "account"}


async def test_declined(api: Any, msal_emulator: EntraEmulator) -> None:
    flow = await start_flow(api)
    msal_emulator.decline(flow["user_code"])
    done = await wait_flow(api, flow["id"])
    assert done["state"] == "failed"
    assert done["error"]["error"] == "sign_in_declined"
    assert (await api("GET", "accounts"))[1]["accounts"] == []


async def test_expired(api: Any, msal_emulator: EntraEmulator) -> None:
    flow = await start_flow(api)
    msal_emulator.expire(flow["user_code"])
    done = await wait_flow(api, flow["id"])
    assert done["state"] == "expired"
    assert done["error"]["error"] == "sign_in_expired"


async def test_cancelled(api: Any, msal_emulator: EntraEmulator) -> None:
    flow = await start_flow(api)
    status, cancelled = await api("DELETE", f"sign-ins/{flow['id']}")
    assert status == 200 and cancelled["state"] == "cancelled"
    polls = msal_emulator.counts["grant:device_code"]
    msal_emulator.approve(flow["user_code"])  # too late: the flow stays cancelled
    await assert_polling_stopped(msal_emulator, polls)
    assert (await api("GET", "accounts"))[1]["accounts"] == []
    status, later = await api("GET", f"sign-ins/{flow['id']}")
    assert later["state"] == "cancelled"
    assert later["error"]["error"] == "sign_in_cancelled"
    status, listed = await api("GET", "sign-ins")
    assert [f["state"] for f in listed["sign_ins"]] == ["cancelled"]


async def test_two_concurrent_flows(api: Any, msal_emulator: EntraEmulator) -> None:
    first, second = await asyncio.gather(start_flow(api), start_flow(api))
    assert first["user_code"] != second["user_code"]
    msal_emulator.approve(second["user_code"], username="grace@contoso.com")
    msal_emulator.approve(first["user_code"], username="ada@contoso.com")
    done = await asyncio.gather(wait_flow(api, first["id"]), wait_flow(api, second["id"]))
    assert [d["account"]["username"] for d in done] == ["ada@contoso.com", "grace@contoso.com"]
    status, body = await api("GET", "accounts")
    assert sorted(a["username"] for a in body["accounts"]) == [
        "ada@contoso.com",
        "grace@contoso.com",
    ]

    # With two accounts a token request must name one.
    status, err = await api("POST", "token", {"scopes": [STORAGE]})
    assert status == 400 and "account" in err["message"]
    status, token = await api(
        "POST", "token", {"scopes": [STORAGE], "account": "grace@contoso.com"}
    )
    assert status == 200 and token["account"]["username"] == "grace@contoso.com"


async def test_status_reports_broker_unavailable(api: Any) -> None:
    status, body = await api("GET", "status")
    assert status == 200
    assert body["broker"] == {
        "available": False,
        "reason": "pymsalruntime is not installed; on Linux the OS broker also needs the "
        "Microsoft Identity Broker service (microsoft-identity-broker, installed with the "
        "Intune app)",
    }
    assert body["sign_in_methods"] == ["auth_code", "device_code"]
    status, err = await api("POST", "sign-ins", {"method": "broker"})
    assert status == 409 and err["error"] == "broker_unavailable"
    assert "pymsalruntime" in err["message"]


@pytest.mark.parametrize("msal_extra_env", [{"JUPYTER_MSAL_BROKER": "always"}])
async def test_broker_always_is_a_clear_error(api: Any) -> None:
    status, err = await api("POST", "sign-ins", {})
    assert status == 409
    assert err["error"] == "broker_unavailable"
    assert "JupyterMsal.broker is 'always'" in err["message"]


async def test_finished_flows_are_forgotten(
    api: Any, msal_emulator: EntraEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jupyter_msal.flows.registry

    flow = await start_flow(api)
    await api("DELETE", f"sign-ins/{flow['id']}")
    assert len((await api("GET", "sign-ins"))[1]["sign_ins"]) == 1
    monkeypatch.setattr(jupyter_msal.flows.registry, "FINISHED_FLOW_TTL", -1)
    assert (await api("GET", "sign-ins"))[1]["sign_ins"] == []
    status, body = await api("GET", f"sign-ins/{flow['id']}")
    assert status == 404 and "kept 10 minutes" in body["message"]


@pytest.mark.parametrize("msal_extra_env", [{"JUPYTER_MSAL_MAX_PENDING_SIGN_INS": "2"}])
async def test_too_many_pending_sign_ins(api: Any) -> None:
    await start_flow(api)
    await start_flow(api)
    status, body = await api("POST", "sign-ins", {})
    assert status == 429 and body["error"] == "too_many_sign_ins"
    assert "already waiting" in body["message"]


async def test_sign_in_scopes_reach_the_identity_provider(
    api: Any, msal_emulator: EntraEmulator
) -> None:
    """Consent happens during sign-in: the first token for those scopes needs no further call."""
    flow = await start_flow(api, scopes=[STORAGE])
    assert flow["scopes"] == [STORAGE]
    devicecode = [r for r in msal_emulator.requests if r["path"].endswith("/devicecode")]
    assert STORAGE in devicecode[-1]["scope"].split()
    msal_emulator.approve(flow["user_code"])
    assert (await wait_flow(api, flow["id"]))["state"] == "succeeded"
    msal_emulator.reset_counts()
    status, token = await api("POST", "token", {"scopes": [STORAGE]})
    assert status == 200 and token["access_token"] in msal_emulator.issued_access_tokens
    assert msal_emulator.counts["token"] == 0


async def test_cancel_wins_even_when_approved_right_after(
    api: Any, msal_emulator: EntraEmulator
) -> None:
    """Approve at once after the cancel: the flow stays cancelled and no account appears."""
    polls = 0
    for _ in range(3):
        flow = await start_flow(api)
        status, _ = await api("DELETE", f"sign-ins/{flow['id']}")
        assert status == 200
        polls = msal_emulator.counts["grant:device_code"]
        msal_emulator.approve(flow["user_code"])
    await assert_polling_stopped(msal_emulator, polls, flows=3)
    _, listed = await api("GET", "sign-ins")
    assert [f["state"] for f in listed["sign_ins"]] == ["cancelled"] * 3
    assert (await api("GET", "accounts"))[1]["accounts"] == []


async def test_sign_in_with_claims_challenge(api: Any, msal_emulator: EntraEmulator) -> None:
    claims = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}'
    flow = await start_flow(api, claims=claims)
    msal_emulator.approve(flow["user_code"])
    assert (await wait_flow(api, flow["id"]))["state"] == "succeeded"
    sent = [r for r in msal_emulator.requests if r["path"].endswith(("/devicecode", "/token"))]
    assert sent and all(r["claims"] for r in sent), sent
