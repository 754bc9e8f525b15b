"""``EntraEmulator.reset()``: one running emulator shared by many tests, each from a fresh start."""

from __future__ import annotations

import copy
import threading
from typing import Any

import pytest
import requests

from jupyter_msal.testing import EntraEmulator, wait_until

STORAGE = ["https://storage.azure.com/.default"]


def token_request(emulator: EntraEmulator) -> requests.Response:
    """A token request the emulator refuses on its merits (no grant type) unless faulted."""
    return emulator.http_session().post(f"{emulator.url}/organizations/oauth2/v2.0/token", data={})


def settings(emulator: EntraEmulator) -> dict[str, Any]:
    names = (
        "access_token_lifetime",
        "device_code_lifetime",
        "device_code_interval",
        "default_username",
        "default_tenant_id",
        "refresh_token_single_use",
        "refresh_in",
        "expand_default_scope",
        "access_token_version",
        "v1_resources",
        "client_secrets",
        "auth_code_sign_in_page",
        "auto_approve",
        "blocked_sign_ins",
    )
    return copy.deepcopy({name: getattr(emulator, name) for name in names})


def test_reset_returns_to_a_fresh_start(msal_emulator: EntraEmulator) -> None:
    fresh = settings(msal_emulator)
    app = msal_emulator.public_client_app()
    flow = app.initiate_device_flow(STORAGE)
    msal_emulator.approve(flow["user_code"], username="grace@contoso.com")
    signed_in = app.acquire_token_by_device_flow(flow)
    pending = app.initiate_device_flow(STORAGE)["user_code"]
    scheduled = msal_emulator.approve_next()
    msal_emulator.access_token_lifetime = 60
    msal_emulator.device_code_interval = 7
    msal_emulator.refresh_in = 30
    msal_emulator.expand_default_scope = True
    msal_emulator.v1_resources.add("*.example.org")
    msal_emulator.client_secrets["app"] = "secret"
    msal_emulator.auto_approve = "bob@contoso.com"
    msal_emulator.block_sign_in("auth_code")
    msal_emulator.inject_error(500, endpoint="token", count=None)
    msal_emulator.set_latency(5, endpoint="discovery")
    port, ca = msal_emulator.port, msal_emulator.ca_pem
    assert settings(msal_emulator) != fresh

    msal_emulator.reset()

    assert settings(msal_emulator) == fresh
    assert set(msal_emulator.counts.values()) == {0} and msal_emulator.requests == []
    assert msal_emulator.users == {} and msal_emulator.pending_user_codes() == []
    assert pending not in msal_emulator.pending_user_codes()
    assert scheduled.cancelled
    assert msal_emulator.issued_access_tokens == [] and msal_emulator.issued_refresh_tokens == []
    assert (msal_emulator.port, msal_emulator.ca_pem) == (port, ca)  # same address and CA
    assert msal_emulator.latency_for("discovery") == 0
    # faults are gone, and so is the refresh token issued before
    refreshed = app.acquire_token_by_refresh_token(signed_in["refresh_token"], STORAGE)
    assert refreshed.get("error") == "invalid_grant", refreshed


def test_a_request_waiting_across_a_reset_takes_nothing_of_the_next_test(
    msal_emulator: EntraEmulator,
) -> None:
    msal_emulator.set_latency(1, endpoint="token")
    answers: list[requests.Response] = []
    waiting = threading.Thread(target=lambda: answers.append(token_request(msal_emulator)))
    waiting.start()
    wait_until(lambda: msal_emulator.counts["token"] == 1)

    msal_emulator.reset()  # the next test begins
    msal_emulator.inject_error(500, endpoint="token", count=1)
    waiting.join(10)

    assert answers[0].status_code == 503
    assert answers[0].json() == {"error": "temporarily_unavailable"}
    assert token_request(msal_emulator).status_code == 500  # the fault was still there
    assert token_request(msal_emulator).status_code == 400


@pytest.mark.fresh_emulator
def test_a_test_can_ask_for_an_emulator_of_its_own(
    msal_emulator: EntraEmulator, shared_msal_emulator: EntraEmulator
) -> None:
    assert msal_emulator is not shared_msal_emulator
    assert msal_emulator.port != shared_msal_emulator.port


def test_other_tests_share_the_module_emulator(
    msal_emulator: EntraEmulator, shared_msal_emulator: EntraEmulator
) -> None:
    assert msal_emulator is shared_msal_emulator


def test_a_stopped_shared_emulator_is_started_again(
    shared_msal_emulator: EntraEmulator, request: pytest.FixtureRequest
) -> None:
    shared_msal_emulator.stop()
    emulator = request.getfixturevalue("msal_emulator")
    assert emulator is shared_msal_emulator and emulator.running
    assert token_request(emulator).status_code == 400
