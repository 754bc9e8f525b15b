"""The user's persisted token cache (see :mod:`.token_cache` and docs/cache.md).

One module a job, from the bottom up: ``crypto`` (key ids, the encrypted format),
``private_files`` (a private folder, files opened without following links), ``lock`` (the
cross-process lock), ``file`` (atomic writes and recovery), ``shared`` (the msal cache every
process of the user shares), ``keyring`` (the OS keyring), ``http_cache`` (msal's persisted
metadata of the identity provider), and ``token_cache`` (opening it all as configured).
"""

from __future__ import annotations

from .token_cache import (
    ENCRYPTION_MODES,
    CacheInfo,
    TokenCacheHandle,
    encrypt_plaintext_cache,
    generate_key,
    open_token_cache,
)

__all__ = [
    "ENCRYPTION_MODES",
    "CacheInfo",
    "TokenCacheHandle",
    "encrypt_plaintext_cache",
    "generate_key",
    "open_token_cache",
]
