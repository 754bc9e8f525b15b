"""A ``msal.SerializableTokenCache`` kept in step with a file that several processes share.

- Before every lookup and every change, the file is read again when it changed since this
  process last read or wrote it; the persistence compares file versions (inode, size,
  mtime_ns), not wall-clock times against coarse mtimes, so no concurrent write is missed.
- Every change is made under the cross-process lock ``<path>.lockfile`` (``lock``), on
  top of the latest file, and saved before the lock is released.
- Threads of one process take this cache's thread lock before the cross-process lock. msal
  holds its own lock while it calls ``modify`` (from ``add``, and from ``search`` to drop
  expired access tokens), so ``add`` and the whole ``search`` iteration hold the thread lock
  too: one lock order, no deadlock.
- When another process holds the lock too long (stopped, hung), tokens just obtained are not
  lost: adding tokens (and dropping expired access tokens) is kept in memory, where lookups
  see it, and saved with the next change that gets the lock (later changes do not wait again
  meanwhile). Removing a refresh token, an account or an ID token (a sign-out) must reach the
  file: it raises :class:`~jupyter_msal.errors.CacheLocked` instead.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import msal
from msal_extensions.persistence import PersistenceNotFound

from ..errors import CacheLocked
from .lock import DEFAULT_LOCK_TIMEOUT, CacheFileLock
from .private_files import Identity

__all__ = ["CachePersistence", "SharedTokenCache"]

_READ_ATTEMPTS = 3  # a lookup retries a failed read (e.g. a sharing violation) this often

#: One change msal made: (credential type, entry, new values or None to remove it).
_Change = tuple[str, dict[str, Any], "dict[str, Any] | None"]


class CachePersistence(Protocol):
    """What the shared cache needs of a persistence (the file one or the keyring one)."""

    is_encrypted: bool

    def get_location(self) -> str: ...
    def load(self) -> str: ...
    def save(self, content: str) -> None: ...
    def changed(self) -> bool: ...
    def version(self) -> Identity | None: ...


class SharedTokenCache(msal.SerializableTokenCache):
    """msal's token cache on a shared file; see the module docstring.

    ``warn`` reports changes kept in memory only; ``lock_timeout`` is how long a change waits
    for another process's lock.
    """

    def __init__(
        self,
        persistence: CachePersistence,
        log: logging.Logger,
        *,
        warn: Callable[[str], None] | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        super().__init__()
        self._store = persistence
        self.lock = CacheFileLock(persistence.get_location() + ".lockfile", log, lock_timeout)
        self._thread_lock = threading.RLock()
        self._log = log
        self._warn = warn or (lambda message: None)
        self._unsaved: list[_Change] = []
        #: Whether the file is encrypted at rest (the attribute msal-extensions' caches have).
        self.is_encrypted: bool = persistence.is_encrypted

    @property
    def persistence(self) -> CachePersistence:
        """Where the cache is stored."""
        return self._store

    @property
    def unsaved_changes(self) -> int:
        """How many changes are kept in memory only, waiting for the lock."""
        return len(self._unsaved)

    def add(self, event: dict[str, Any], **kwargs: Any) -> None:
        """Add msal's token-endpoint ``event``; each entry is saved as msal ``modify``-s it."""
        with self._thread_lock:
            super().add(event, **kwargs)

    def modify(
        self,
        credential_type: str,
        old_entry: dict[str, Any],
        new_key_value_pairs: dict[str, Any] | None = None,
    ) -> None:
        """Change one entry under the cross-process lock, on top of the latest file."""
        change: _Change = (
            credential_type,
            copy.deepcopy(old_entry),
            copy.deepcopy(new_key_value_pairs),
        )
        with self._thread_lock:
            durable = (
                new_key_value_pairs is None and credential_type != self.CredentialType.ACCESS_TOKEN
            )
            # once a change waits in memory, later ones do not wait for the lock again
            timeout = 0.0 if self._unsaved and not durable else None
            try:
                with self.lock.held(timeout):
                    self._reload()
                    super().modify(credential_type, old_entry, new_key_value_pairs)
                    self._store.save(self.serialize())
                    self._unsaved.clear()
            except CacheLocked as exc:
                if durable:
                    raise
                super().modify(credential_type, old_entry, new_key_value_pairs)
                if not self._unsaved:
                    self._warn(
                        f"{exc.message} Tokens obtained meanwhile are kept in memory and saved "
                        "when the lock is free."
                    )
                self._unsaved.append(change)

    def search(
        self,
        credential_type: str,
        target: list[str] | None = None,
        query: dict[str, Any] | None = None,
        *,
        now: float | None = None,
    ) -> Iterator[dict[str, Any]]:
        """msal's ``search`` (a generator) on the latest file, read again first if it changed.

        The thread lock is held while the generator runs, until it is exhausted or dropped.
        """
        with self._thread_lock:
            if self._unsaved:
                self._try_to_save()
            for attempt in range(_READ_ATTEMPTS):
                try:
                    self._reload()
                    break
                except OSError:
                    if attempt == _READ_ATTEMPTS - 1:
                        raise
                    self._log.debug("Reading the token cache failed; retrying", exc_info=True)
                    time.sleep(0.5)
        entries = super().search(credential_type, target=target, query=query, now=now)
        return self._holding_thread_lock(entries)

    def file_version(self) -> object | None:
        """The version of the file now: differs after any process saved it; None if no file.

        While changes wait in memory, the stamp also says how many, so that lookups in front
        of this cache notice when they are saved.
        """
        version = self._store.version()
        return (version, len(self._unsaved)) if self._unsaved else version

    def load_now(self) -> None:
        """The first read (no lock: reading never changes the file)."""
        with self._thread_lock:
            self._reload(force=True)

    def _try_to_save(self) -> None:
        """Save the changes kept in memory if the lock is free now (never waits)."""
        with contextlib.suppress(CacheLocked), self.lock.held(0.0):
            self._reload()
            self._store.save(self.serialize())
            saved = len(self._unsaved)
            self._unsaved.clear()
            self._log.info("Saved %d token cache change(s) kept in memory", saved)

    def _reload(self, *, force: bool = False) -> None:
        """Read the file again if it is not the version last read or written here; changes
        kept in memory are applied again on top of it."""
        if not force and not self._store.changed():
            return
        try:
            state = self._store.load()
        except PersistenceNotFound:  # removed (or moved aside) by someone: it is empty now
            state = "{}"
        self.deserialize(state)
        for credential_type, old_entry, new_values in self._unsaved:
            super().modify(credential_type, copy.deepcopy(old_entry), copy.deepcopy(new_values))

    def _holding_thread_lock(self, entries: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        with self._thread_lock:
            yield from entries
