"""End to end: sign-in comes to the user. A tool in a kernel or terminal asks the server's
managed-identity endpoint for a token while nobody is signed in; the request fails at once (as
before), and the open JupyterLab / Notebook 7 page shows a notification whose "Sign in" button
opens the sign-in dialog. After the sign-in the notification goes away and the same request
gets its token.

The tool is played by the test: ``requests`` with the Azure CLI's User-Agent, the endpoint and
the header a kernel of this server inherits (read from a real kernel it started).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from lab_selectors import DIALOG, INDICATOR, SIGNED_OUT, USER_CODE
from playwright.sync_api import expect

from jupyter_msal.testing.kernels import server_kernel

pytestmark = pytest.mark.browser

AZ = "AZURECLI/2.91.0 (PIP)"
EVENTS = "/api/events/subscribe"


@pytest.fixture(autouse=True)
def clean_state(signed_out_lab: Any) -> None:
    """Every test starts signed out, with no emulator faults."""


@pytest.fixture(scope="module")
def identity(lab: Any) -> dict[str, str]:
    """``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER`` as a kernel of the lab server has them."""
    headers = {"Authorization": f"token {lab.token}"}
    started = lab.session.post(
        f"{lab.url}api/kernels", headers=headers, json={"name": "python3"}, timeout=30
    )
    started.raise_for_status()
    kid = started.json()["id"]
    connection = lab.log_path.parent / "runtime" / f"kernel-{kid}.json"

    def delete() -> None:
        lab.session.delete(f"{lab.url}api/kernels/{kid}", headers=headers, timeout=30)

    with server_kernel(connection, kid, delete) as kernel:
        names = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER")
        env = kernel.eval(f"{{k: __import__('os').environ[k] for k in {names!r}}}")
    assert env["IDENTITY_ENDPOINT"] == f"{lab.url}jupyter-msal/managed-identity"
    return dict(env)


def ask_as_az(lab: Any, identity: dict[str, str], resource: str) -> Any:
    """What ``az account get-access-token --resource <resource>`` sends, through msal."""
    return lab.session.get(
        identity["IDENTITY_ENDPOINT"],
        params={"api-version": "2019-08-01", "resource": resource},
        headers={"X-IDENTITY-HEADER": identity["IDENTITY_HEADER"], "User-Agent": AZ},
        timeout=10,
    )


class EventFrames:
    """The messages of the page's event websocket."""

    def __init__(self, page: Any) -> None:
        self.messages: list[str] = []
        self.connected = False
        page.on("websocket", self._socket)

    def _socket(self, ws: Any) -> None:
        if EVENTS in ws.url:
            self.connected = True
            ws.on("framereceived", lambda payload: self.messages.append(str(payload)))

    def wait_connected(self, page: Any) -> None:
        deadline = time.monotonic() + 20
        while not self.connected and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert self.connected, "the page did not open the server's event stream"


@pytest.fixture
def frames(page: Any) -> Iterator[EventFrames]:
    yield EventFrames(page)


def settled(page: Any, toast: Any) -> None:
    """Wait until the toast has slid in (its entry animation ends inside the viewport)."""
    width = page.viewport_size["width"]
    for _ in range(50):
        box = toast.bounding_box()
        if box and box["x"] + box["width"] <= width:
            page.wait_for_timeout(300)  # and the bounce is over, for the screenshot
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the notification stays outside the page: {toast.bounding_box()}")


def _signed_out_request_fails_fast(lab: Any, identity: dict[str, str], resource: str) -> None:
    answer = ask_as_az(lab, identity, resource)
    assert answer.status_code == 401, answer.text
    body = answer.json()
    assert body["error"] == "sign_in_required"
    assert "%msal_login" in body["message"] and "status bar" in body["message"]


def test_lab_notification_opens_the_sign_in_dialog(
    page: Any, lab: Any, emulator: Any, identity: dict[str, str], frames: EventFrames, shot: Any
) -> None:
    page.goto(f"{lab.url}lab?token={lab.token}")
    indicator = page.locator(INDICATOR)
    expect(indicator).to_have_text(SIGNED_OUT, timeout=60_000)
    frames.wait_connected(page)

    _signed_out_request_fails_fast(lab, identity, "https://storage.azure.com/")
    toast = page.locator(".Toastify__toast").filter(
        has_text="az asked for a token for Azure Storage"
    )
    expect(toast).to_be_visible(timeout=10_000)
    expect(toast).to_contain_text("nobody is signed in to Microsoft")
    settled(page, toast)
    shot(page, "notify-01-lab-token-wanted")

    # the same tool again within the minute: no second notification
    _signed_out_request_fails_fast(lab, identity, "https://storage.azure.com/")
    page.wait_for_timeout(1000)
    expect(page.locator(".Toastify__toast").filter(has_text="asked for a token")).to_have_count(1)

    toast.get_by_role("button", name="Sign in", exact=True).click()
    dialog = page.locator(DIALOG)
    expect(dialog).to_be_visible()
    code = page.locator(USER_CODE)
    expect(code).not_to_have_value("", timeout=30_000)
    shot(page, "notify-02-lab-sign-in-dialog")

    emulator.approve(code.input_value(), "ada@contoso.com")
    expect(dialog).to_have_count(0, timeout=30_000)
    expect(indicator).to_have_text("ada@contoso.com", timeout=30_000)
    # signed in: the notification has done its job
    expect(page.locator(".Toastify__toast").filter(has_text="asked for a token")).to_have_count(
        0, timeout=10_000
    )
    shot(page, "notify-03-lab-signed-in")

    # rerunning the command works
    again = ask_as_az(lab, identity, "https://storage.azure.com/")
    assert again.status_code == 200 and again.json()["access_token"]

    wanted = [
        json.loads(m) for m in frames.messages if "token_wanted" in json.loads(m)["schema_id"]
    ]
    assert [(e["resource"], e["tool"], e["via"]) for e in wanted] == [
        ("https://storage.azure.com", "azure_cli", "managed_identity")
    ]
    text = "\n".join(frames.messages)
    assert identity["IDENTITY_HEADER"] not in text and "2.91.0" not in text
    for secret in emulator.issued_access_tokens:
        assert secret not in text


def test_notebook_notification_opens_the_sign_in_dialog(
    page: Any, lab: Any, emulator: Any, identity: dict[str, str], frames: EventFrames, shot: Any
) -> None:
    page.goto(f"{lab.url}tree?token={lab.token}")
    expect(page.locator(INDICATOR)).to_have_text(SIGNED_OUT, timeout=60_000)
    frames.wait_connected(page)

    _signed_out_request_fails_fast(lab, identity, "https://vault.azure.net")
    toast = page.locator(".Toastify__toast").filter(
        has_text="az asked for a token for Azure Key Vault"
    )
    expect(toast).to_be_visible(timeout=10_000)
    settled(page, toast)
    shot(page, "notify-04-notebook-token-wanted")
    toast.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.locator(DIALOG)).to_be_visible()
    expect(page.locator(USER_CODE)).not_to_have_value("", timeout=30_000)
    shot(page, "notify-05-notebook-sign-in-dialog")
