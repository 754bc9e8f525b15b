"""Sign-in comes to the user: a ``token_wanted`` event when a kernel, a terminal or a tool in
one asks for a token while nobody is signed in, at most one per resource per minute, and the
request itself still failing at once as before.

The server is the in-process pytest-jupyter one; the test plays the tools (the User-Agent of
the Azure CLI, AzCopy, azure-identity; the kernel secret of ``%msal_token``). The minute is
the limit's clock, moved on by the test.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_msal.audiences import display_name
from jupyter_msal.audit import TOKEN_WANTED_SCHEMA
from jupyter_msal.constants import IDENTITY_HEADER_ENV
from jupyter_msal.server.token_wanted import (
    MAX_RESOURCES,
    WINDOW_SECONDS,
    TokenWantedLimit,
    tool_of,
)
from jupyter_msal.testing import EntraEmulator

STORAGE = "https://storage.azure.com"
VAULT = "https://vault.azure.net"
AZ = "python/3.12.3 (Linux-6.8.0-x86_64-with-glibc2.39) AZURECLI/2.91.0 (PIP)"
AZCOPY = "AzCopy/10.32.2 azsdk-go-azblob/v1.6.2 (go1.24.6; linux)"
IDENTITY = "azsdk-python-identity/1.23.1 Python/3.12.3 (Linux-6.8.0-x86_64-with-glibc2.39)"


class Events(logging.Handler):
    """The token_wanted events the server's event logger routes to it, as written."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def wanted(self) -> list[dict[str, Any]]:
        parsed = [json.loads(line) for line in self.lines]
        return [
            {k: v for k, v in e.items() if not k.startswith("__")}
            for e in parsed
            if e["__schema__"] == TOKEN_WANTED_SCHEMA
        ]


class Clock:
    """A monotonic clock the test moves on."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(msal_service: Any) -> Clock:
    """The server's token_wanted limit, on a clock of the test's."""
    limit = msal_service.events
    assert isinstance(limit, TokenWantedLimit)
    fake = Clock()
    limit.clock = fake
    return fake


@pytest.fixture
def captured(jp_serverapp: Any, msal_app: Any) -> Iterator[Events]:
    capture = Events()
    jp_serverapp.event_logger.register_handler(capture)
    yield capture
    jp_serverapp.event_logger.remove_handler(capture)


def _identity_headers(agent: str | None) -> dict[str, str]:
    """What a tool in a kernel or terminal sends: the inherited secret, its User-Agent."""
    headers = {"X-IDENTITY-HEADER": os.environ[IDENTITY_HEADER_ENV], "Authorization": ""}
    if agent is not None:
        headers["User-Agent"] = agent
    return headers


async def _managed_identity(api: Any, resource: str, agent: str | None) -> tuple[int, Any]:
    params = {"api-version": "2019-08-01", "resource": resource}
    result: tuple[int, Any] = await api(
        "GET", "managed-identity", params=params, headers=_identity_headers(agent)
    )
    return result


async def test_managed_identity_signed_out_fails_fast_and_emits_once_per_resource_a_minute(
    api: Any,
    msal_emulator: EntraEmulator,
    msal_app: Any,
    captured: Events,
    clock: Clock,
) -> None:
    for agent in (AZ, AZCOPY, IDENTITY):  # three tools, one resource, within the minute
        status, body = await _managed_identity(api, STORAGE, agent)
        assert status == 401 and body["error"] == "sign_in_required"
        assert "%msal_login" in body["message"] and "status bar" in body["message"]
    assert captured.wanted() == [
        {
            "resource": STORAGE,
            "resource_name": "Azure Storage",
            "tool": "azure_cli",
            "via": "managed_identity",
            "error": "sign_in_required",
        }
    ]
    # another resource has its own minute
    assert (await _managed_identity(api, VAULT + "/", AZCOPY))[0] == 401
    assert captured.wanted()[1] == {
        "resource": VAULT,
        "resource_name": "Azure Key Vault",
        "tool": "azcopy",
        "via": "managed_identity",
        "error": "sign_in_required",
    }
    clock.now += WINDOW_SECONDS - 0.5
    assert (await _managed_identity(api, STORAGE, IDENTITY))[0] == 401
    assert len(captured.wanted()) == 2
    clock.now += 0.5  # a minute after the first
    assert (await _managed_identity(api, STORAGE, IDENTITY))[0] == 401
    assert (await _managed_identity(api, STORAGE, None))[0] == 401
    assert [(e["resource"], e["tool"]) for e in captured.wanted()] == [
        (STORAGE, "azure_cli"),
        (VAULT, "azcopy"),
        (STORAGE, "azure_identity"),
    ]

    # failing fast stays failing fast: no sign-in started, nothing asked of the IdP
    _, flows = await api("GET", "sign-ins")
    assert flows["sign_ins"] == []
    assert msal_emulator.counts["devicecode"] == 0 and msal_emulator.counts["token"] == 0
    # nothing secret and no raw header in the events
    text = "\n".join(captured.lines)
    for secret in (os.environ[IDENTITY_HEADER_ENV], msal_app.kernel_secret, "2.91.0", "10.32.2"):
        assert secret not in text


async def test_rest_token_path_names_the_client(
    api: Any, kernel_headers: dict[str, str], captured: Events, clock: Clock
) -> None:
    """``POST token`` from a kernel (``%msal_token``), from `jupyter msal token` and from a
    script with a Jupyter API token, each signed out; audience names become their resource."""
    status, body = await api("POST", "token", {"scopes": ["storage"]}, headers=kernel_headers)
    assert status == 401 and body["error"] == "sign_in_required"
    terminal = {**kernel_headers, "User-Agent": "jupyter-msal/0.1.0 (terminal)"}
    assert (await api("POST", "token", {"scopes": ["vault"]}, headers=terminal))[0] == 401
    graph = ["https://graph.microsoft.com/User.Read"]
    assert (await api("POST", "token", {"scopes": graph}))[0] == 401  # the Jupyter token
    assert captured.wanted() == [
        {
            "resource": STORAGE,
            "resource_name": "Azure Storage",
            "tool": "kernel_or_terminal",
            "via": "rest",
            "error": "sign_in_required",
        },
        {
            "resource": VAULT,
            "resource_name": "Azure Key Vault",
            "tool": "terminal",
            "via": "rest",
            "error": "sign_in_required",
        },
        {
            "resource": "https://graph.microsoft.com",
            "resource_name": "Microsoft Graph",
            "tool": "script",
            "via": "rest",
            "error": "sign_in_required",
        },
    ]
    # the same resource through the other door, within the minute: held back
    assert (await _managed_identity(api, STORAGE, AZ))[0] == 401
    assert len(captured.wanted()) == 3


async def test_other_refusals_emit_nothing(
    api: Any, kernel_headers: dict[str, str], captured: Events, clock: Clock
) -> None:
    assert (await _managed_identity(api, "", AZ))[0] == 400  # no resource
    status, _ = await api("POST", "token", {"scopes": ["nosuchname"]}, headers=kernel_headers)
    assert status == 400
    wrong = {"X-IDENTITY-HEADER": "not-the-secret", "User-Agent": AZ, "Authorization": ""}
    params = {"api-version": "2019-08-01", "resource": STORAGE}
    assert (await api("GET", "managed-identity", params=params, headers=wrong))[0] == 403
    assert captured.wanted() == []


async def test_signed_in_tokens_emit_nothing(
    api: Any, sign_in: Any, captured: Events, clock: Clock
) -> None:
    await sign_in()
    status, body = await _managed_identity(api, STORAGE, AZ)
    assert status == 200 and body["access_token"]
    assert captured.wanted() == []


async def test_the_browser_event_stream_gets_it(
    jp_ws_fetch: Any, api: Any, msal_app: Any, clock: Clock
) -> None:
    """What an open JupyterLab page receives (``/api/events/subscribe``)."""
    import asyncio

    ws = await jp_ws_fetch("api", "events", "subscribe")
    try:
        assert (await _managed_identity(api, STORAGE, AZ))[0] == 401
        while True:
            event = json.loads(await asyncio.wait_for(ws.read_message(), 10))
            if event["schema_id"] == TOKEN_WANTED_SCHEMA:
                break
    finally:
        ws.close()
    assert {k: event[k] for k in ("resource", "resource_name", "tool", "via")} == {
        "resource": STORAGE,
        "resource_name": "Azure Storage",
        "tool": "azure_cli",
        "via": "managed_identity",
    }
    assert os.environ[IDENTITY_HEADER_ENV] not in json.dumps(event)


@pytest.mark.parametrize(
    ("agent", "tool"),
    [
        (AZ, "azure_cli"),
        ("AZURECLI/2.73.0 python-requests/2.32.3", "azure_cli"),
        (AZCOPY, "azcopy"),
        (IDENTITY, "azure_identity"),
        ("azsdk-net-Identity/1.13.0 (.NET 8.0.8; Ubuntu 24.04)", "azure_identity"),
        ("azsdk-java-azure-identity/1.14.0", "azure_identity"),
        ("azsdk-python-storage-blob/12.23.0 Python/3.12.3", "azure_sdk"),
        ("python-requests/2.32.3", "python"),
        ("jupyter-msal/0.1.0 (kernel)", "kernel"),
        ("jupyter-msal/0.1.0 (terminal)", "terminal"),
        ("jupyter-msal/0.1.0", "kernel_or_terminal"),
        ("curl/8.5.0", "fallback"),
        ("", "fallback"),
        (None, "fallback"),
    ],
)
def test_tool_of_a_user_agent(agent: str | None, tool: str) -> None:
    assert tool_of(agent, "fallback") == tool


def test_display_names() -> None:
    assert display_name("https://storage.azure.com/.default") == "Azure Storage"
    assert display_name("https://STORAGE.azure.cn/") == "Azure Storage"
    assert display_name("https://management.core.windows.net/") == "Azure Resource Manager"
    assert display_name("https://management.azure.com") == "Azure Resource Manager"
    assert display_name("499b84ac-1321-427f-aa17-267ca6975798") == "Azure DevOps"
    assert display_name("https://contoso.example/api") is None


def test_the_limit_passes_other_events_and_stays_bounded() -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    clock = Clock()
    limit = TokenWantedLimit(lambda schema, data: sent.append((schema, data)), clock=clock)
    for _ in range(3):
        limit("urn:jupyter-msal:events:token:v1", {"resource": STORAGE})
    assert len(sent) == 3
    for i in range(MAX_RESOURCES + 5):
        limit(TOKEN_WANTED_SCHEMA, {"resource": f"https://r{i}.example"})
    assert len(sent) == 3 + MAX_RESOURCES  # the rest dropped, not queued
    clock.now += WINDOW_SECONDS
    limit(TOKEN_WANTED_SCHEMA, {"resource": "https://new.example"})
    assert sent[-1][1]["resource"] == "https://new.example"  # expired entries made room
    limit(TOKEN_WANTED_SCHEMA, {"resource": "https://NEW.example/"})
    assert len(sent) == 4 + MAX_RESOURCES  # one resource, however spelled
