"""The cell prompt of a sign-in in the browser (authorization-code flow).

It shows a link that opens the identity provider's page in a new tab and, for a browser
that cannot reach the redirect, a field where the user pastes the address the browser ended
on. The Complete button posts that address to this Jupyter server
(``POST jupyter-msal/sign-ins/{id}/response``) from the page itself, with the page's own
Jupyter login (the ``_xsrf`` cookie), while the kernel waits for the sign-in
(``js/paste_button.js``).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from ..client.prompt_text import render_browser_text
from .scripts import onclick_attribute

__all__ = ["render_browser_html", "render_browser_text"]

_LINK_STYLE = (
    "display:inline-block;padding:4px 14px;background:#0078d4;color:#fff;border-radius:2px;"
    "text-decoration:none;font-weight:600"
)


def _sign_in_url(flow: Mapping[str, Any]) -> str | None:
    url = str(flow.get("sign_in_url") or "")
    return url if url.startswith(("https://", "http://")) else None


def render_browser_html(flow: Mapping[str, Any], *, element_id: str) -> str:
    """The HTML prompt of a pending auth-code FLOW: the link, then the paste field."""
    url = html.escape(_sign_in_url(flow) or "", quote=True)
    flow_id = html.escape(str(flow.get("id") or ""), quote=True)
    complete = onclick_attribute("paste_button.js")
    note = ""
    if flow.get("fallback_reason"):
        note = f'<div style="opacity:0.8">{html.escape(str(flow["fallback_reason"]))}</div>'
    return (
        f'<div id="{element_id}" class="jupyter-msal-prompt" data-jmsal-flow="{flow_id}" '
        'style="border-left:4px solid #0078d4;padding:6px 12px;margin:4px 0">'
        f"{note}<div><b>Sign in to Microsoft Entra ID</b> in your browser:</div>"
        f'<div style="margin:6px 0"><a class="jupyter-msal-sign-in" href="{url}" '
        f'target="_blank" rel="noopener noreferrer" style="{_LINK_STYLE}">'
        "Open the sign-in page</a></div>"
        '<div style="font-size:0.9em">The tab says &ldquo;Signed in&rdquo; when it is done. '
        "If it shows an error page instead (it cannot reach the redirect), copy the address "
        "it ended on and paste it here:<br>"
        '<input type="text" aria-label="address the browser ended on" size="48" '
        'placeholder="http://localhost:&hellip;/?code=&hellip;&amp;state=&hellip;" '
        'style="font-family:monospace;margin:4px 4px 0 0"/>'
        f'<button type="button" onclick="{complete}" style="padding:2px 10px">'
        'Complete sign-in</button> <span data-jmsal-status="1"></span></div>'
        "</div>"
    )
