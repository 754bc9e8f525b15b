"""End to end: JupyterLab on a server whose jupyter-msal could not start says why.

The ``lab`` server of this module is started with ``JUPYTER_MSAL_AUTHORITY`` set to an http://
URL: the extension loads inactive, and the panel shows the server's reason instead of "the
server extension does not answer. Is it installed and enabled?".
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

BAD_AUTHORITY = "http://login.example.com/organizations"
REASON = "jupyter-msal is not active on this server: JupyterMsal.authority"


@pytest.fixture(scope="module")
def lab_extra_env() -> dict[str, str]:
    return {"JUPYTER_MSAL_AUTHORITY": BAD_AUTHORITY}


def test_lab_panel_shows_why_jupyter_msal_is_inactive(page: Any, lab: Any, shot: Any) -> None:
    page.goto(f"{lab.url}lab?token={lab.token}")
    indicator = page.locator("#jp-msal-indicator")
    expect(indicator).to_be_visible(timeout=60_000)
    expect(indicator).to_have_text("Microsoft sign-in unavailable", timeout=30_000)
    indicator.click()
    banner = page.locator("#jp-msal-panel .jp-msal-sync-problem")
    expect(banner).to_contain_text(REASON)
    expect(banner).to_contain_text(BAD_AUTHORITY)
    expect(page.locator("#jp-msal-panel")).not_to_contain_text("installed")
    shot(page, "lab-inactive-panel")
