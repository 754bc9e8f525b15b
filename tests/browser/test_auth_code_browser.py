"""End to end in headless Chromium: sign-in in the browser (authorization code).

JupyterLab: the dialog's button opens the emulator's sign-in page in a new tab, the redirect
reaches the flow's loopback listener, the tab says "Signed in", the dialog closes and the
account shows. Notebook 7: a default sign-in whose device code the emulator blocks carries on
in the browser and completes.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from lab_selectors import DIALOG, INDICATOR, PANEL
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

OPEN = "#jp-msal-open-sign-in"


@pytest.fixture(autouse=True)
def clean_state(signed_out_lab: Any, emulator: Any) -> Any:
    """Every test starts signed out, with the sign-in page a person sees."""
    emulator.unblock_sign_in()
    emulator.auth_code_sign_in_page = True  # the page a person sees
    yield
    emulator.unblock_sign_in()
    emulator.auth_code_sign_in_page = False


def front_end_method(lab: Any, method: str) -> None:
    """The front end's sign-in method setting, as a user would set it (read at page load)."""
    folder = lab.log_path.parent / "settings" / "jupyter-msal"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.jupyterlab-settings").write_text(json.dumps({"signInMethod": method}))


def sign_in_at_the_emulator(page: Any, shot: Any, name: str, username: str) -> None:
    """Click the dialog's button, sign in on the emulator's page in the new tab."""
    with page.context.expect_page() as new_tab:
        page.locator(OPEN).click()
    idp = new_tab.value
    idp.wait_for_load_state()
    expect(idp.locator("#sign-in")).to_be_visible()
    idp.fill("#username", username)
    shot(idp, f"{name}-emulator-page")
    idp.click("#sign-in")
    expect(idp.locator("#title")).to_have_text("Signed in")
    expect(idp.locator("#message")).to_contain_text("you can close this tab")
    assert idp.url.startswith("http://localhost:")
    shot(idp, f"{name}-signed-in-tab")
    idp.close()


def test_lab_sign_in_in_the_browser(page: Any, lab: Any, emulator: Any, shot: Any) -> None:
    front_end_method(lab, "auth_code")
    page.goto(f"{lab.url}lab?token={lab.token}")
    indicator = page.locator(INDICATOR)
    expect(indicator).to_be_visible(timeout=60_000)
    indicator.click()
    page.locator(f"{PANEL} #jp-msal-signin").click()
    dialog = page.locator(DIALOG)
    expect(dialog).to_have_attribute("data-phase", "pending")
    expect(dialog).to_have_attribute("data-method", "auth_code")
    button = page.locator(OPEN)
    expect(button).to_be_visible()
    expect(button).to_have_attribute("target", "_blank")
    assert button.get_attribute("href").startswith(f"{emulator.url}/organizations/")
    expect(page.locator("#jp-msal-paste-address")).to_be_visible()
    expect(page.locator("#jp-msal-user-code")).to_be_hidden()
    shot(page, "auth-code-01-lab-dialog")

    sign_in_at_the_emulator(page, shot, "auth-code-02-lab", "ada@contoso.com")
    expect(dialog).to_have_count(0, timeout=30_000)
    expect(indicator).to_have_text("ada@contoso.com")
    shot(page, "auth-code-03-lab-signed-in")
    assert [a["username"] for a in lab.api("GET", "accounts")["accounts"]] == ["ada@contoso.com"]


def test_notebook7_blocked_device_code_goes_on_in_the_browser(
    page: Any, lab: Any, emulator: Any, shot: Any
) -> None:
    front_end_method(lab, "auto")
    emulator.block_sign_in("device_code", 53003)
    page.goto(f"{lab.url}tree?token={lab.token}")
    indicator = page.locator(INDICATOR)
    expect(indicator).to_be_visible(timeout=60_000)
    indicator.click()
    page.locator(f"{PANEL} #jp-msal-signin").click()
    dialog = page.locator(DIALOG)
    # first a device code, which the user enters and the policy refuses; the same dialog then
    # moves on to the browser
    code = page.locator("#jp-msal-user-code")
    expect(code).not_to_have_value("")
    emulator.approve(code.input_value())
    expect(dialog).to_have_attribute("data-method", "auth_code", timeout=30_000)
    expect(page.locator(OPEN)).to_be_visible()
    expect(dialog.locator(".jp-msal-note")).to_contain_text("AADSTS53003")
    shot(page, "auth-code-04-nb7-fallback-dialog")

    sign_in_at_the_emulator(page, shot, "auth-code-05-nb7", "grace@contoso.com")
    expect(dialog).to_have_count(0, timeout=30_000)
    expect(indicator).to_have_text("grace@contoso.com")
    shot(page, "auth-code-06-nb7-signed-in")


def test_cell_prompt_takes_a_pasted_address(page: Any, lab: Any, emulator: Any, shot: Any) -> None:
    """In a notebook: %msal_login --method auth_code shows the link; the redirect does not
    reach the listener (the user's browser is elsewhere), so the user pastes the address into
    the prompt, whose button hands it to the server while the cell waits."""
    emulator.auth_code_sign_in_page = False
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "c1",
                "metadata": {},
                "outputs": [],
                "source": "%load_ext jupyter_msal\n%msal_login --method auth_code",
            }
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    lab.session.put(
        f"{lab.url}api/contents/paste.ipynb",
        headers={"Authorization": f"token {lab.token}"},
        json={"type": "notebook", "format": "json", "content": notebook},
        timeout=30,
    ).raise_for_status()
    lab.session.post(  # a kernel for it already, so Lab does not ask which one
        f"{lab.url}api/sessions",
        headers={"Authorization": f"token {lab.token}"},
        json={"path": "paste.ipynb", "type": "notebook", "name": "", "kernel": {"name": "python3"}},
        timeout=60,
    ).raise_for_status()
    page.goto(f"{lab.url}lab/tree/paste.ipynb?token={lab.token}")
    cell = page.locator(".jp-Notebook .jp-Cell").first
    expect(cell).to_be_visible(timeout=60_000)
    expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(
        1, timeout=60_000
    )
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")

    select = page.locator(".jp-Dialog").get_by_role("button", name="Select")
    try:  # Lab may still ask for the kernel (Python 3) at the first run
        select.click(timeout=10_000)
    except PlaywrightTimeout:
        pass
    prompt = page.locator(".jupyter-msal-prompt a.jupyter-msal-sign-in")
    expect(prompt).to_be_visible(timeout=30_000)
    link = prompt.get_attribute("href")
    location = emulator.http_session().get(link, allow_redirects=False).headers["Location"]
    box = page.locator(".jupyter-msal-prompt input")
    box.fill(location)
    shot(page, "auth-code-07-cell-paste")
    page.locator(".jupyter-msal-prompt button").click()
    expect(page.locator(".jp-OutputArea-output").filter(has_text="Signed in as")).to_be_visible(
        timeout=30_000
    )
    shot(page, "auth-code-08-cell-signed-in")
    assert [a["username"] for a in lab.api("GET", "accounts")["accounts"]] == ["ada@contoso.com"]
