"""Single flight: concurrent calls for the same key share one execution of the work.

Threads and coroutines can join the same flight: the first caller (the leader) runs the
work, everyone else waits on the leader's future. Nothing is remembered after the flight
lands; caching results is the caller's business.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Executor, Future
from typing import Generic, TypeVar

from ..metrics import single_flight_joined

__all__ = ["SingleFlight"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    """Collapses concurrent calls with the same key into one call of the work."""

    def __init__(self) -> None:
        self._inflight: dict[K, Future[V]] = {}
        self._lock = threading.Lock()
        #: How many callers joined a flight another caller was already running.
        self.joined = 0

    def _join(self, key: K) -> tuple[Future[V], bool]:
        with self._lock:
            future = self._inflight.get(key)
            if future is not None:
                self.joined += 1
                single_flight_joined()
                return future, False
            future = Future()
            self._inflight[key] = future
            return future, True

    def _fly(self, key: K, future: Future[V], work: Callable[[], V]) -> None:
        try:
            result = work()
        except BaseException as err:
            with self._lock:
                self._inflight.pop(key, None)
            future.set_exception(err)
        else:
            with self._lock:
                self._inflight.pop(key, None)
            future.set_result(result)

    def run(self, key: K, work: Callable[[], V]) -> V:
        """Run ``work`` in this thread, or wait for the flight already running for ``key``."""
        future, leader = self._join(key)
        if leader:
            self._fly(key, future, work)
        return future.result()

    async def run_async(self, key: K, work: Callable[[], V], executor: Executor) -> V:
        """Like :meth:`run`, for the event loop: a leader runs ``work`` on ``executor``."""
        future, leader = self._join(key)
        if leader:
            executor.submit(self._fly, key, future, work)
        return await asyncio.wrap_future(future)
