"""The sign-in prompt a cell shows while it waits: HTML with a copy button and a countdown,
and a plain-text form for terminals, logs and front ends without HTML.

The copy button works on plain-HTTP servers too: ``navigator.clipboard`` exists only in
secure contexts, so the button falls back to selecting a read-only ``<input>`` and
``document.execCommand('copy')`` (``js/copy_button.js``). The countdown runs in the browser from
the number of seconds left when the prompt was drawn, so clock differences between kernel and
browser do not matter (``js/countdown.js``).
"""

from __future__ import annotations

import html
import sys
import time
import uuid
from collections.abc import Mapping
from typing import Any

from ..client.prompt_text import tenant_note
from .browser_prompt import render_browser_html, render_browser_text
from .scripts import onclick_attribute, script_element

__all__ = [
    "SignInPrompt",
    "format_remaining",
    "render_code_html",
    "render_done_html",
    "render_html",
    "render_text",
]

#: JupyterLab resets the look of links outside rendered Markdown and HTML outputs (the
#: ipywidgets HTML widget among them): say it is a link wherever the prompt is shown.
_LINK_STYLE = "color:var(--jp-content-link-color,#1976d2);text-decoration:underline;cursor:pointer"


def format_remaining(seconds: float) -> str:
    """``"14:59"`` for 899 s; ``"expired"`` at or below zero."""
    s = round(seconds)
    if s <= 0:
        return "expired"
    return f"{s // 60}:{s % 60:02d}"


def _safe_url(url: Any) -> str | None:
    url = str(url or "")
    return url if url.startswith(("https://", "http://")) else None


def render_code_html(user_code: str) -> str:
    """A selectable read-only field holding ``user_code`` and a Copy button."""
    code = html.escape(user_code, quote=True)
    copy = onclick_attribute("copy_button.js")
    width = max(8, len(user_code) + 2)
    return (
        f'<input type="text" readonly value="{code}" size="{width}" aria-label="sign-in code" '
        'onclick="this.select()" style="font-family:monospace;font-size:1.25em;'
        'font-weight:bold;padding:2px 6px;margin-right:4px"/>'
        f'<button type="button" title="Copy the code" onclick="{copy}"'
        ' style="padding:2px 10px;cursor:pointer">Copy</button>'
    )


def render_html(
    flow: Mapping[str, Any], *, element_id: str | None = None, countdown: bool = True
) -> str:
    """The HTML prompt for a pending sign-in FLOW (see docs/rest-api.md).

    ``countdown=False`` leaves out the expiry line and its ``<script>`` (ipywidgets' HTML widget
    does not run scripts; the widget counts down from the kernel instead).
    """
    element_id = element_id or f"jupyter-msal-{uuid.uuid4().hex[:12]}"
    if flow.get("sign_in_url"):
        return render_browser_html(flow, element_id=element_id)
    remaining = max(0.0, float(flow.get("expires_on") or 0) - time.time())
    url = _safe_url(flow.get("verification_uri"))
    user_code = str(flow.get("user_code") or "")
    parts = [
        f'<div id="{element_id}" class="jupyter-msal-prompt" '
        'style="border-left:4px solid #0078d4;padding:6px 12px;margin:4px 0">'
    ]
    if url and user_code:
        link = html.escape(url, quote=True)
        tenant = f" (tenant {html.escape(str(flow['tenant']))})" if flow.get("tenant") else ""
        parts.append(
            f"<div><b>Sign in to Microsoft Entra ID{tenant}:</b> open "
            f'<a href="{link}" target="_blank" rel="noopener noreferrer" style="{_LINK_STYLE}">'
            f"{html.escape(url)}</a>"
            " and enter this code:</div>"
        )
        parts.append(f'<div style="margin:6px 0">{render_code_html(user_code)}</div>')
    else:
        message = str(flow.get("message") or "Complete the sign-in.")
        parts.append(f"<div>{html.escape(message)}</div>")
    if countdown and remaining:
        parts.append(
            '<div style="font-size:0.9em;opacity:0.8">The code expires in '
            f'<span data-jmsal-remaining="{remaining:.0f}">{format_remaining(remaining)}</span>'
            " (interrupt the kernel to cancel).</div>"
        )
    parts.append("</div>")
    if countdown and remaining:
        parts.append(script_element("countdown.js", ELEMENT_ID=element_id))
    return "".join(parts)


def render_text(flow: Mapping[str, Any]) -> str:
    """The plain-text prompt: the identity provider's message and when the code expires."""
    if flow.get("sign_in_url"):
        return render_browser_text(flow)
    message = str(flow.get("message") or "")
    if not message:
        url, code = flow.get("verification_uri"), flow.get("user_code")
        message = (
            f"To sign in, open {url} and enter the code {code}."
            if url and code
            else "Complete the sign-in."
        )
    if flow.get("tenant"):
        message += "\n" + tenant_note(flow)
    expires_on = float(flow.get("expires_on") or 0)
    if expires_on:
        minutes = max(0, int((expires_on - time.time() + 59) // 60))
        at = time.strftime("%H:%M", time.localtime(expires_on))
        message += f"\n(The code expires at {at}, in {minutes} min.)"
    return message


def render_done_html(text: str, *, ok: bool = True) -> str:
    """The one line that replaces the prompt when the sign-in is over."""
    colour = "#107c10" if ok else "#a4262c"
    return (
        f'<div class="jupyter-msal-prompt" style="border-left:4px solid {colour};'
        f'padding:4px 12px;margin:4px 0">{html.escape(text)}</div>'
    )


class _Bundle:
    def __init__(self, html_text: str, plain: str) -> None:
        self._html = html_text
        self._plain = plain

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self._html, "text/plain": self._plain}


def _ipython() -> Any:
    mod = sys.modules.get("IPython")
    if mod is None:
        return None
    try:
        return mod.get_ipython()
    except Exception:  # no IPython here
        return None


class SignInPrompt:
    """Shows a pending sign-in and replaces it with one line once the flow ends.

    ``rich=True`` (server mode inside IPython) displays HTML + text with a ``display_id`` and
    updates it in place; otherwise the prompt is printed as text.
    """

    def __init__(self, flow: Mapping[str, Any], *, rich: bool | None = None) -> None:
        self.flow = dict(flow)
        self.rich = (_ipython() is not None) if rich is None else rich
        self._handle: Any = None

    def show(self) -> None:
        """Display (or print) the prompt."""
        if self.rich:
            from IPython.display import display

            bundle = _Bundle(render_html(self.flow), render_text(self.flow))
            self._handle = display(bundle, display_id=True)
        else:
            print(render_text(self.flow), flush=True)

    def update(self, flow: Mapping[str, Any]) -> None:
        """Show ``flow`` instead when it moved to a new step (e.g. on to the browser)."""
        flow = dict(flow)
        fields = ("method", "sign_in_url", "user_code")
        if all(flow.get(k) == self.flow.get(k) for k in fields):
            return
        self.flow = flow
        if flow.get("state") != "pending":
            return
        if self._handle is not None:
            self._handle.update(_Bundle(render_html(flow), render_text(flow)))
        else:
            print(render_text(flow), flush=True)

    def finish(self, text: str, *, ok: bool = True) -> None:
        """Replace the prompt by ``text`` (e.g. ``"Signed in as ada@contoso.com."``)."""
        if self._handle is not None:
            self._handle.update(_Bundle(render_done_html(text, ok=ok), text))
        else:
            print(text, flush=True)
