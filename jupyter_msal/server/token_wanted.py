"""Sign-in comes to the user: a ``token_wanted`` event when a tool is refused for want of one.

When a kernel or terminal asks for a token (the managed-identity endpoint, or ``POST token``)
and nobody is signed in, the request fails at once as before, naming the ways to sign in;
nothing starts a sign-in behind the user's back. :func:`report_token_wanted` also emits
``urn:jupyter-msal:events:token_wanted:v1`` (:mod:`jupyter_msal.audit`), which every open
JupyterLab / Notebook 7 page receives on its event stream and shows as a notification with
a "Sign in" button.

Who asked is read from the request's User-Agent (``AZURECLI/2.91.0`` is the Azure CLI,
``AzCopy/10.32.2`` AzCopy, ``azsdk-python-identity/1.23`` an Azure Identity library...); the
event carries only that name, never the header itself or anything secret.

A tool that retries, or a notebook that loops, would otherwise emit an event per request:
:class:`TokenWantedLimit` sits in front of the server's event sink and lets through at most
one ``token_wanted`` event per resource per minute (other events pass untouched).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..audiences import display_name, scope_for
from ..audit import TOKEN_WANTED_SCHEMA, EventSink, resource_of, token_wanted
from ..errors import SignInRequired

__all__ = [
    "MAX_RESOURCES",
    "WINDOW_SECONDS",
    "TokenWantedLimit",
    "report_token_wanted",
    "tool_of",
]

#: At most one token_wanted event per resource in this many seconds.
WINDOW_SECONDS = 60.0
#: How many resources the limit remembers at once (events for more are dropped, not queued).
MAX_RESOURCES = 1024

# (pattern of the User-Agent, tool); the first that matches wins: AzCopy's agent names the
# Azure SDK for Go after its own name, the Azure CLI's may name python-requests.
_AGENTS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), tool)
    for pattern, tool in (
        (r"\bAZURECLI/", "azure_cli"),
        (r"\bAzCopy/", "azcopy"),
        (r"\bjupyter-msal/\S*\s*\(kernel", "kernel"),
        (r"\bjupyter-msal/\S*\s*\(terminal", "terminal"),
        (r"\bjupyter-msal/", "kernel_or_terminal"),
        (r"\bazsdk-[a-z]+-(?:azure-)?identity\b", "azure_identity"),
        (r"\bazsdk-", "azure_sdk"),
        (r"\b(?:python-requests|Python-urllib|python-httpx|aiohttp)/", "python"),
    )
)


def tool_of(user_agent: str | None, fallback: str) -> str:
    """The tool a User-Agent names (a value of the event's ``tool``), else ``fallback``."""
    agent = (user_agent or "")[:512]
    for pattern, tool in _AGENTS:
        if pattern.search(agent):
            return tool
    return fallback


def _resource_key(data: dict[str, Any]) -> str:
    return str(data.get("resource", "")).rstrip("/").lower()


class TokenWantedLimit:
    """An :class:`~jupyter_msal.audit.EventSink` in front of another: every event passes,
    except that ``token_wanted`` events pass at most once per resource per ``window`` seconds.

    ``clock`` (monotonic seconds) may be replaced, e.g. by a test that moves time on.
    Thread-safe: events come from the event loop and from worker threads.
    """

    def __init__(
        self,
        sink: EventSink,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sink = sink
        self.window = window
        self.clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, schema_id: str, data: dict[str, Any]) -> None:
        """Pass the event on, unless it is a token_wanted event the limit holds back."""
        if schema_id == TOKEN_WANTED_SCHEMA and not self._admit(_resource_key(data)):
            return
        self.sink(schema_id, data)

    def _admit(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.window:
                return False
            if last is None and len(self._last) >= MAX_RESOURCES:
                self._last = {k: t for k, t in self._last.items() if now - t < self.window}
                if len(self._last) >= MAX_RESOURCES:
                    return False
            self._last[key] = now
            return True


def report_token_wanted(
    events: EventSink | None,
    err: BaseException,
    asked: Sequence[str] | str | None,
    *,
    via: str,
    user_agent: str | None,
    fallback_tool: str,
) -> None:
    """Emit a token_wanted event when ``err`` says a sign-in is needed (nothing otherwise,
    or without a sink). ``asked`` is what the request asked for (scopes, or one resource
    URI), used when ``err`` names no scopes."""
    if events is None or not isinstance(err, SignInRequired):
        return
    scopes = err.scopes or ([scope_for(asked)] if isinstance(asked, str) and asked else asked)
    token_wanted(
        events,
        scopes,
        tool=tool_of(user_agent, fallback_tool),
        via=via,
        error=err,
        resource_name=display_name(resource_of(scopes)),
    )
