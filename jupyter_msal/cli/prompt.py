"""A sign-in in a terminal: the plain-text prompt, the browser, and the pasted address.

``jupyter msal login`` (and ``token`` when it must sign in) print the prompt on stderr. For a
sign-in in the browser they open the link where a browser exists, and read lines from stdin
meanwhile: a line holding the address the browser ended on completes the sign-in (for a
browser that cannot reach the redirect). A device-code sign-in that moves on to the browser
prints the new step.
"""

from __future__ import annotations

import sys
import threading
import webbrowser
from collections.abc import Mapping
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


def _open_browser(url: str, err: IO[str]) -> None:
    """Open ``url`` where this terminal has a browser (never in pipes or scripts)."""
    if not (err.isatty() and sys.stdin.isatty()):
        return
    try:
        if webbrowser.open(url, new=2):
            err.write("(Opened in your browser.)\n")
    except webbrowser.Error:
        pass


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
            _open_browser(str(flow["sign_in_url"]), self.err)
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
