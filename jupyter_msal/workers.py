"""Worker threads for blocking work, in separate pools so one kind cannot starve another.

Calls that may wait on the identity provider get one pool and reads of the cache file get
another: however many requests hang on the identity provider, listing accounts still answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["Workers"]

T = TypeVar("T")


class Workers:
    """The thread pools of one token service."""

    def __init__(self, idp_threads: int = 8, cache_threads: int = 2) -> None:
        #: Calls that may talk to the identity provider.
        self.idp = ThreadPoolExecutor(idp_threads, thread_name_prefix="jupyter-msal-idp")
        #: Reads of the cache file (never the network).
        self.cache = ThreadPoolExecutor(cache_threads, thread_name_prefix="jupyter-msal-cache")

    async def call_idp(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Await ``fn(*args, **kwargs)``, which may talk to the identity provider."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.idp, lambda: fn(*args, **kwargs))

    async def call_cache(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Await ``fn(*args, **kwargs)``, which only reads the cache file."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.cache, lambda: fn(*args, **kwargs))

    def close(self) -> None:
        """Stop both pools without waiting for running work."""
        self.idp.shutdown(wait=False, cancel_futures=True)
        self.cache.shutdown(wait=False, cancel_futures=True)
