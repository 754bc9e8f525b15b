"""Plain-pytest tests of the pure modules: no server, no emulator, no sockets.

Everything here runs in a few seconds (``python -m pytest tests/unit``). A test that needs a
socket, a subprocess or the emulator belongs in ``tests/`` instead; :func:`no_sockets` makes
any attempt to open one fail the test.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test of this folder that opens a network socket."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("unit tests do not open sockets")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "bind", refuse)
    yield
