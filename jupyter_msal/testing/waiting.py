"""Waiting for something another thread or process does, with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["wait_until"]

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    timeout: float = 10,
    *,
    interval: float = 0.05,
    message: str | Callable[[], str] = "the condition did not become true",
) -> T:
    """Call ``condition`` until it returns something truthy, and return that.

    Checks every ``interval`` seconds; after ``timeout`` seconds raises :class:`TimeoutError`
    with ``message`` (a callable is called then, e.g. to show a log). Exceptions from
    ``condition`` propagate at once, so it can also fail fast (``raise`` when a process died).

    For polling what only shows through a real interface (a file, a URL, counters). In an
    async test, run it with ``await asyncio.to_thread(wait_until, ...)`` so the event loop
    stays free.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise TimeoutError(f"{text} (waited {timeout:g} s)")
        time.sleep(interval)
