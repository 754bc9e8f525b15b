"""Prometheus metrics on the server's /metrics: exact counts, bounded labels, no secrets."""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Any

from prometheus_client import REGISTRY

from jupyter_msal import metrics
from jupyter_msal.identity.single_flight import SingleFlight
from jupyter_msal.testing import DEFAULT_USERNAME, EntraEmulator

STORAGE = "https://storage.azure.com/.default"
GRAPH = "https://graph.microsoft.com/.default"


def sample(name: str, **labels: str) -> float:
    """The current value of one sample (0 when it does not exist yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def tokens(client: str, outcome: str) -> float:
    return sample("jupyter_msal_token_requests_total", client=client, outcome=outcome)


async def test_token_requests_counted_by_client_and_outcome(
    api: Any, sign_in: Any, kernel_headers: dict[str, str], msal_emulator: EntraEmulator
) -> None:
    await sign_in()
    status, _ = await api("POST", "token", {"scopes": [STORAGE]})
    assert status == 200
    before = {
        (client, outcome): tokens(client, outcome)
        for client in ("kernel", "jupyter_token")
        for outcome in ("lookup", "cache", "refreshed", "sign_in_required")
    }
    idp_before = sample("jupyter_msal_idp_requests_total", endpoint="token", status="2xx")
    latency_before = sample("jupyter_msal_idp_request_duration_seconds_count", endpoint="token")

    for _ in range(7):
        status, _ = await api("POST", "token", {"scopes": [STORAGE]}, headers=kernel_headers)
        assert status == 200
    for _ in range(3):
        assert (await api("POST", "token", {"scopes": [STORAGE]}))[0] == 200
    msal_emulator.reset_counts()
    status, _ = await api("POST", "token", {"scopes": [STORAGE], "force_refresh": True})
    assert status == 200 and msal_emulator.counts["token"] == 1

    def delta(client: str, outcome: str) -> float:
        return tokens(client, outcome) - before[(client, outcome)]

    assert delta("kernel", "lookup") == 7
    assert delta("jupyter_token", "lookup") == 3
    assert delta("jupyter_token", "refreshed") == 1
    assert delta("kernel", "refreshed") == delta("kernel", "cache") == 0
    # one refresh: exactly one identity-provider call, counted and timed
    assert sample("jupyter_msal_idp_requests_total", endpoint="token", status="2xx") == (
        idp_before + 1
    )
    assert sample("jupyter_msal_idp_request_duration_seconds_count", endpoint="token") == (
        latency_before + 1
    )


async def test_errors_counted_by_code(api: Any) -> None:
    before = tokens("jupyter_token", "sign_in_required")
    for _ in range(2):
        status, err = await api("POST", "token", {"scopes": [STORAGE]})
        assert status == 401 and err["error"] == "sign_in_required"
    assert tokens("jupyter_token", "sign_in_required") == before + 2


async def test_sign_ins_and_pending_gauge(
    api: Any, sign_in: Any, msal_emulator: EntraEmulator
) -> None:
    succeeded = sample("jupyter_msal_sign_ins_total", method="device_code", outcome="succeeded")
    cancelled = sample("jupyter_msal_sign_ins_total", method="device_code", outcome="cancelled")
    failed = sample("jupyter_msal_sign_ins_total", method="device_code", outcome="failed")
    pending = sample("jupyter_msal_sign_ins_pending")
    await sign_in()
    assert sample("jupyter_msal_sign_ins_total", method="device_code", outcome="succeeded") == (
        succeeded + 1
    )

    status, flow = await api("POST", "sign-ins", {"method": "device_code"})
    assert status == 202
    assert sample("jupyter_msal_sign_ins_pending") == pending + 1
    assert (await api("DELETE", f"sign-ins/{flow['id']}"))[0] == 200
    assert sample("jupyter_msal_sign_ins_pending") == pending
    assert sample("jupyter_msal_sign_ins_total", method="device_code", outcome="cancelled") == (
        cancelled + 1
    )

    status, flow = await api("POST", "sign-ins", {"method": "device_code"})
    msal_emulator.decline(flow["user_code"])
    for _ in range(6):
        status, flow = await api("GET", f"sign-ins/{flow['id']}", params={"wait": "10"})
        if flow["state"] != "pending":
            break
    assert flow["state"] == "failed"
    assert sample("jupyter_msal_sign_ins_total", method="device_code", outcome="failed") == (
        failed + 1
    )


def test_single_flight_joins_counted() -> None:
    flight: SingleFlight[str, int] = SingleFlight()
    before = sample("jupyter_msal_single_flight_joins_total")
    release = threading.Event()
    started = threading.Event()

    def work() -> int:
        started.set()
        release.wait(5)
        return 1

    leader = threading.Thread(target=flight.run, args=("k", work))
    leader.start()
    started.wait(5)
    joiners = [threading.Thread(target=flight.run, args=("k", work)) for _ in range(4)]
    for thread in joiners:
        thread.start()
    while flight.joined < 4:
        threading.Event().wait(0.01)
    release.set()
    for thread in [leader, *joiners]:
        thread.join(5)
    assert flight.joined == 4
    assert sample("jupyter_msal_single_flight_joins_total") == before + 4


async def test_concurrent_requests_join_one_flight(
    api: Any, sign_in: Any, msal_emulator: EntraEmulator
) -> None:
    await sign_in()
    before = sample("jupyter_msal_single_flight_joins_total")
    msal_emulator.set_latency(0.5, endpoint="token")
    results = await asyncio.gather(
        *(api("POST", "token", {"scopes": [GRAPH], "force_refresh": True}) for _ in range(10))
    )
    assert [status for status, _ in results] == [200] * 10
    assert msal_emulator.counts["grant:refresh_token"] == 1
    assert sample("jupyter_msal_single_flight_joins_total") == before + 9


async def test_metrics_page_has_bounded_labels_and_no_secrets(
    jp_fetch: Any, api: Any, sign_in: Any, msal_emulator: EntraEmulator
) -> None:
    await sign_in()
    assert (await api("POST", "token", {"scopes": [STORAGE]}))[0] == 200
    assert (await api("POST", "token", {"scopes": ["https://vault.azure.net/user_impersonation"]}))[
        0
    ] == 200
    response = await jp_fetch("metrics", method="GET")  # with the server's token
    assert response.code == 200
    text = response.body.decode()
    for name in (
        "jupyter_msal_token_requests_total",
        "jupyter_msal_idp_requests_total",
        "jupyter_msal_idp_request_duration_seconds_bucket",
        "jupyter_msal_sign_ins_total",
        "jupyter_msal_single_flight_joins_total",
        "jupyter_msal_sign_ins_pending",
    ):
        assert name in text, name
    ours = [line for line in text.splitlines() if line.startswith("jupyter_msal_")]
    label_value = re.compile(r'(\w+)="([^"]*)"')
    allowed = {
        "client": set(metrics.CLIENT_KINDS) | {"other"},
        "method": {"device_code", "auth_code", "broker"},
        "endpoint": {
            "token",
            "devicecode",
            "authorize",
            "openid_configuration",
            "instance_discovery",
            "other",
        },
        "status": {"1xx", "2xx", "3xx", "4xx", "5xx", "error"},
    }
    for line in ours:
        for label, value in label_value.findall(line):
            if label in allowed:
                assert value in allowed[label], line
            elif label == "outcome":
                assert re.fullmatch(r"[a-z_]{1,40}", value), line
            else:
                assert label == "le", line
    secrets = [*msal_emulator.issued_access_tokens, *msal_emulator.issued_device_codes]
    secrets += msal_emulator.issued_refresh_tokens
    for secret in secrets:
        assert secret not in text
    for leak in (DEFAULT_USERNAME, "storage.azure.com", "vault.azure.net", "user_impersonation"):
        assert leak not in text
