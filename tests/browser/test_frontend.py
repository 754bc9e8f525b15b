"""End to end: the jupyter-msal front end in JupyterLab 4 and Notebook 7, in headless Chromium,
against a real ``jupyter lab`` server and the Entra ID emulator.

What a user does, checked through the DOM: sign in from the indicator (approving the code at the
emulator's sign-in page), see a sign-in made elsewhere appear without a reload, sign out; the same
in Notebook 7. Every response the page receives is checked for tokens.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from lab_selectors import DIALOG, INDICATOR, PANEL, SIGNED_OUT, USER_CODE
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

pytestmark = pytest.mark.browser



@pytest.fixture(autouse=True)
def clean_state(signed_out_lab: Any) -> None:
    """Every test starts signed out, with no emulator faults."""


def open_lab(page: Any, lab: Any) -> None:
    page.goto(f"{lab.url}lab?token={lab.token}")
    expect(page.locator(INDICATOR)).to_be_visible(timeout=60_000)


def run_from_palette(page: Any, label: str) -> None:
    """Run the command ``label`` from JupyterLab's command palette.

    The modal palette closes when it loses the focus, and its shortcut goes nowhere while the
    page has no focus: a page still settling can do either. So until the search can be typed
    (at most five times): open the palette when it is not open (first giving the page the
    focus when the shortcut did nothing), then type.
    """
    palette = page.locator(".lm-CommandPalette-input")
    for attempt in range(5):
        if not palette.is_visible():
            if attempt:
                page.locator("#jp-main-dock-panel").focus()
            page.keyboard.press("Control+Shift+c")
        try:
            expect(palette).to_be_visible(timeout=3_000)
            palette.fill(label, timeout=3_000)
            break
        except (AssertionError, PlaywrightTimeoutError):
            if attempt == 4:
                raise
    page.locator(".lm-CommandPalette-item", has_text=label).first.click()


def open_tree(page: Any, lab: Any) -> None:
    page.goto(f"{lab.url}tree?token={lab.token}")
    expect(page.locator(INDICATOR)).to_be_visible(timeout=60_000)


def assert_no_tokens(page: Any, emulator: Any) -> None:
    """No response the page received carries an access, refresh or ID token."""
    secrets = (
        list(emulator.issued_access_tokens)
        + list(emulator.issued_refresh_tokens)
        + list(emulator.issued_id_tokens)
    )
    bodies = page.bodies()
    msal = [(url, status) for url, status, _, _ in bodies if "/jupyter-msal/" in url]
    assert msal, "the page made no jupyter-msal request at all?"
    for url, status in msal:
        if re.search(r"/jupyter-msal/token\b", url):
            assert status == 403, f"the page got an answer from {url}"
    for url, _status, content_type, text in bodies:
        for secret in secrets:
            assert secret not in text, f"a token reached the page in {url}"
        if "json" in content_type or "/jupyter-msal/" in url:
            for key in ("access_token", "refresh_token", "id_token"):
                assert f'"{key}"' not in text, f"{key} in {url}"


def test_lab_sign_in_from_indicator(page: Any, lab: Any, emulator: Any, shot: Any) -> None:
    open_lab(page, lab)
    indicator = page.locator(INDICATOR)
    expect(indicator).to_have_text(SIGNED_OUT)
    expect(indicator).to_have_attribute("data-state", "ok")
    # JupyterLab: the indicator lives in the status bar
    expect(page.locator(f"#jp-main-statusbar {INDICATOR}")).to_have_count(1)
    shot(page, "lab-01-signed-out")

    # the panel: no accounts, sign in, and the effective configuration
    indicator.click()
    panel = page.locator(PANEL)
    expect(panel).to_be_visible()
    expect(panel.locator(".jp-msal-no-accounts")).to_be_visible()
    panel.locator("#jp-msal-config summary").click()
    config = panel.locator(".jp-msal-config-list")
    expect(config).to_contain_text(emulator.authority("organizations"))
    expect(config).to_contain_text("04b07795-8ddb-461a-bbee-02f9e1bf7b46")
    expect(config).to_contain_text("NOT encrypted")
    shot(page, "lab-02-panel")

    # the sign-in dialog: code, link, countdown
    panel.locator("#jp-msal-signin").click()
    dialog = page.locator(DIALOG)
    expect(dialog).to_have_attribute("data-phase", "pending")
    code = page.locator(USER_CODE)
    expect(code).not_to_have_value("")
    user_code = code.input_value()
    assert user_code in emulator.pending_user_codes()
    link = page.locator("#jp-msal-verification-link")
    expect(link).to_have_attribute("href", emulator.device_login_url)
    expect(link).to_have_attribute("target", "_blank")
    expect(page.locator("#jp-msal-countdown")).to_have_text(
        re.compile(r"The code expires in 1[45]:\d\d\.")
    )
    # copy button (127.0.0.1 is a secure context: the clipboard API)
    page.locator("#jp-msal-copy-code").click()
    expect(page.locator("#jp-msal-copy-feedback")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == user_code
    shot(page, "lab-03-signin-dialog")

    # the user follows the link and enters the code at the (emulated) Microsoft page
    with page.context.expect_page() as new_tab:
        link.click()
    idp = new_tab.value
    idp.wait_for_load_state()
    assert idp.url.startswith(emulator.device_login_url)
    idp.fill("#user-code", user_code)
    idp.click("#approve")
    expect(idp.locator("#result")).to_contain_text("You are signed in as")
    idp.close()

    # the dialog closes by itself, the indicator names the user, a notification says so
    expect(dialog).to_have_count(0, timeout=30_000)
    expect(indicator).to_have_text(emulator.default_username)
    toast = page.locator(".Toastify__toast").filter(has_text="Signed in to Microsoft as")
    expect(toast).to_be_visible()
    shot(page, "lab-04-signed-in")

    indicator.click()
    account = panel.locator(".jp-msal-account")
    expect(account).to_have_count(1)
    expect(account).to_have_attribute("data-username", emulator.default_username)
    shot(page, "lab-05-panel-signed-in")
    assert_no_tokens(page, emulator)


def test_lab_sign_in_from_outside_appears_without_reload(
    page: Any, lab: Any, emulator: Any, shot: Any
) -> None:
    open_lab(page, lab)
    indicator = page.locator(INDICATOR)
    expect(indicator).to_have_text(SIGNED_OUT)
    page.evaluate("window.__jupyterMsalNoReload = true")

    # a script (or kernel, or `jupyter msal login`) signs in through the REST API
    lab.sign_in(emulator, "grace@contoso.com")
    expect(indicator).to_have_text("grace@contoso.com", timeout=20_000)
    lab.sign_in(emulator, "alan@contoso.com")
    expect(indicator).to_have_text(re.compile(r"@contoso\.com \+1$"), timeout=20_000)
    assert page.evaluate("window.__jupyterMsalNoReload === true"), "the page was reloaded"
    indicator.click()
    names = page.locator(f"{PANEL} .jp-msal-account").evaluate_all(
        "nodes => nodes.map(n => n.dataset.username).sort()"
    )
    assert names == ["alan@contoso.com", "grace@contoso.com"]
    shot(page, "lab-06-two-accounts")

    # ... and a sign-out elsewhere shows up too
    lab.api("DELETE", "accounts/grace%40contoso.com")
    expect(indicator).to_have_text("alan@contoso.com", timeout=20_000)
    assert_no_tokens(page, emulator)


def test_lab_sign_out(page: Any, lab: Any, emulator: Any, shot: Any) -> None:
    lab.sign_in(emulator, "grace@contoso.com")
    lab.sign_in(emulator, "alan@contoso.com")
    open_lab(page, lab)
    indicator = page.locator(INDICATOR)
    expect(indicator).to_have_text(re.compile(r"\+1$"))
    indicator.click()
    panel = page.locator(PANEL)
    grace = panel.locator('.jp-msal-account[data-username="grace@contoso.com"]')
    grace.locator(".jp-msal-signout").click()
    expect(grace).to_have_count(0)
    expect(indicator).to_have_text("alan@contoso.com")
    accounts = lab.api("GET", "accounts")["accounts"]
    assert [a["username"] for a in accounts] == ["alan@contoso.com"]

    # sign out of all (asks first when several accounts are signed in)
    lab.sign_in(emulator, "grace@contoso.com")
    expect(indicator).to_have_text(re.compile(r"\+1$"), timeout=20_000)
    if not panel.is_visible():
        indicator.click()
    panel.locator("#jp-msal-signout-all").click()
    confirm = page.locator(".jp-Dialog").filter(has_text="Sign out of")
    expect(confirm).to_be_visible()
    shot(page, "lab-07-sign-out-all-confirm")
    confirm.locator("button.jp-mod-warn").click()
    expect(indicator).to_have_text(SIGNED_OUT)
    assert lab.api("GET", "accounts")["accounts"] == []
    shot(page, "lab-08-signed-out-again")
    assert_no_tokens(page, emulator)


def test_lab_declined_and_cancelled_sign_in(page: Any, lab: Any, emulator: Any, shot: Any) -> None:
    open_lab(page, lab)
    run_from_palette(page, "Sign in to Microsoft")

    dialog = page.locator(DIALOG)
    expect(dialog).to_have_attribute("data-phase", "pending")
    user_code = page.locator(USER_CODE).input_value()
    emulator.decline(user_code)
    expect(dialog).to_have_attribute("data-phase", "failed", timeout=20_000)
    problem = page.locator("#jp-msal-signin-problem")
    expect(problem).to_have_attribute("data-kind", "declined")
    expect(problem).to_contain_text("declined")
    expect(page.locator(".jp-msal-dialog-cancel")).to_have_text("Close")
    shot(page, "lab-09-declined")

    # start again in the same dialog, then cancel: the server forgets the flow
    page.locator("#jp-msal-signin-retry").click()
    expect(dialog).to_have_attribute("data-phase", "pending")
    second = page.locator(USER_CODE)
    expect(second).not_to_have_value(user_code)
    flow_ids = [f["id"] for f in lab.api("GET", "sign-ins")["sign_ins"] if f["state"] == "pending"]
    assert len(flow_ids) == 1
    page.locator(".jp-msal-dialog-cancel").click()
    expect(dialog).to_have_count(0)
    flow = lab.api("GET", f"sign-ins/{flow_ids[0]}")
    assert flow["state"] == "cancelled"
    expect(page.locator(INDICATOR)).to_have_text(SIGNED_OUT)


def test_lab_blocked_by_policy_in_words(page: Any, lab: Any, emulator: Any, shot: Any) -> None:
    """Conditional Access (AADSTS53003) at the token endpoint: the dialog says so in words."""
    open_lab(page, lab)
    page.locator(INDICATOR).click()
    page.locator("#jp-msal-signin").click()
    dialog = page.locator(DIALOG)
    expect(dialog).to_have_attribute("data-phase", "pending")
    user_code = page.locator(USER_CODE).input_value()
    emulator.inject_aadsts(
        53003,
        error="access_denied",
        description="AADSTS53003: Access has been blocked by Conditional Access policies.",
        count=None,
    )
    emulator.approve(user_code)
    # the device code is refused: the same sign-in moves on to the browser, where the policy
    # (still in force at the token endpoint) refuses the authorization code too
    expect(dialog).to_have_attribute("data-method", "auth_code", timeout=20_000)
    with page.context.expect_page() as new_tab:
        page.locator("#jp-msal-open-sign-in").click()
    new_tab.value.wait_for_load_state()
    new_tab.value.close()
    expect(dialog).to_have_attribute("data-phase", "failed", timeout=20_000)
    problem = page.locator("#jp-msal-signin-problem")
    expect(problem).to_have_attribute("data-kind", "policy")
    expect(problem).to_contain_text("Blocked by your organization")
    shot(page, "lab-11-blocked-by-policy")
    page.locator(".jp-msal-dialog-cancel").click()
    expect(dialog).to_have_count(0)
    expect(page.locator(INDICATOR)).to_have_text(SIGNED_OUT)


def test_copy_fallback_outside_a_secure_context(
    page: Any, lab: Any, emulator: Any, shot: Any
) -> None:
    """Where the clipboard API is unavailable (plain http to a remote host), the code is
    selected in a read-only input and copied with execCommand."""
    page.add_init_script(
        "Object.defineProperty(window, 'isSecureContext', {get: () => false});"
    )
    open_lab(page, lab)
    assert page.evaluate("window.isSecureContext") is False
    page.locator(INDICATOR).click()
    page.locator("#jp-msal-signin").click()
    code = page.locator(USER_CODE)
    expect(code).not_to_have_value("")
    user_code = code.input_value()
    expect(code).to_have_attribute("readonly", "readonly")
    page.locator("#jp-msal-copy-code").click()
    feedback = page.locator("#jp-msal-copy-feedback")
    expect(feedback).to_have_attribute("data-outcome", re.compile("execCommand|manual"))
    selected = page.evaluate(
        "() => { const i = document.querySelector('#jp-msal-user-code');"
        " return i.value.substring(i.selectionStart, i.selectionEnd); }"
    )
    assert selected == user_code
    shot(page, "lab-10-copy-fallback")
    if feedback.get_attribute("data-outcome") == "execCommand":
        assert page.evaluate("navigator.clipboard.readText()") == user_code
    # approving through the emulator's API also works while the dialog is open
    emulator.approve(user_code)
    expect(page.locator(DIALOG)).to_have_count(0, timeout=30_000)
    expect(page.locator(INDICATOR)).to_have_text(emulator.default_username)


def test_notebook7_sign_in_and_out(page: Any, lab: Any, emulator: Any, shot: Any) -> None:
    open_tree(page, lab)
    indicator = page.locator(INDICATOR)
    expect(indicator).to_have_text(SIGNED_OUT)
    # Notebook 7 has no status bar: the indicator is in the top bar
    expect(page.locator(f"#top-panel {INDICATOR}")).to_have_count(1)
    shot(page, "nb7-01-tree-signed-out")

    indicator.click()
    page.locator(f"{PANEL} #jp-msal-signin").click()
    dialog = page.locator(DIALOG)
    expect(dialog).to_have_attribute("data-phase", "pending")
    user_code = page.locator(USER_CODE).input_value()
    shot(page, "nb7-02-signin-dialog")
    emulator.approve(user_code, "grace@contoso.com")
    expect(dialog).to_have_count(0, timeout=30_000)
    expect(indicator).to_have_text("grace@contoso.com")
    shot(page, "nb7-03-signed-in")

    # a sign-in from elsewhere appears without reload
    lab.sign_in(emulator, "alan@contoso.com")
    expect(indicator).to_have_text(re.compile(r"@contoso\.com \+1$"), timeout=20_000)

    indicator.click()
    panel = page.locator(PANEL)
    expect(panel.locator(".jp-msal-account")).to_have_count(2)
    shot(page, "nb7-04-panel")
    panel.locator('.jp-msal-account[data-username="grace@contoso.com"] .jp-msal-signout').click()
    expect(indicator).to_have_text("alan@contoso.com")
    expect(panel.locator("#jp-msal-signout-all")).to_have_count(0)  # one account left
    panel.locator('.jp-msal-account[data-username="alan@contoso.com"] .jp-msal-signout').click()
    expect(indicator).to_have_text(SIGNED_OUT)
    expect(panel.locator(".jp-msal-no-accounts")).to_be_visible()
    assert lab.api("GET", "accounts")["accounts"] == []
    shot(page, "nb7-05-signed-out")
    assert_no_tokens(page, emulator)


def test_page_never_asks_for_tokens(page: Any, lab: Any, emulator: Any) -> None:
    """Cookie-authenticated requests to POST token are refused (defence in depth), and the
    tokens a kernel-side client obtained never show up in anything the page loads."""
    lab.sign_in(emulator)
    # a script with the API token may fetch a token (this is what kernels do)
    token = lab.api("POST", "token", json={"scopes": ["https://storage.azure.com/.default"]})
    assert token["access_token"] in emulator.issued_access_tokens
    open_lab(page, lab)
    expect(page.locator(INDICATOR)).to_have_text(emulator.default_username)
    answer = page.evaluate(
        """async () => {
            const xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || '';
            const r = await fetch('/jupyter-msal/token', {
                method: 'POST', credentials: 'same-origin',
                headers: {'Content-Type': 'application/json',
                          'X-XSRFToken': decodeURIComponent(xsrf)},
                body: JSON.stringify({scopes: ['https://storage.azure.com/.default']})
            });
            return {status: r.status, body: await r.text()};
        }"""
    )
    assert answer["status"] == 403, answer
    assert "access_token" not in json.loads(answer["body"])
    page.locator(INDICATOR).click()
    expect(page.locator(f"{PANEL} .jp-msal-account")).to_have_count(1)
    assert_no_tokens(page, emulator)
