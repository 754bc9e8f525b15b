"""``LoginWidget`` at the model level: its states, traits and buttons, against a real server."""

from __future__ import annotations

import time
from typing import Any

from kernel_helpers import ADA, JupyterServer, approve_when_pending, wait_for_new_code

import jupyter_msal
from jupyter_msal.kernel.client import ServerClient
from jupyter_msal.models import Account


def _until(predicate: Any, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def _visible(widget: Any) -> bool:
    return widget.layout.display != "none"


def test_signed_out_prompt_signed_in_and_sign_out(
    signed_out: JupyterServer, emulator: Any, in_process_client: Any
) -> None:
    w = jupyter_msal.LoginWidget(poll_interval=0.2)
    seen: list[Any] = []
    w.observe(lambda change: seen.append(change["new"]), names="account")

    assert w.state == "signed_out" and w.account is None and w.username == ""
    assert "Nobody is signed in" in w._message.value
    assert not _visible(w._prompt_box) and w._sign_in_button.description == "Sign in"

    known = set(emulator.pending_user_codes())
    w._sign_in_button.click()
    assert w.state == "prompt"
    code = wait_for_new_code(emulator, known)
    assert code in w._prompt_html.value and "execCommand('copy')" in w._prompt_html.value
    assert "<script>" not in w._prompt_html.value  # the widget counts down from the kernel
    assert w._countdown.value.startswith("The code expires in 1")  # 15:00 or 14:59
    assert _visible(w._prompt_box) and w._sign_in_button.disabled
    assert w.flow["user_code"] == code and w.flow["state"] == "pending"
    w._sign_in_button.click()  # a second click while the prompt shows does nothing
    assert emulator.pending_user_codes().count(code) == 1 and w.flow["user_code"] == code

    emulator.approve(code, username=ADA)
    assert w.wait(15) == "signed_in"
    assert isinstance(w.account, Account) and w.account.username == ADA
    assert w.username == ADA and seen == [w.account]
    assert [a.username for a in w.accounts] == [ADA]
    assert not _visible(w._prompt_box) and not w._sign_in_button.disabled
    assert "Signed in as <b>ada@contoso.com</b>" in w._message.value
    (row,) = w._accounts_box.children
    label, sign_out = row.children
    assert ADA in label.value and sign_out.description == "Sign out"
    assert w._sign_in_button.description == "Sign in another account"
    # Tokens are one call away for everyone else in the kernel.
    assert jupyter_msal.get_token("https://storage.azure.com/.default", sign_in=False)

    sign_out.click()
    assert w.state == "signed_out" and w.account is None and w.username == ""
    assert seen[-1] is None
    assert signed_out.request("GET", "jupyter-msal/accounts")["accounts"] == []
    assert "Signed out of ada@contoso.com" in w._message.value


def test_declined_sign_in_is_an_error_in_words(
    signed_out: JupyterServer, emulator: Any, in_process_client: Any
) -> None:
    w = jupyter_msal.LoginWidget(poll_interval=0.2)
    known = set(emulator.pending_user_codes())
    w.sign_in()
    emulator.decline(wait_for_new_code(emulator, known))
    assert w.wait(15) == "error"
    assert w.error.startswith("The sign-in was declined.")
    assert "The sign-in was declined." in w._message.value
    assert not _visible(w._prompt_box) and not w._sign_in_button.disabled
    assert w.account is None


def test_cancel_button(signed_out: JupyterServer, emulator: Any, in_process_client: Any) -> None:
    w = jupyter_msal.LoginWidget(poll_interval=0.2)
    known = set(emulator.pending_user_codes())
    w.sign_in()
    code = wait_for_new_code(emulator, known)
    w._cancel_button.click()
    assert w.state == "cancelled" and w.wait(1) == "cancelled"
    assert w._message.value == "Sign-in cancelled." and not _visible(w._prompt_box)
    flows = signed_out.request("GET", "jupyter-msal/sign-ins")["sign_ins"]
    assert [f["state"] for f in flows if f["user_code"] == code] == ["cancelled"]
    # The watcher thread saw the cancellation and left the state alone.
    time.sleep(0.5)
    assert w.state == "cancelled"

    # Signing in again after a cancel works.
    approver = approve_when_pending(emulator)
    w.sign_in()
    assert w.wait(15) == "signed_in" and w.username == ADA
    approver.join(5)


def test_refresh_sees_sign_ins_from_elsewhere(
    signed_out: JupyterServer, emulator: Any, in_process_client: Any
) -> None:
    w = jupyter_msal.LoginWidget()
    assert w.state == "signed_out"
    approver = approve_when_pending(emulator, username="grace@contoso.com")
    jupyter_msal.login()  # e.g. from another cell, a terminal or the JupyterLab UI
    approver.join(5)
    w.refresh()
    assert w.state == "signed_in" and w.username == "grace@contoso.com"
    removed = w.sign_out("grace@contoso.com")
    assert [a.username for a in removed] == ["grace@contoso.com"] and w.state == "signed_out"


def test_unreachable_server_is_an_error_state() -> None:
    w = jupyter_msal.LoginWidget(client=ServerClient("http://127.0.0.1:9/", "secret"))
    assert w.state == "error"
    assert w.error.startswith("The Jupyter server at http://127.0.0.1:9/ cannot be reached")
    assert "restart this kernel" in w.error
