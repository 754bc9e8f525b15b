"""Sign-in in the browser from a cell and from a terminal, through a real server and kernels.

A thread of the test plays the browser: it waits for the server's pending browser sign-in,
opens its link at the emulator and follows the redirect to the flow's loopback listener (or
hands the address to the paste path).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import pytest
import requests

from jupyter_msal.testing import DEFAULT_USERNAME as ADA
from jupyter_msal.testing import EntraEmulator, wait_until
from jupyter_msal.testing.server import JupyterServerProcess

STORAGE = "https://storage.azure.com/.default"


@pytest.fixture(scope="module")
def server_extra_env() -> dict[str, str]:
    """Cells that name no method sign in in the browser."""
    return {"JUPYTER_MSAL_SIGN_IN_METHOD": "auth_code"}


@pytest.fixture
def fresh(signed_out: JupyterServerProcess, emulator: EntraEmulator) -> JupyterServerProcess:
    emulator.unblock_sign_in()
    yield signed_out
    emulator.unblock_sign_in()


def pending_browser_flow(server: JupyterServerProcess) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        flows = server.request("GET", "jupyter-msal/sign-ins")["sign_ins"]
        found = [f for f in flows if f["state"] == "pending" and f["sign_in_url"]]
        return found[-1] if found else None

    return wait_until(find, 30, message="no pending sign-in in the browser")


def redirect_of(emulator: EntraEmulator, flow: dict[str, Any]) -> str:
    answer = emulator.http_session().get(flow["sign_in_url"], allow_redirects=False)
    assert answer.status_code == 302
    return str(answer.headers["Location"])


class Browser(threading.Thread):
    """Follows the next browser sign-in's link through to the loopback listener (once
    ``go`` is set, when given: the user acts on what the cell shows)."""

    def __init__(
        self,
        server: JupyterServerProcess,
        emulator: EntraEmulator,
        go: threading.Event | None = None,
    ) -> None:
        super().__init__(daemon=True)
        self.server, self.emulator, self.go = server, emulator, go
        self.page = ""
        self.flow: dict[str, Any] = {}
        self.start()

    def run(self) -> None:
        if self.go is not None and not self.go.wait(30):
            return
        self.flow = pending_browser_flow(self.server)
        location = redirect_of(self.emulator, self.flow).replace("localhost", "127.0.0.1")
        with requests.Session() as session:
            session.trust_env = False
            self.page = session.get(location, timeout=10).text


def test_token_in_a_cell_through_the_browser(
    fresh: JupyterServerProcess, emulator: EntraEmulator
) -> None:
    with fresh.open_kernel() as k:
        k.ok("%load_ext jupyter_msal")
        browser = Browser(fresh, emulator)
        cell = k.ok(f"tok = %msal_token {STORAGE}")
        browser.join(10)
        assert "you can close this tab" in browser.page
        prompts = [o for o in cell.outputs if o["type"] == "display_data"]
        html = prompts[0]["data"]["text/html"]
        link = browser.flow["sign_in_url"].replace("&", "&amp;")
        assert f'href="{link}"' in html and 'target="_blank"' in html
        assert "paste it here" in html and "jupyter-msal/sign-ins/" in html
        assert browser.flow["sign_in_url"] in prompts[0]["data"]["text/plain"]
        updates = [o for o in cell.outputs if o["type"] == "update_display_data"]
        assert updates[-1]["data"]["text/plain"] == f"Signed in as {ADA}."
        assert k.eval("tok.username") == ADA
        assert k.eval("tok.token") in emulator.issued_access_tokens


def test_login_with_method_and_fallback_from_blocked_device_code(
    fresh: JupyterServerProcess, emulator: EntraEmulator
) -> None:
    emulator.block_sign_in("device_code", 53003)
    with fresh.open_kernel() as k:
        k.ok("%load_ext jupyter_msal")
        shown = threading.Event()

        def watch(output: dict[str, Any]) -> None:
            if "AADSTS53003" in str(output.get("data", {}).get("text/plain", "")):
                shown.set()  # the cell shows the new step: the user follows it

        browser = Browser(fresh, emulator, go=shown)
        emulator.approve_next()  # the user enters the code; the policy refuses it
        cell = k.execute("%msal_login --method device_code", on_output=watch)
        assert cell.status == "ok", cell.outputs
        browser.join(10)
        assert "you can close this tab" in browser.page
        assert browser.flow["method"] == "auth_code"
        prompt = next(o for o in cell.outputs if o["type"] == "display_data")
        updates = [o for o in cell.outputs if o["type"] == "update_display_data"]
        assert prompt["data"]["text/plain"] != updates[0]["data"]["text/plain"]
        assert "AADSTS53003" in updates[0]["data"]["text/plain"]  # the new step is shown
        assert updates[-1]["data"]["text/plain"] == f"Signed in as {ADA}."


def test_cli_fallback_and_pasted_address(
    fresh: JupyterServerProcess, emulator: EntraEmulator
) -> None:
    """``jupyter msal login`` in a terminal of the server: blocked device code, then the
    browser, whose redirect does not reach the listener: the user pastes the address."""
    emulator.block_sign_in("device_code", 50097)
    env = {**fresh.env, **fresh.kernel_environment()}
    emulator.approve_next()  # the user enters the code; the policy refuses it
    cli = subprocess.Popen(
        [sys.executable, "-m", "jupyter_msal.cli", "login", "--method", "device_code"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        flow = pending_browser_flow(fresh)
        address = redirect_of(emulator, flow)
        assert cli.stdin is not None
        cli.stdin.write(address + "\n")
        cli.stdin.flush()
        _, err = cli.communicate(timeout=60)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 0, err
    assert "AADSTS50097" in err and flow["sign_in_url"] in err and "paste" in err
    assert f"Signed in as {ADA}." in err


def test_widget_shows_a_button_to_the_sign_in_page(
    fresh: JupyterServerProcess, emulator: EntraEmulator, in_process_client: Any
) -> None:
    """The LoginWidget with a sign-in in the browser: the page's link as a button, the paste
    field, then signed in once the browser has been through."""
    import jupyter_msal

    widget = jupyter_msal.LoginWidget(method="auth_code", poll_interval=0.2)
    browser = Browser(fresh, emulator)
    widget.sign_in()
    assert widget.state == "prompt"
    browser.join(15)
    html = widget._prompt_html.value
    link = browser.flow["sign_in_url"].replace("&", "&amp;")
    assert 'class="jupyter-msal-sign-in"' in html and f'href="{link}"' in html
    assert "Open the sign-in page" in html and "Complete sign-in" in html
    assert widget.wait(15) == "signed_in" and widget.username == ADA
