"""The ``api`` fixture's contract check: every answer must be one openapi.json describes."""

from __future__ import annotations

from typing import Any

import pytest


async def test_an_operation_missing_from_the_document_fails(
    api: Any, openapi_doc: dict[str, Any]
) -> None:
    assert (await api("GET", "status"))[0] == 200
    del openapi_doc["paths"]["/status"]
    with pytest.raises(AssertionError, match="does not document GET status"):
        await api("GET", "status")


async def test_a_method_missing_from_the_document_fails(
    api: Any, openapi_doc: dict[str, Any]
) -> None:
    del openapi_doc["paths"]["/accounts"]["get"]
    with pytest.raises(AssertionError, match="does not document GET accounts"):
        await api("GET", "accounts")


async def test_an_undocumented_status_fails(api: Any, openapi_doc: dict[str, Any]) -> None:
    del openapi_doc["paths"]["/status"]["get"]["responses"]["200"]
    with pytest.raises(AssertionError, match=r"answered 200, which openapi\.json does not"):
        await api("GET", "status")


async def test_a_path_the_server_does_not_serve_passes(api: Any) -> None:
    status, _ = await api("GET", "no-such-endpoint")
    assert status == 404
