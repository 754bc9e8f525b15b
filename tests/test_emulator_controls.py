"""Tests of the Entra ID emulator's test controls: faults, observation, the HTTP controls,
the device-login page, the pytest plugin and the standalone process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import msal
import pytest
import requests
from emulator_helpers import STORAGE, authorize, control, raw_token, sign_in

from jupyter_msal.testing import EntraEmulator, wait_until

REPO = Path(__file__).resolve().parents[1]
# msal nudges towards form_post; the query mode is what these tests exercise
pytestmark = pytest.mark.filterwarnings("ignore:response_mode=:UserWarning")


# ------------------------------------------------------------------------- faults


def test_inject_error_500_raises_in_msal(msal_emulator: EntraEmulator) -> None:
    app, _ = sign_in(msal_emulator)
    account = app.get_accounts()[0]
    msal_emulator.inject_error(500)
    with pytest.raises(msal.exceptions.MsalServiceError):
        # a fresh app: msal throttles 5xx answers per app for Retry-After (60 s default)
        msal_emulator.public_client_app(token_cache=app.token_cache).acquire_token_silent(
            STORAGE, account=account, force_refresh=True
        )
    fresh = msal_emulator.public_client_app(token_cache=app.token_cache)
    assert fresh.acquire_token_silent(STORAGE, account=account, force_refresh=True)


def test_inject_error_bodies_on_the_wire(msal_emulator: EntraEmulator) -> None:
    msal_emulator.inject_error(500)
    default = raw_token(msal_emulator, {})
    assert default.status_code == 500
    assert default.headers["Content-Type"].startswith("application/json")
    body = default.json()
    assert body["error_codes"] == [50000]
    assert body["error_description"].startswith("AADSTS50000: ")

    msal_emulator.inject_error(
        502, "<html><body>Bad gateway</body></html>", content_type="text/html"
    )
    html_page = raw_token(msal_emulator, {})
    assert html_page.status_code == 502 and html_page.headers["Content-Type"] == "text/html"
    assert html_page.text == "<html><body>Bad gateway</body></html>"

    msal_emulator.inject_error(429, headers={"Retry-After": "7"}, count=2)
    assert [raw_token(msal_emulator, {}).status_code for _ in range(3)] == [429, 429, 400]

    msal_emulator.inject_error(503, endpoint="any", count=None)
    session = msal_emulator.http_session()
    assert (
        session.get(f"{msal_emulator.url}/common/v2.0/.well-known/openid-configuration").status_code
        == 503
    )
    assert raw_token(msal_emulator, {}).status_code == 503
    assert raw_token(msal_emulator, {}).status_code == 503
    msal_emulator.clear_faults()
    assert (
        raw_token(msal_emulator, {}).status_code == 400
    )  # back to the real (missing grant_type) error
    assert msal_emulator.counts["token"] == 8  # faulted requests are counted too


def test_inject_aadsts(msal_emulator: EntraEmulator) -> None:
    app, _ = sign_in(msal_emulator)
    account = app.get_accounts()[0]
    msal_emulator.inject_aadsts(50076, "interaction_required", extra={"suberror": "basic_action"})
    result = app.acquire_token_silent_with_error(STORAGE, account=account, force_refresh=True)
    assert result["error"] == "interaction_required"
    assert result["error_codes"] == [50076]
    assert result["suberror"] == "basic_action"
    assert result["error_description"].startswith("AADSTS50076:")

    msal_emulator.inject_aadsts(700016, "unauthorized_client", endpoint="devicecode")
    flow = msal_emulator.public_client_app().initiate_device_flow(STORAGE)
    assert flow["error"] == "unauthorized_client" and "user_code" not in flow


def test_inject_error_on_discovery(msal_emulator: EntraEmulator) -> None:
    msal_emulator.inject_error(500, endpoint="discovery")
    with pytest.raises(msal.exceptions.MsalServiceError):
        msal_emulator.public_client_app()
    assert msal_emulator.public_client_app()  # count=1: the next one works


def test_latency_delays_only_its_endpoint(msal_emulator: EntraEmulator) -> None:
    msal_emulator.set_latency(0.6, endpoint="token")
    outcome: dict[str, Any] = {}

    def slow() -> None:
        started = time.monotonic()
        outcome["status"] = raw_token(msal_emulator, {}).status_code
        outcome["elapsed"] = time.monotonic() - started

    worker = threading.Thread(target=slow)
    worker.start()
    wait_until(lambda: msal_emulator.counts["token"] == 1)
    state = msal_emulator.http_session().get(f"{msal_emulator.url}/_emulator/state")  # not held up
    assert state.status_code == 200
    assert worker.is_alive()
    worker.join(5)
    assert outcome["status"] == 400 and outcome["elapsed"] >= 0.55
    msal_emulator.set_latency(0, endpoint="token")
    with pytest.raises(ValueError):
        msal_emulator.set_latency(1, endpoint="nope")


# ----------------------------------------------------------------- observation


def test_counts_and_requests_hold_no_secrets(msal_emulator: EntraEmulator) -> None:
    app, first = sign_in(msal_emulator)
    account = app.get_accounts()[0]
    app.acquire_token_silent(STORAGE, account=account, force_refresh=True)
    flow = app.initiate_auth_code_flow(STORAGE, redirect_uri="http://localhost:8400/cb")
    code = authorize(msal_emulator, flow)["code"]
    counts = msal_emulator.counts
    assert counts["devicecode"] == 1 and counts["authorize"] == 1
    assert counts["token"] == 2
    assert counts["grant:device_code"] == 1 and counts["grant:refresh_token"] == 1

    entry = msal_emulator.requests[1]
    assert set(entry) >= {"method", "path", "grant_type", "host", "client_id", "scope"}
    logged = json.dumps(msal_emulator.requests) + json.dumps(
        msal_emulator.http_session().get(f"{msal_emulator.url}/_emulator/state").json()
    )
    secrets = (
        msal_emulator.issued_access_tokens
        + msal_emulator.issued_refresh_tokens
        + msal_emulator.issued_id_tokens
    )
    assert len(secrets) == 6
    for secret in [*secrets, code, first["access_token"]]:
        assert secret not in logged

    msal_emulator.counts["token"] = 99  # a copy
    assert msal_emulator.counts["token"] == 2
    msal_emulator.reset_counts()
    assert set(msal_emulator.counts.values()) == {0} and msal_emulator.requests == []
    assert len(msal_emulator.issued_access_tokens) == 2  # issued tokens are kept for leak checks


def test_every_token_is_unique(msal_emulator: EntraEmulator) -> None:
    app, _ = sign_in(msal_emulator)
    account = app.get_accounts()[0]
    for _ in range(3):
        app.acquire_token_silent(STORAGE, account=account, force_refresh=True)
    tokens = msal_emulator.issued_access_tokens
    assert len(tokens) == len(set(tokens)) == 4


# ------------------------------------------------------------- HTTP controls


def test_http_controls(msal_emulator: EntraEmulator) -> None:
    app = msal_emulator.public_client_app()
    flow = app.initiate_device_flow(STORAGE)
    state = msal_emulator.http_session().get(f"{msal_emulator.url}/_emulator/state").json()
    assert state["pending_user_codes"] == [flow["user_code"]]
    assert state["counts"]["devicecode"] == 1
    assert state["url"] == msal_emulator.url

    ok = control(
        msal_emulator, "approve", {"user_code": flow["user_code"], "username": "hal@contoso.com"}
    )
    assert ok.json() == {"ok": True, "user_code": flow["user_code"]}
    assert app.acquire_token_by_device_flow(flow)["id_token_claims"]["preferred_username"] == (
        "hal@contoso.com"
    )
    missing = control(msal_emulator, "approve", {"user_code": "BBBB-CCCC"})
    assert missing.status_code == 404 and missing.json()["ok"] is False

    flow = app.initiate_device_flow(STORAGE)
    assert control(msal_emulator, "decline").json()["user_code"] == flow["user_code"]
    assert app.acquire_token_by_device_flow(flow)["error"] == "authorization_declined"
    flow = app.initiate_device_flow(STORAGE)
    assert control(msal_emulator, "expire", {"user_code": flow["user_code"]}).json()["ok"]
    assert app.acquire_token_by_device_flow(flow)["error"] == "expired_token"

    assert control(msal_emulator, "error", {"status": 503, "endpoint": "token"}).json()["ok"]
    assert raw_token(msal_emulator, {}).status_code == 503
    assert control(msal_emulator, "aadsts", {"code": 50058, "error": "invalid_grant"}).json()["ok"]
    assert raw_token(msal_emulator, {}).json()["error_codes"] == [50058]
    assert control(msal_emulator, "latency", {"seconds": 5, "endpoint": "jwks"}).json()["ok"]
    assert msal_emulator.latency_for("jwks") == 5
    assert control(msal_emulator, "clear-faults").json()["ok"]
    assert msal_emulator.latency_for("jwks") == 0
    assert control(msal_emulator, "latency", {"seconds": 1, "endpoint": "bogus"}).status_code == 400

    assert control(msal_emulator, "revoke", {"username": "hal@contoso.com"}).json() == {
        "ok": True,
        "revoked": 1,
    }
    assert control(msal_emulator, "auto-approve", {"username": "ivy@contoso.com"}).json()["ok"]
    assert msal_emulator.auto_approve == "ivy@contoso.com"
    assert control(msal_emulator, "auto-approve", {"username": None}).json()["auto_approve"] is None
    assert control(msal_emulator, "config", {"access_token_lifetime": 5}).json()["ok"]
    assert msal_emulator.access_token_lifetime == 5
    assert control(msal_emulator, "reset").json()["ok"]
    assert msal_emulator.counts["devicecode"] == 0

    # a cross-site form post cannot drive the emulator
    form = msal_emulator.http_session().post(
        f"{msal_emulator.url}/_emulator/approve", data={"user_code": "X"}
    )
    assert form.status_code == 415
    assert control(msal_emulator, "no-such-action").status_code == 404


# --------------------------------------------------------------- devicelogin page


def test_devicelogin_page_approve(msal_emulator: EntraEmulator) -> None:
    session = msal_emulator.http_session()
    app = msal_emulator.public_client_app()
    flow = app.initiate_device_flow(STORAGE)
    page = session.get(flow["verification_uri"])
    assert page.status_code == 200
    for element_id in ("user-code", "username", "approve", "decline"):
        assert f'id="{element_id}"' in page.text
    assert 'value="ada@contoso.com"' in page.text

    result = session.post(
        msal_emulator.device_login_url,
        data={"user_code": flow["user_code"], "username": "jo@contoso.com", "action": "approve"},
    )
    assert result.status_code == 200
    assert 'id="result"' in result.text
    assert "You are signed in as jo@contoso.com" in result.text
    assert "You may close this window" in result.text
    token = app.acquire_token_by_device_flow(flow)
    assert token["id_token_claims"]["preferred_username"] == "jo@contoso.com"

    again = session.post(
        msal_emulator.device_login_url, data={"user_code": flow["user_code"], "action": "approve"}
    )
    assert again.status_code == 400 and 'id="result"' in again.text


def test_devicelogin_page_decline_and_escaping(msal_emulator: EntraEmulator) -> None:
    session = msal_emulator.http_session()
    app = msal_emulator.public_client_app()
    flow = app.initiate_device_flow(STORAGE)
    prefilled = session.get(msal_emulator.device_login_url, params={"user_code": flow["user_code"]})
    assert f'value="{flow["user_code"]}"' in prefilled.text
    declined = session.post(
        msal_emulator.device_login_url, data={"user_code": flow["user_code"], "action": "decline"}
    )
    assert declined.status_code == 200 and "declined" in declined.text
    assert app.acquire_token_by_device_flow(flow)["error"] == "authorization_declined"

    hostile = session.post(
        msal_emulator.device_login_url,
        data={"user_code": "<script>x</script>", "username": '"><b>', "action": "approve"},
    )
    assert hostile.status_code == 400
    assert "<script>x" not in hostile.text and '"><b>' not in hostile.text


# ------------------------------------------------------------------ pytest plugin


def test_plugin_import_is_light() -> None:
    code = (
        "import sys, jupyter_msal.testing.pytest_plugin, jupyter_msal.testing;"
        "heavy = {'tornado', 'trustme', 'msal', 'requests'} & set(sys.modules);"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env=_env())


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def test_plugin_fixtures(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        'pytest_plugins = ["jupyter_msal.testing.pytest_plugin"]\n'
    )
    (tmp_path / "test_uses_fixtures.py").write_text(
        textwrap.dedent(
            """
            import pytest

            def test_function_scoped(msal_emulator):
                assert msal_emulator.running
                assert msal_emulator.device_code_interval == 1
                app = msal_emulator.public_client_app()
                flow = app.initiate_device_flow(["User.Read"])
                msal_emulator.approve(flow["user_code"])
                assert "access_token" in app.acquire_token_by_device_flow(flow)

            def test_session_scoped(msal_emulator_session, msal_emulator):
                assert msal_emulator_session.running
                assert msal_emulator_session.url != msal_emulator.url

            def test_session_is_shared(msal_emulator_session):
                assert msal_emulator_session.running
            """
        )
    )
    run = _pytest_in(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout


def _pytest_in(folder: Path) -> subprocess.CompletedProcess[str]:
    """pytest run in a new process on ``folder``, with none of this project's settings."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            str(folder),
        ],
        cwd=folder,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_plugin_is_opt_in(tmp_path: Path) -> None:
    """Installing jupyter-msal adds no fixtures to other projects' pytest runs."""
    (tmp_path / "test_without_opt_in.py").write_text("def test_fixture(msal_emulator):\n    pass\n")
    run = _pytest_in(tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "fixture 'msal_emulator' not found" in run.stdout


def test_standalone_process() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_msal.testing.emulator",
            "--auto-approve",
            "kim@contoso.com",
        ],
        cwd=REPO,
        env=_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert info["authority"] == f"{info['url']}/organizations"
        session = requests.Session()
        session.trust_env = False
        session.verify = info["ca_bundle_path"]
        state = session.get(f"{info['control_url']}/state").json()
        assert state["auto_approve"] == "kim@contoso.com"
    finally:
        process.terminate()
        assert process.wait(10) == 0
        process.stdout.close()
    assert not Path(info["ca_bundle_path"]).exists()
