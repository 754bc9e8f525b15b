"""End to end: the status bar follows sign-ins and sign-outs made elsewhere through the server's
event stream (JupyterLab's ``serviceManager.events``, the server's ``/api/events/subscribe``
websocket), not through the fallback poll.

The page's poll interval is set to an hour (the fallback poll then comes every 12 hours), so
every change seen within seconds came through an event.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from lab_selectors import INDICATOR, SIGNED_OUT
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

#: An event reaches the page within about a second; more than this would be a poll.
WITHIN_MS = 5_000


@pytest.fixture(autouse=True)
def clean_state(signed_out_lab: Any) -> Any:
    """Every test starts signed out, with the page polling once an hour."""
    lab = signed_out_lab
    response = lab.session.put(
        f"{lab.url}lab/api/settings/jupyter-msal:plugin",
        headers={"Authorization": f"token {lab.token}"},
        data=json.dumps({"raw": json.dumps({"pollInterval": 3600})}),
        timeout=20,
    )
    assert response.status_code == 204, response.text
    yield


class Frames:
    """Every message the page's event websocket received, and the page's accounts requests."""

    def __init__(self, page: Any) -> None:
        self.messages: list[str] = []
        self.accounts_requests: list[float] = []
        self.connected = False
        page.on("websocket", self._socket)
        page.on("request", self._request)

    def _socket(self, ws: Any) -> None:
        if "/api/events/subscribe" in ws.url:
            self.connected = True
            ws.on("framereceived", lambda payload: self.messages.append(str(payload)))

    def _request(self, request: Any) -> None:
        if request.url.split("?")[0].endswith("/jupyter-msal/accounts"):
            self.accounts_requests.append(time.monotonic())

    def schemas(self) -> list[str]:
        return [json.loads(m).get("schema_id", "") for m in self.messages]


def open_lab(page: Any, lab: Any) -> Frames:
    frames = Frames(page)
    page.goto(f"{lab.url}lab?token={lab.token}")
    indicator = page.locator(INDICATOR)
    expect(indicator).to_have_text(SIGNED_OUT, timeout=60_000)
    deadline = time.monotonic() + 20
    while not frames.connected and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert frames.connected, "the page did not open the server's event stream"
    return frames


def test_status_bar_follows_a_sign_in_made_elsewhere_within_a_second(
    page: Any, lab: Any, emulator: Any, shot: Any
) -> None:
    frames = open_lab(page, lab)
    indicator = page.locator(INDICATOR)
    page.wait_for_timeout(500)  # the first poll is over
    polls_before = len(frames.accounts_requests)

    # a script (or a kernel, another tab, `jupyter msal login`) signs in through the REST API
    lab.sign_in(emulator, "grace@contoso.com")
    done = time.monotonic()
    expect(indicator).to_have_text("grace@contoso.com", timeout=WITHIN_MS)
    seen_after = time.monotonic() - done
    shot(page, "events-01-signed-in-elsewhere")
    # one request, the one the event asked for: the fallback poll is 12 hours away
    assert len(frames.accounts_requests) == polls_before + 1
    assert frames.accounts_requests[-1] >= done - 1

    lab.api("DELETE", "accounts/grace%40contoso.com")
    expect(indicator).to_have_text(SIGNED_OUT, timeout=WITHIN_MS)
    shot(page, "events-02-signed-out-elsewhere")
    assert len(frames.accounts_requests) == polls_before + 2

    schemas = frames.schemas()
    assert "urn:jupyter-msal:events:sign_in:v1" in schemas
    assert "urn:jupyter-msal:events:sign_out:v1" in schemas
    text = "\n".join(frames.messages)
    for secret in [
        *emulator.issued_access_tokens,
        *emulator.issued_refresh_tokens,
        *emulator.issued_id_tokens,
        *emulator.issued_device_codes,
    ]:
        assert secret not in text, "a secret reached the page's event stream"
    print(f"status bar updated {seen_after * 1000:.0f} ms after the sign-in finished")


def test_a_sign_in_in_another_page_shows_in_this_one(
    page: Any, browser: Any, lab: Any, emulator: Any, shot: Any
) -> None:
    open_lab(page, lab)
    other = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    try:
        other.goto(f"{lab.url}lab?token={lab.token}")
        expect(other.locator(INDICATOR)).to_have_text(SIGNED_OUT, timeout=60_000)
        # the other page signs in from its own dialog
        other.locator(INDICATOR).click()
        other.locator("#jp-msal-signin").click()
        code = other.locator("#jp-msal-user-code")
        expect(code).not_to_have_value("", timeout=30_000)
        emulator.approve(code.input_value(), "alan@contoso.com")
        expect(other.locator(INDICATOR)).to_have_text("alan@contoso.com", timeout=30_000)
        done = time.monotonic()
        expect(page.locator(INDICATOR)).to_have_text("alan@contoso.com", timeout=WITHIN_MS)
        print(f"the first page followed {(time.monotonic() - done) * 1000:.0f} ms later")
        shot(page, "events-03-signed-in-in-another-page")
    finally:
        other.context.close()
