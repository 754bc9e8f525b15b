"""A sign-in in a terminal: the plain-text prompt, the browser, and the pasted address.

``jupyter msal login`` (and ``token`` when it must sign in) print the prompt on stderr. For a
sign-in in the browser they open the link where a browser exists, and read lines from stdin
meanwhile: a line holding the address the browser ended on completes the sign-in (for a
browser that cannot reach the redirect). The browser's command line never holds the sign-in
link itself: it gets the flow's one-use local start page, or a page in a private file. A
device-code sign-in that moves on to the browser prints the new step.
"""

from __future__ import annotations

import atexit
import html
import os
import shutil
import sys
import tempfile
import threading
import webbrowser
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from ..client.prompt_text import render_browser_text, render_device_code_text
from ..errors import JupyterMsalError

__all__ = ["wait_in_terminal"]


class _Paste:
    """Reads pasted addresses from stdin in a daemon thread and completes the sign-in."""

    def __init__(self, client: Any, flow_id: str, stdin: IO[str], err: IO[str]) -> None:
        self.client, self.flow_id, self.stdin, self.err = client, flow_id, stdin, err
        threading.Thread(target=self._read, name="jupyter-msal-paste", daemon=True).start()

    def _read(self) -> None:
        for line in iter(self.stdin.readline, ""):
            text = line.strip()
            if not text:
                continue
            try:
                self.client.complete_sign_in(self.flow_id, text)
                return
            except JupyterMsalError as error:
                self.err.write(f"That address did not work: {error}\n")
                self.err.flush()


def _open_browser(flow: Mapping[str, Any], err: IO[str]) -> None:
    """Open the browser on ``flow``'s sign-in where this terminal has one (never in pipes or
    scripts).

    The address goes on the browser's command line, which every local user can read: it
    holds no secret (see :func:`_browser_address`).
    """
    if not (err.isatty() and sys.stdin.isatty()):
        return
    try:
        if webbrowser.open(_browser_address(flow), new=2):
            err.write("(Opened in your browser.)\n")
    except webbrowser.Error:
        pass


def _browser_address(flow: Mapping[str, Any]) -> str:
    """What the browser is opened on: the flow's one-use local start page, or else a private
    page in a file only this user can read; either sends it on to the sign-in link (whose
    state and PKCE challenge must stay off command lines)."""
    if flow.get("start_url"):
        return str(flow["start_url"])
    folder = Path(tempfile.mkdtemp(prefix="jupyter-msal-"))  # 0700
    atexit.register(shutil.rmtree, folder, True)
    page = folder / "sign-in.html"
    target = html.escape(str(flow["sign_in_url"]), quote=True)
    descriptor = os.open(page, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(
            f'<!DOCTYPE html><meta charset="utf-8"><meta name="referrer" content="no-referrer">'
            f'<meta http-equiv="refresh" content="0;url={target}"><a href="{target}">Sign in</a>'
        )
    return page.as_uri()


class _TerminalPrompt:
    def __init__(self, client: Any, stdin: IO[str], err: IO[str]) -> None:
        self.client, self.stdin, self.err = client, stdin, err
        self.step: tuple[Any, ...] = ()
        self.paste: _Paste | None = None

    def show(self, flow: Mapping[str, Any]) -> None:
        step = (flow.get("method"), flow.get("sign_in_url"), flow.get("user_code"))
        if step == self.step or flow.get("state", "pending") != "pending":
            return
        self.step = step
        if flow.get("sign_in_url"):
            self.err.write(render_browser_text(flow) + "\n")
            _open_browser(flow, self.err)
            if self.paste is None:
                self.paste = _Paste(self.client, str(flow["id"]), self.stdin, self.err)
        else:
            self.err.write(render_device_code_text(flow) + "\n")
        self.err.flush()


def wait_in_terminal(
    client: Any,
    flow: Mapping[str, Any],
    *,
    stdin: IO[str] | None = None,
    err: IO[str] | None = None,
) -> Any:
    """Show ``flow``'s prompt on ``err``, follow its steps, and wait; returns the account."""
    prompt = _TerminalPrompt(client, stdin or sys.stdin, err or sys.stderr)
    prompt.show(flow)
    return client.wait_for_sign_in(flow, on_update=prompt.show)
