"""``LoginWidget`` at the model level: its states, traits and buttons, against a real server."""

from __future__ import annotations

from typing import Any

import ipywidgets

import jupyter_msal
from jupyter_msal.client import ServerClient
from jupyter_msal.models import Account
from jupyter_msal.testing import DEFAULT_USERNAME as ADA
from jupyter_msal.testing import EntraEmulator
from jupyter_msal.testing.server import JupyterServerProcess as JupyterServer


def _shown(widget: Any) -> list[Any]:
    """Every widget a user sees inside ``widget`` (hidden boxes and their children excluded)."""
    if getattr(widget.layout, "display", None) == "none":
        return []
    found = [widget]
    for child in getattr(widget, "children", ()):
        found += _shown(child)
    return found


def _text(widget: Any) -> str:
    """The text a user sees: labels, HTML and button captions."""
    parts = []
    for w in _shown(widget):
        if isinstance(w, ipywidgets.Button):
            parts.append(w.description)
        elif isinstance(w, (ipywidgets.HTML, ipywidgets.Label)):
            parts.append(w.value)
    return "\n".join(parts)


def _button(widget: Any, description: str) -> Any:
    """The visible button with this caption (exactly one)."""
    (match,) = [
        w
        for w in _shown(widget)
        if isinstance(w, ipywidgets.Button) and w.description == description
    ]
    return match


def test_signed_out_prompt_signed_in_and_sign_out(
    signed_out: JupyterServer, emulator: EntraEmulator, in_process_client: Any
) -> None:
    w = jupyter_msal.LoginWidget(poll_interval=0.2)
    seen: list[Any] = []
    w.observe(lambda change: seen.append(change["new"]), names="account")

    assert w.state == "signed_out" and w.account is None and w.username == ""
    assert "Nobody is signed in" in _text(w)
    assert "Cancel" not in _text(w)
    sign_in = _button(w, "Sign in")

    known = set(emulator.pending_user_codes())
    sign_in.click()
    assert w.state == "prompt"
    code = emulator.wait_for_user_code(30, exclude=known)
    shown = _text(w)
    assert code in shown and "execCommand('copy')" in shown
    assert "<script>" not in shown  # the widget counts down from the kernel
    assert "The code expires in 1" in shown  # 15:00 or 14:59
    assert _button(w, "Cancel") and sign_in.disabled
    assert w.flow["user_code"] == code and w.flow["state"] == "pending"
    sign_in.click()  # a second click while the prompt shows does nothing
    assert emulator.pending_user_codes().count(code) == 1 and w.flow["user_code"] == code

    emulator.approve(code, username=ADA)
    assert w.wait(15) == "signed_in"
    assert isinstance(w.account, Account) and w.account.username == ADA
    assert w.username == ADA and seen == [w.account]
    assert [a.username for a in w.accounts] == [ADA]
    assert "Cancel" not in _text(w) and not sign_in.disabled
    assert "Signed in as <b>ada@contoso.com</b>" in _text(w)
    assert f"<b>{ADA}</b>" in _text(w)
    sign_out = _button(w, "Sign out")
    assert _button(w, "Sign in another account") is sign_in
    # Tokens are one call away for everyone else in the kernel.
    assert jupyter_msal.get_token("https://storage.azure.com/.default", sign_in=False)

    sign_out.click()
    assert w.state == "signed_out" and w.account is None and w.username == ""
    assert seen[-1] is None
    assert signed_out.request("GET", "jupyter-msal/accounts")["accounts"] == []
    assert "Signed out of ada@contoso.com" in _text(w)
    assert _button(w, "Sign in") is sign_in


def test_declined_sign_in_is_an_error_in_words(
    signed_out: JupyterServer, emulator: EntraEmulator, in_process_client: Any
) -> None:
    w = jupyter_msal.LoginWidget(poll_interval=0.2)
    known = set(emulator.pending_user_codes())
    w.sign_in()
    emulator.decline(emulator.wait_for_user_code(30, exclude=known))
    assert w.wait(15) == "error"
    assert w.error.startswith("The sign-in was declined.")
    assert "The sign-in was declined." in _text(w)
    assert "Cancel" not in _text(w) and not _button(w, "Sign in").disabled
    assert w.account is None


def test_cancel_button(
    signed_out: JupyterServer, emulator: EntraEmulator, in_process_client: Any
) -> None:
    w = jupyter_msal.LoginWidget(poll_interval=0.2)
    known = set(emulator.pending_user_codes())
    w.sign_in()
    code = emulator.wait_for_user_code(30, exclude=known)
    _button(w, "Cancel").click()
    assert w.state == "cancelled" and w.wait(1) == "cancelled"
    assert "Sign-in cancelled." in _text(w) and "Cancel" not in _text(w)
    flows = signed_out.request("GET", "jupyter-msal/sign-ins")["sign_ins"]
    assert [f["state"] for f in flows if f["user_code"] == code] == ["cancelled"]

    # Signing in again after a cancel works.
    approval = emulator.approve_next()
    w.sign_in()
    assert w.wait(15) == "signed_in" and w.username == ADA
    approval.wait(5)


def test_refresh_sees_sign_ins_from_elsewhere(
    signed_out: JupyterServer, emulator: EntraEmulator, in_process_client: Any
) -> None:
    w = jupyter_msal.LoginWidget()
    assert w.state == "signed_out"
    approval = emulator.approve_next("grace@contoso.com")
    jupyter_msal.login()  # e.g. from another cell, a terminal or the JupyterLab UI
    approval.wait(5)
    w.refresh()
    assert w.state == "signed_in" and w.username == "grace@contoso.com"
    removed = w.sign_out("grace@contoso.com")
    assert [a.username for a in removed] == ["grace@contoso.com"] and w.state == "signed_out"


def test_unreachable_server_is_an_error_state() -> None:
    w = jupyter_msal.LoginWidget(client=ServerClient("http://127.0.0.1:9/", "secret"))
    assert w.state == "error"
    assert w.error.startswith("The Jupyter server at http://127.0.0.1:9/ cannot be reached")
    assert "restart this kernel" in w.error
