"""Worker threads for blocking work, in separate pools so one kind cannot starve another.

Token requests that may wait on the identity provider get one pool, sign-in starts another
and reads of the cache file a third: however many refreshes hang on the identity provider,
a new sign-in still starts at once and listing accounts still answers.
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

    def __init__(
        self, idp_threads: int = 8, cache_threads: int = 2, sign_in_threads: int = 4
    ) -> None:
        #: Calls that may talk to the identity provider.
        self.idp = ThreadPoolExecutor(idp_threads, thread_name_prefix="jupyter-msal-idp")
        #: Reads of the cache file (never the network).
        self.cache = ThreadPoolExecutor(cache_threads, thread_name_prefix="jupyter-msal-cache")
        #: Starting sign-ins (one request for a code each; polling has threads of its own).
        self.sign_in = ThreadPoolExecutor(
            sign_in_threads, thread_name_prefix="jupyter-msal-sign-in"
        )

    async def call_idp(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Await ``fn(*args, **kwargs)``, which may talk to the identity provider."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.idp, lambda: fn(*args, **kwargs))

    async def call_sign_in(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Await ``fn(*args, **kwargs)``, which starts a sign-in."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.sign_in, lambda: fn(*args, **kwargs))

    async def call_cache(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Await ``fn(*args, **kwargs)``, which only reads the cache file."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.cache, lambda: fn(*args, **kwargs))

    def close(self) -> None:
        """Stop every pool without waiting for running work."""
        for pool in (self.idp, self.sign_in, self.cache):
            pool.shutdown(wait=False, cancel_futures=True)
