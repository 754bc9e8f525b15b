"""msal's ``http_cache``, with the identity provider's metadata persisted beside the token cache.

Every new msal application fetches the authority's OpenID metadata (and, for Entra, its
instance metadata) before it looks at the token cache; msal keeps those answers in the
``http_cache`` mapping it is given, for 24 hours. :class:`PersistedHttpCache` is that mapping:
in memory for msal, and its successful ``GET`` answers (public metadata, no secret) saved to
``<cache path>.http-cache`` through the token cache's own persistence (atomic, 0600, encrypted
with the ``cache_key`` when there is one). A new process, or a restarted server, then serves
a cached token without any request to the identity provider.

Throttle entries (msal's replays of 429/5xx and 400 answers) stay in memory: a restarted
process asks the identity provider again rather than replaying an old failure. The file is
a cache: content that cannot be read is ignored and overwritten. With a ``cache_key``,
content not encrypted with it is never used either (it says where refresh tokens are sent):
a plaintext file is ignored and replaced, with a warning naming it.
"""

from __future__ import annotations

import heapq
import json
import logging
import threading
import time
from collections.abc import Iterator, MutableMapping
from types import SimpleNamespace
from typing import Any

from msal_extensions.persistence import PersistenceNotFound

from ..errors import CacheError
from .file import AtomicFilePersistence

__all__ = ["HTTP_CACHE_SUFFIX", "PersistedHttpCache", "valid_http_cache"]

#: The file beside the token cache: ``<cache_path>`` + this.
HTTP_CACHE_SUFFIX = ".http-cache"
_INDEX = "_index_"  # msal's _ExpiringMapping keeps its expiry index under this key
_FORMAT = 1
_MAX_ENTRIES = 64  # metadata documents of a few authorities; anything beyond is not saved


def valid_http_cache(text: str) -> bool:
    """True for the saved form of the HTTP cache (a JSON object of the expected format)."""
    try:
        doc = json.loads(text)
    except ValueError:
        return False
    return isinstance(doc, dict) and doc.get("format") == _FORMAT


def _persistable(key: Any, value: Any) -> bool:
    status = getattr(value, "status_code", 0)
    return isinstance(key, str) and key.startswith("GET ") and 200 <= status < 300


class PersistedHttpCache(MutableMapping[str, Any]):
    """The mapping msal uses as ``http_cache``; successful GET answers persist in ``store``."""

    def __init__(self, store: AtomicFilePersistence, log: logging.Logger) -> None:
        self._store = store
        self._log = log
        self._data: dict[str, Any] = {}
        self._loaded = False
        self._dirty = False
        self._usable = True
        self._lock = threading.RLock()

    @property
    def location(self) -> str:
        """The file the metadata is saved in."""
        return self._store.get_location()

    # -- MutableMapping --------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        self._load_once()
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._load_once()
        with self._lock:
            self._data[key] = value
            if key == _INDEX:
                if self._dirty:
                    self._save()
            elif _persistable(key, value):
                self._dirty = True  # saved once msal has indexed it (its next write)

    def __delitem__(self, key: str) -> None:
        self._load_once()
        with self._lock:
            del self._data[key]

    def __iter__(self) -> Iterator[str]:
        self._load_once()
        return iter(list(self._data))

    def __len__(self) -> int:
        self._load_once()
        return len(self._data)

    # -- persistence -----------------------------------------------------------------------

    def _load_once(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            try:
                text = self._store.load()
            except PersistenceNotFound:
                return
            except (OSError, CacheError) as exc:
                self._usable = False  # a link or another user's file: never read or written
                self._log.warning("Not using the identity provider metadata cache: %s", exc)
                return
            self._data.update(_entries_from(text, time.time()))

    def _save(self) -> None:
        self._dirty = False
        if not self._usable:
            return
        _sequence, timestamps = self._data.get(_INDEX, ([], {}))
        entries = []
        for key, (expires_at, created_at) in timestamps.items():
            value = self._data.get(key)
            if _persistable(key, value):
                entries.append(
                    {
                        "key": key,
                        "expires_at": int(expires_at),
                        "created_at": int(created_at),
                        "status": int(value.status_code),
                        "text": str(value.text),
                        "headers": {str(k): str(v) for k, v in dict(value.headers).items()},
                    }
                )
        entries = sorted(entries, key=lambda e: e["expires_at"])[-_MAX_ENTRIES:]
        try:
            self._store.save(json.dumps({"format": _FORMAT, "entries": entries}))
        except (OSError, CacheError) as exc:
            self._log.warning("Could not save the identity provider metadata cache: %s", exc)


def _entries_from(text: str, now: float) -> dict[str, Any]:
    """msal's mapping content (answers and the ``_index_`` entry) from the saved JSON."""
    from msal.throttled_http_client import NormalizedResponse

    try:
        doc = json.loads(text)
    except ValueError:
        return {}
    entries = doc.get("entries") if isinstance(doc, dict) and doc.get("format") == _FORMAT else None
    data: dict[str, Any] = {}
    sequence: list[list[Any]] = []
    timestamps: dict[str, list[int]] = {}
    for entry in entries if isinstance(entries, list) else []:
        try:
            key = entry["key"]
            expires_at, created_at = int(entry["expires_at"]), int(entry["created_at"])
            raw = SimpleNamespace(
                status_code=int(entry["status"]),
                text=str(entry["text"]),
                headers=dict(entry["headers"]),
            )
        except (KeyError, TypeError, ValueError):
            continue
        if not (isinstance(key, str) and key.startswith("GET ") and created_at <= now < expires_at):
            continue
        data[key] = NormalizedResponse(raw)
        sequence.append([expires_at, created_at, key])
        timestamps[key] = [expires_at, created_at]
    if data:
        heapq.heapify(sequence)
        data[_INDEX] = (sequence, timestamps)
    return data
