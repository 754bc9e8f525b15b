"""Audit events through the server's jupyter_events logger: what they say, and no secrets."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_msal.audit import SIGN_IN_SCHEMA, SIGN_OUT_SCHEMA, TOKEN_SCHEMA, TOKEN_WANTED_SCHEMA
from jupyter_msal.config.settings import JupyterMsal
from jupyter_msal.service import TokenService
from jupyter_msal.testing import DEFAULT_USERNAME, EntraEmulator

STORAGE = "https://storage.azure.com/.default"
GRAPH = "https://graph.microsoft.com/.default"


class Capture(logging.Handler):
    """Keeps every event the server's event logger routes to it, parsed and as written."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def events(self, schema_id: str | None = None) -> list[dict[str, Any]]:
        parsed = [json.loads(line) for line in self.lines]
        return [e for e in parsed if schema_id is None or e["__schema__"] == schema_id]


@pytest.fixture
def captured(jp_serverapp: Any, msal_app: Any) -> Iterator[Capture]:
    """Events of this server, written as a configured ``c.EventLogger.handlers`` entry is."""
    capture = Capture()
    jp_serverapp.event_logger.register_handler(capture)
    yield capture
    jp_serverapp.event_logger.remove_handler(capture)


def _without_envelope(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if not k.startswith("__")}


async def test_sign_in_token_sign_out_events(
    api: Any,
    sign_in: Any,
    kernel_headers: dict[str, str],
    msal_emulator: EntraEmulator,
    msal_app: Any,
    captured: Capture,
) -> None:
    flow = await sign_in()
    assert (await api("POST", "token", {"scopes": [STORAGE]}))[0] == 200
    for _ in range(2):
        status, _ = await api("POST", "token", {"scopes": [STORAGE]}, headers=kernel_headers)
        assert status == 200
    assert (await api("POST", "token", {"scopes": [GRAPH], "force_refresh": True}))[0] == 200
    assert (await api("DELETE", f"accounts/{DEFAULT_USERNAME}"))[0] == 200

    sign_ins = [_without_envelope(e) for e in captured.events(SIGN_IN_SCHEMA)]
    assert sign_ins == [
        {
            "action": "started",
            "sign_in_id": flow["id"],
            "method": "device_code",
            "resource": "openid",
        },
        {
            "action": "succeeded",
            "sign_in_id": flow["id"],
            "method": "device_code",
            "resource": "openid",
            "username": DEFAULT_USERNAME,
        },
    ]
    issued = [_without_envelope(e) for e in captured.events(TOKEN_SCHEMA)]
    assert [(e["client"], e["outcome"], e["resource"]) for e in issued] == [
        ("jupyter_token", issued[0]["outcome"], "https://storage.azure.com"),
        ("kernel", "lookup", "https://storage.azure.com"),
        ("kernel", "lookup", "https://storage.azure.com"),
        ("jupyter_token", "refreshed", "https://graph.microsoft.com"),
    ]
    assert issued[0]["outcome"] in {"cache", "refreshed"}
    assert all(e["action"] == "issued" and e["username"] == DEFAULT_USERNAME for e in issued)
    assert [_without_envelope(e) for e in captured.events(SIGN_OUT_SCHEMA)] == [
        {"username": DEFAULT_USERNAME}
    ]

    text = "\n".join(captured.lines)
    secrets = [
        *msal_emulator.issued_access_tokens,
        *msal_emulator.issued_refresh_tokens,
        *msal_emulator.issued_id_tokens,
        *msal_emulator.issued_device_codes,
        msal_app.kernel_secret,
    ]
    assert len(secrets) >= 5
    for secret in secrets:
        assert secret not in text
    assert STORAGE not in text and GRAPH not in text  # resources only, never the scopes


async def test_failed_and_cancelled_sign_ins(
    api: Any, msal_emulator: EntraEmulator, captured: Capture
) -> None:
    status, cancelled = await api("POST", "sign-ins", {"method": "device_code"})
    assert status == 202
    assert (await api("DELETE", f"sign-ins/{cancelled['id']}"))[0] == 200
    status, declined = await api("POST", "sign-ins", {"method": "device_code"})
    msal_emulator.decline(declined["user_code"])
    for _ in range(6):
        status, declined = await api("GET", f"sign-ins/{declined['id']}", params={"wait": "10"})
        if declined["state"] != "pending":
            break
    assert declined["state"] == "failed"

    finals = {
        e["sign_in_id"]: _without_envelope(e)
        for e in captured.events(SIGN_IN_SCHEMA)
        if e["action"] != "started"
    }
    assert finals[cancelled["id"]]["action"] == "cancelled"
    assert finals[cancelled["id"]]["error"] == "sign_in_cancelled"
    failed = finals[declined["id"]]
    assert failed["action"] == "failed" and failed["error"] == declined["error"]["error"]
    assert failed.get("aadsts") == declined["error"].get("aadsts")
    assert "username" not in failed
    text = "\n".join(captured.lines)
    for code in msal_emulator.issued_device_codes:
        assert code not in text


@pytest.mark.parametrize(
    "msal_extra_env", [{"JUPYTER_MSAL_ALLOWED_SCOPES": "https://storage.azure.com/*"}]
)
async def test_policy_refusal_event(api: Any, sign_in: Any, captured: Capture) -> None:
    await sign_in()
    status, err = await api("POST", "token", {"scopes": [GRAPH]})
    assert status == 403 and err["error"] == "scope_not_allowed"
    refused = [
        _without_envelope(e) for e in captured.events(TOKEN_SCHEMA) if e["action"] == "refused"
    ]
    assert refused == [
        {
            "action": "refused",
            "resource": "https://graph.microsoft.com",
            "client": "jupyter_token",
            "error": "scope_not_allowed",
        }
    ]


def test_direct_mode_has_no_event_sink(msal_env: dict[str, str]) -> None:
    service = TokenService(JupyterMsal())
    try:
        assert service.events is None and service.flows.events is None
    finally:
        service.close()


async def test_listeners_get_events_from_worker_threads(
    jp_serverapp: Any, api: Any, msal_emulator: EntraEmulator
) -> None:
    """JupyterLab's event stream is a listener, which jupyter_events runs on the event loop:
    a sign-in started in a worker thread must still reach it (and not fail the request)."""
    import asyncio

    seen: list[dict[str, Any]] = []
    received = asyncio.Event()

    async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        seen.append(dict(data))
        received.set()

    jp_serverapp.event_logger.add_listener(schema_id=SIGN_IN_SCHEMA, listener=listener)
    try:
        status, flow = await api("POST", "sign-ins", {"method": "device_code"})
        assert status == 202, flow
        await asyncio.wait_for(received.wait(), 10)
    finally:
        jp_serverapp.event_logger.remove_listener(schema_id=SIGN_IN_SCHEMA, listener=listener)
    assert [(e["action"], e["sign_in_id"]) for e in seen] == [("started", flow["id"])]


def test_schema_ids_use_the_projects_namespace() -> None:
    """Each shipped schema's ``$id`` is one of audit.py's constants, in this project's own
    namespace (``events.jupyter.org`` is Jupyter's), and jupyter_events accepts it."""
    from jupyter_events import EventLogger

    from jupyter_msal.audit import SCHEMA_NAMESPACE, schema_paths

    logger = EventLogger()
    for path in schema_paths():
        logger.register_event_schema(path)
    ids = set(logger.schemas.schema_ids)
    assert ids == {SIGN_IN_SCHEMA, SIGN_OUT_SCHEMA, TOKEN_SCHEMA, TOKEN_WANTED_SCHEMA}
    assert all(i.startswith(SCHEMA_NAMESPACE) for i in ids)
    assert not any("jupyter.org" in i for i in ids)


async def test_browser_event_stream_gets_sign_in_and_sign_out(
    jp_ws_fetch: Any,
    api: Any,
    sign_in: Any,
    msal_emulator: EntraEmulator,
    msal_app: Any,
) -> None:
    """What JupyterLab's event stream (``/api/events/subscribe``) receives: the sign-in and
    sign-out events the front end refreshes on, with the data of the schema and no secret."""
    import asyncio

    ws = await jp_ws_fetch("api", "events", "subscribe")
    try:
        await sign_in()
        assert (await api("DELETE", f"accounts/{DEFAULT_USERNAME}"))[0] == 200
        received: list[dict[str, Any]] = []
        while not any(e["schema_id"] == SIGN_OUT_SCHEMA for e in received):
            received.append(json.loads(await asyncio.wait_for(ws.read_message(), 10)))
    finally:
        ws.close()
    ours = [e for e in received if e["schema_id"] in {SIGN_IN_SCHEMA, SIGN_OUT_SCHEMA}]
    assert [(e["schema_id"], e.get("action")) for e in ours] == [
        (SIGN_IN_SCHEMA, "started"),
        (SIGN_IN_SCHEMA, "succeeded"),
        (SIGN_OUT_SCHEMA, None),
    ]
    assert ours[1]["username"] == ours[2]["username"] == DEFAULT_USERNAME
    text = json.dumps(received)
    for secret in [
        *msal_emulator.issued_access_tokens,
        *msal_emulator.issued_refresh_tokens,
        *msal_emulator.issued_id_tokens,
        *msal_emulator.issued_device_codes,
        msal_app.kernel_secret,
    ]:
        assert secret not in text
