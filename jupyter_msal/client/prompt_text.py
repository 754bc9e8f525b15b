"""The plain-text prompts of a pending sign-in, shared by the terminal and the kernel."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

__all__ = ["render_browser_text", "render_device_code_text", "tenant_note"]


def tenant_note(flow: Mapping[str, Any]) -> str:
    """``"(a sign-in to tenant T)"`` for a FLOW started for a tenant, else ``""``."""
    return f"(a sign-in to tenant {flow['tenant']})" if flow.get("tenant") else ""


def render_browser_text(flow: Mapping[str, Any]) -> str:
    """The plain-text prompt of a pending sign-in in the browser (auth-code FLOW)."""
    url = str(flow.get("sign_in_url") or "")
    lines = [str(flow["fallback_reason"])] if flow.get("fallback_reason") else []
    lines += [tenant_note(flow)] if flow.get("tenant") else []
    lines += [
        "To sign in, open this address in your browser:",
        f"  {url if url.startswith(('https://', 'http://')) else '(no sign-in address)'}",
        "If the browser then shows an error page (it cannot reach the redirect), copy the "
        "address it ended on and paste it here.",
    ]
    expires_on = float(flow.get("expires_on") or 0)
    if expires_on:
        minutes = max(0, int((expires_on - time.time() + 59) // 60))
        lines.append(f"(The link expires in {minutes} min.)")
    return "\n".join(lines)


def render_device_code_text(flow: Mapping[str, Any]) -> str:
    """The plain-text prompt of a device-code FLOW."""
    text = str(
        flow.get("message")
        or f"Open {flow.get('verification_uri')} and enter {flow.get('user_code')}"
    )
    if flow.get("fallback_reason"):
        text += f"\n(device code because {flow['fallback_reason']})"
    if flow.get("tenant"):
        text += "\n" + tenant_note(flow)
    return text
