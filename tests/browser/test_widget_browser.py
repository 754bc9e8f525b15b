"""The login widget in a real JupyterLab page: its buttons show their whole label and the
sign-in link opens the identity provider's page in a new tab."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

NOTEBOOK = "login-widget.ipynb"
CELL = "import jupyter_msal\nw = jupyter_msal.LoginWidget(poll_interval=0.5)\nw"


@pytest.fixture
def widget_notebook(lab: Any, emulator: Any) -> Any:
    """A notebook holding the widget cell, with one account already signed in."""
    lab.sign_out_all()
    emulator.auto_approve = None
    lab.sign_in(emulator, "ada@contoso.com")
    content = {
        "cells": [{"cell_type": "code", "metadata": {}, "source": CELL, "outputs": [],
                   "execution_count": None}],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                           "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4, "nbformat_minor": 5,
    }  # fmt: skip
    response = lab.session.put(
        f"{lab.url}api/contents/{NOTEBOOK}",
        headers={"Authorization": f"token {lab.token}"},
        data=json.dumps({"type": "notebook", "format": "json", "content": content}),
        timeout=30,
    )
    response.raise_for_status()
    yield NOTEBOOK
    lab.sign_out_all()


def _not_cut(locator: Any) -> bool:
    """True when the element's text fits in its box (no ellipsis, no clipping)."""
    return bool(locator.evaluate("el => el.scrollWidth <= el.clientWidth + 1"))


def test_widget_buttons_and_link(page: Any, lab: Any, emulator: Any, widget_notebook: str,
                                 shot: Any) -> None:  # fmt: skip
    page.goto(f"{lab.url}lab/tree/{widget_notebook}?token={lab.token}")
    editor = page.locator(".jp-Notebook .jp-Cell .cm-content").first
    expect(editor).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible(timeout=60_000)
    kernel_dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    if kernel_dialog.count():  # JupyterLab may still ask, although the notebook names one
        kernel_dialog.locator("button", has_text="Select").click()
    editor.click()
    page.keyboard.press("Shift+Enter")

    widget = page.locator(".jupyter-msal-login")
    expect(widget).to_be_visible(timeout=60_000)
    sign_in = widget.locator("button", has_text="Sign in another account")
    expect(sign_in).to_be_visible(timeout=30_000)
    sign_out = widget.locator("button", has_text="Sign out")
    expect(sign_out).to_be_visible()
    for button in (sign_in, sign_out):
        assert _not_cut(button), button.inner_text()
    shot(page, "widget-01-signed-in")

    sign_in.click()
    link = widget.locator("a[href$='/devicelogin']")
    expect(link).to_be_visible(timeout=30_000)
    assert link.get_attribute("target") == "_blank"
    assert "noopener" in (link.get_attribute("rel") or "")
    # It looks like a link too (JupyterLab's reset styles would make it plain text).
    assert "underline" in link.evaluate("el => getComputedStyle(el).textDecorationLine")
    assert link.evaluate("el => getComputedStyle(el).cursor") == "pointer"
    cancel = widget.locator("button", has_text="Cancel")
    expect(cancel).to_be_visible()
    assert _not_cut(cancel)
    shot(page, "widget-02-prompt")

    with page.context.expect_page(timeout=30_000) as opened:
        link.click()
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url.endswith("/devicelogin")
    expect(tab.locator("#user-code")).to_be_visible()
    tab.close()

    cancel.click()
    expect(widget).to_contain_text("Sign-in cancelled.", timeout=30_000)
