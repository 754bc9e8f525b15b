"""A hub whose login is not Entra ID's (JupyterHub's DummyAuthenticator) with
``jupyter_msal.hub.enable(c, public_url=...)``: auth-code sign-ins on user servers go through
the hub's one redirect URI, routed back by ``state``; and a user server whose jupyter-msal
cannot start says why in the kernel, the CLI and the JupyterLab panel.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from jupyter_msal.testing.hub import JupyterHubProcess

CAROL, DAVE = "msal-carol", "msal-dave"
STORAGE = "https://storage.azure.com/.default"
INACTIVE = "jupyter-msal is not active on this server: JupyterMsal.ca_bundle"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "hub"
CHROMIUM = os.environ.get("JUPYTER_MSAL_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def unreadable_ca(tmp_path_factory: pytest.TempPathFactory, msal_emulator_module: Any) -> str:
    """A CA bundle dave cannot read (inside root's own temporary folder); without root, a
    file that does not exist."""
    folder = tmp_path_factory.mktemp("private")
    path = folder / "ca.pem"
    if os.geteuid() == 0:
        path.write_bytes(msal_emulator_module.ca_pem)
        folder.chmod(0o700)
    return str(path)


@pytest.fixture(scope="module")
def hub(hub_factory: Any, unreadable_ca: str) -> JupyterHubProcess:
    # dave's servers get the unreadable CA bundle; everyone else the readable one
    per_user = (
        "_readable = c.Spawner.environment['JUPYTER_MSAL_CA_BUNDLE']\n"
        "c.Spawner.environment['JUPYTER_MSAL_CA_BUNDLE'] = lambda spawner: "
        f"{unreadable_ca!r} if spawner.user.name == {DAVE!r} else _readable\n"
    )
    return hub_factory(users=[CAROL, DAVE], authenticator="dummy", extra_config=per_user)


def _call(url: str, token: str, body: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def test_auth_code_through_the_hubs_one_redirect_uri(
    hub: JupyterHubProcess, msal_emulator_module: Any
) -> None:
    emulator = msal_emulator_module
    browser = hub.login(CAROL)
    hub.spawn(CAROL)
    # carol has her server open in the browser (its JupyterHub login cookie)
    assert browser.get(hub.server_url(CAROL) + "lab", timeout=60).status_code == 200
    server = hub.server_url(CAROL) + "jupyter-msal/"
    token = hub.user_token(CAROL)

    code, status = _call(server + "status", token)
    assert code == 200 and status["hub"]["in_use"] is False
    assert "no Microsoft Entra ID refresh token" in status["hub"]["note"]
    assert "hub" not in status["sign_in_methods"] and status["accounts"] == []

    emulator.reset_counts()
    code, flow = _call(server + "sign-ins", token, {"method": "auto", "scopes": [STORAGE]})
    assert code == 202 and flow["method"] == "auth_code", flow
    callback = hub.url + "services/jupyter-msal/redirect"
    assert parse_qs(urlsplit(flow["sign_in_url"]).query)["redirect_uri"] == [callback]

    # a forged state goes nowhere
    forged = browser.get(f"{callback}?code=1.emu.forged&state={'f' * 22}", timeout=30)
    assert forged.status_code == 400 and "unknown, expired or already used" in forged.text

    emulator.auto_approve = CAROL
    try:
        answer = browser.get(flow["sign_in_url"], timeout=60)
    finally:
        emulator.auto_approve = None
    assert answer.status_code == 200 and f"Signed in as {CAROL}" in answer.text
    hops = [urlsplit(r.url).path for r in answer.history]
    assert "/services/jupyter-msal/redirect" in hops  # routed by the hub's service
    assert urlsplit(answer.url).path == f"/user/{CAROL}/jupyter-msal/redirect"
    routed = next(r.url for r in answer.history if "/services/jupyter-msal/" in r.url)

    code, done = _call(server + f"sign-ins/{flow['id']}", token)
    assert done["state"] == "succeeded" and done["account"]["username"] == CAROL
    assert done["account"]["sign_in_method"] == "auth_code"
    assert emulator.counts["grant:authorization_code"] == 1

    # the same answer again: already used, nobody signed in a second time
    replay = browser.get(routed, timeout=30)
    assert replay.status_code == 400
    assert emulator.counts["grant:authorization_code"] == 1

    with hub.open_kernel(CAROL) as kernel:
        kernel.ok("%load_ext jupyter_msal")
        kernel.ok(f"t = %msal_token {STORAGE}")
        who = kernel.eval("(t.account.username, t.claims['aud'])")
    assert who == [CAROL, "https://storage.azure.com"]


def test_a_user_server_that_cannot_start_jupyter_msal_says_why(hub: JupyterHubProcess) -> None:
    hub.spawn(DAVE)
    with hub.open_kernel(DAVE) as kernel:
        kernel.ok("%load_ext jupyter_msal")
        magic = kernel.execute(f"%msal_token {STORAGE}").text()
        cli = kernel.ok(
            "import subprocess, sys\n"
            "r = subprocess.run([sys.executable, '-m', 'jupyter_msal.cli', 'status'],\n"
            "                   capture_output=True, text=True, timeout=60)\n"
            "print(r.returncode)\nprint(r.stdout + r.stderr)"
        ).stdout
    assert INACTIVE in magic and "kernel secret" not in magic
    assert cli.splitlines()[0] != "0" and INACTIVE in cli
    assert "jupyter server extension enable" not in cli
    if os.geteuid() == 0:
        assert "cannot read" in magic  # a permission error, named as the setting's


@pytest.mark.browser
def test_the_lab_panel_on_the_hub_says_why(hub: JupyterHubProcess) -> None:
    from playwright.sync_api import expect, sync_playwright

    hub.spawn(DAVE)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = chromium.new_page()
            page.goto(f"{hub.url}hub/login")
            page.fill("#username_input", DAVE)
            page.fill("#password_input", hub.admin_token)
            page.click("#login_submit")
            page.goto(hub.server_url(DAVE) + "lab")
            indicator = page.locator("#jp-msal-indicator")
            expect(indicator).to_have_text("Microsoft sign-in unavailable", timeout=90_000)
            indicator.click()
            banner = page.locator("#jp-msal-panel .jp-msal-sync-problem")
            expect(banner).to_contain_text(INACTIVE)
            page.screenshot(path=str(ARTIFACTS / "hub-lab-inactive-panel.png"))
        finally:
            chromium.close()
