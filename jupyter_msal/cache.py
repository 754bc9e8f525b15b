"""The user's persisted token cache: encryption choice, atomic writes, permissions, lock, recovery.

::

    handle = open_token_cache(path, encryption="auto", key=None)
    app = msal.PublicClientApplication(client_id, token_cache=handle.cache)
    handle.info.to_dict()  # {"path", "encrypted", "encryption", "warnings"} for status
    handle.last_changed()  # a stamp that changes whenever any process saved the file

Encryption (``encryption=``):

- ``"auto"``: a configured ``key`` wins; else the OS keyring (DPAPI, Keychain, libsecret via
  ``msal_extensions.build_encrypted_persistence``) when it works here; else plaintext (0600)
  with a warning in ``handle.warnings`` and the log.
- ``"required"``: as ``auto``, but ``CacheError`` instead of plaintext.
- ``"none"``: plaintext (0600), no warning: the admin chose it.

Files: ``<path>`` (0600, in a 0700 folder), ``<path>.lockfile`` while a process writes,
``<path>.corrupt-<UTC timestamp>`` for content that could not be read. The cache is a
``msal.SerializableTokenCache`` that every process sharing the file (server, CLI,
direct-mode kernels) reads again when another one changed it, and changes under the same
cross-process lock (msal-extensions' ``CrossPlatLock``); ``handle.last_changed()`` tells
when any process changed it. Only public APIs of msal and msal-extensions are used.
See docs/cache.md.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import msal
from cryptography.fernet import Fernet
from msal_extensions import CrossPlatLock, LockError
from msal_extensions.persistence import PersistenceNotFound

from ._cache_file import AtomicFilePersistence, fernet_for_key, looks_key_encrypted
from ._cache_keyring import GuardedPersistence, open_keyring
from ._cache_os import clear_stale_lock, ensure_private_folder, portalocker, tighten_file
from .errors import CacheError

__all__ = ["ENCRYPTION_MODES", "CacheInfo", "TokenCacheHandle", "generate_key", "open_token_cache"]

#: Accepted values of ``encryption`` (``JupyterMsal.cache_encryption``).
ENCRYPTION_MODES = ("auto", "required", "none")
_MAX_WARNINGS = 20
_READ_ATTEMPTS = 3  # a lookup retries a failed read (e.g. a sharing violation) this often
_KEY_HINT = (
    "Set JupyterMsal.cache_key or the environment variable JUPYTER_MSAL_CACHE_KEY (create one "
    "with `jupyter msal generate-key`)."
)


@dataclass(frozen=True)
class CacheInfo:
    """Where the token cache is and how it is protected (nothing secret)."""

    path: str
    encrypted: bool
    encryption: Literal["key", "keyring", "none"]
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by the status API."""
        return {
            "path": self.path,
            "encrypted": self.encrypted,
            "encryption": self.encryption,
            "warnings": list(self.warnings),
        }


class TokenCacheHandle:
    """An opened token cache: ``cache`` for msal, ``info`` and ``warnings`` for status."""

    def __init__(
        self,
        cache: _SharedTokenCache,
        path: str,
        encryption: Literal["key", "keyring", "none"],
        warnings: list[str],
    ) -> None:
        #: Pass as ``token_cache=`` to msal (a ``msal.SerializableTokenCache``).
        self.cache = cache
        #: Live list of warnings; recoveries made later (e.g. a corrupt file) are appended.
        self.warnings = warnings
        self._path = path
        self._encryption: Literal["key", "keyring", "none"] = encryption

    @property
    def path(self) -> str:
        """The cache file's absolute path."""
        return self._path

    @property
    def info(self) -> CacheInfo:
        """A snapshot of where the cache is, how it is protected, and the warnings so far."""
        return CacheInfo(
            path=self._path,
            encrypted=self._encryption != "none",
            encryption=self._encryption,
            warnings=tuple(self.warnings),
        )

    def last_changed(self) -> object | None:
        """A stamp of the cache file's current version; None when there is no file yet.

        It differs whenever any process (this one included) saved the file, and also when
        the file was replaced, moved aside or deleted. Compare stamps with ``==`` only; they
        are hashable and carry no other meaning. Costs one ``stat``; never reads the file.
        """
        return self.cache.file_version()

    def __repr__(self) -> str:
        return f"<TokenCacheHandle {self._path} encryption={self._encryption}>"


def generate_key() -> str:
    """A new random key for ``JupyterMsal.cache_key`` (a Fernet key: 32 random bytes)."""
    return Fernet.generate_key().decode("ascii")


def open_token_cache(
    path: str | os.PathLike[str],
    *,
    encryption: str = "auto",
    key: str | None = None,
    log: logging.Logger | None = None,
) -> TokenCacheHandle:
    """Open (or create) the persisted token cache at ``path``; see the module docstring.

    Raises ``ValueError`` for an unknown ``encryption`` (or ``"none"`` with a key) and
    ``CacheError`` when the cache cannot be used as configured: encryption required but
    unavailable, a file encrypted with a key this process does not have, no permission.
    Unreadable content is not an error: it is moved aside with a warning.
    """
    if encryption not in ENCRYPTION_MODES:
        raise ValueError(
            f"encryption must be one of {', '.join(ENCRYPTION_MODES)}, not {encryption!r}"
        )
    key = (key or "").strip() or None
    if encryption == "none" and key:
        raise ValueError("encryption is 'none' but a key was given")
    log = log or logging.getLogger("jupyter_msal.cache")
    location = os.path.abspath(os.path.expanduser(os.fspath(path)))
    warnings: list[str] = []
    warn = _WarningSink(warnings, log)

    folder = os.path.dirname(location)
    try:
        ensure_private_folder(folder, log, warn)
        head = _peek(location)
    except OSError as exc:
        raise CacheError(
            f"The token cache {location} cannot be used: {exc.strerror or exc}.",
            hint="Check JupyterMsal.cache_path and the permissions of its folder.",
        ) from exc
    if not key and head is not None and looks_key_encrypted(head):
        raise CacheError(
            f"The token cache {location} is encrypted with a cache_key, and none is configured.",
            hint="Set JUPYTER_MSAL_CACHE_KEY (or JupyterMsal.cache_key) to the key the other "
            "processes use, or move the file away to start with an empty cache.",
        )

    persistence: AtomicFilePersistence | GuardedPersistence
    if key:
        persistence = AtomicFilePersistence(
            location, fernet=fernet_for_key(key), warn=warn, log=log
        )
        mode: Literal["key", "keyring", "none"] = "key"
    elif encryption == "none":
        persistence = AtomicFilePersistence(location, warn=warn, log=log)
        mode = "none"
    else:
        keyring, reason = open_keyring(location)
        if keyring is not None:
            persistence = GuardedPersistence(keyring, warn, log)
            mode = "keyring"
            if head is not None and head.lstrip().startswith(b"{"):
                warn(
                    f"{location} holds an unencrypted token cache that the keyring-backed cache "
                    "does not use; delete it."
                )
        elif encryption == "required":
            raise CacheError(
                "cache_encryption is 'required', but no cache_key is set and the OS keyring "
                f"cannot be used here ({reason}).",
                hint=_KEY_HINT,
            )
        else:
            persistence = AtomicFilePersistence(location, warn=warn, log=log)
            mode = "none"
            warn(
                f"The token cache {location} is not encrypted (only file permissions 0600 "
                f"protect it): no cache_key is set and the OS keyring cannot be used here "
                f"({reason}). {_KEY_HINT} Or set cache_encryption='none' to accept this."
            )
    if portalocker is None or CrossPlatLock.__module__ != "msal_extensions.cache_lock":
        warn("portalocker is not installed: a crashed writer's lock file blocks later writes.")

    cache = _SharedTokenCache(persistence, log)
    try:
        cache.load_at_open()
    except (OSError, LockError) as exc:
        raise CacheError(
            f"The token cache {location} cannot be read or written: {exc}.",
            hint="Check the permissions of the file and its folder; a process holding "
            f"{location}.lockfile for long may also be stuck.",
        ) from exc
    if isinstance(persistence, AtomicFilePersistence) and persistence.foreign_reason:
        raise CacheError(
            f"The token cache {location} is not usable: {persistence.foreign_reason}.",
            hint=_KEY_HINT,
        )
    log.debug("Token cache %s opened (encryption: %s)", location, mode)
    return TokenCacheHandle(cache, location, mode, warnings)


class _WarningSink:
    """Appends a warning once to the handle's list (bounded) and logs it at WARNING."""

    def __init__(self, warnings: list[str], log: logging.Logger) -> None:
        self._warnings = warnings
        self._log = log

    def __call__(self, message: str) -> None:
        if message in self._warnings:
            return
        self._warnings.append(message)
        del self._warnings[:-_MAX_WARNINGS]
        self._log.warning("%s", message)


class _SharedTokenCache(msal.SerializableTokenCache):
    """A ``msal.SerializableTokenCache`` kept in step with a file that processes share.

    - before every lookup and every change, the file is read again when it changed since this
      process last read or wrote it; the persistence compares file versions (inode, size,
      mtime_ns), not wall-clock times against coarse mtimes, so no concurrent write is missed;
    - every change is made under the cross-process lock ``<path>.lockfile`` (msal-extensions'
      ``CrossPlatLock``), on top of the latest file, and saved before the lock is released;
    - threads of one process take this cache's thread lock before the cross-process lock (no
      0.25 s lock-file polling between threads). msal holds its own lock while it calls
      ``modify`` (from ``add``, and from ``search`` to drop expired access tokens), so ``add``
      and the whole ``search`` iteration hold the thread lock too: one lock order, no deadlock;
    - a lock file left by a killed writer is removed before waiting on it (msal-extensions
      would wait 5 s for it on every such write).
    """

    def __init__(
        self, persistence: AtomicFilePersistence | GuardedPersistence, log: logging.Logger
    ) -> None:
        super().__init__()
        self._store = persistence
        self._lock_file = persistence.get_location() + ".lockfile"
        self._thread_lock = threading.RLock()
        self._log = log
        #: Whether the file is encrypted at rest (the attribute msal-extensions' caches have).
        self.is_encrypted: bool = persistence.is_encrypted

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
        with self._thread_lock, self._file_lock():
            self._reload()
            super().modify(credential_type, old_entry, new_key_value_pairs)
            self._store.save(self.serialize())

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
        """The version of the file now: differs after any process saved it; None if no file."""
        return self._store.version()

    def load_at_open(self) -> None:
        """The first read, under the cross-process lock: tidy up after killed writers, recover
        from unreadable content, encrypt a plaintext file when a key is set."""
        store = self._store
        with self._thread_lock, self._file_lock():
            if isinstance(store, AtomicFilePersistence):
                removed = store.remove_stale_temporaries()
                if removed:
                    self._log.info(
                        "Removed %d temporary file(s) left by a killed cache writer", removed
                    )
            location = store.get_location()
            with contextlib.suppress(FileNotFoundError):
                tighten_file(location, os.stat(location), self._log)
            self._reload()
            if isinstance(store, AtomicFilePersistence):
                if store.plaintext_found:
                    store.save(self.serialize())
                    self._log.warning(
                        "The token cache %s was not encrypted; it now is (cache_key)", location
                    )
                store.mark_opened()

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        clear_stale_lock(self._lock_file, self._log)
        with CrossPlatLock(self._lock_file):
            yield

    def _reload(self) -> None:
        """Read the file again if it is not the version last read or written here."""
        if not self._store.changed():
            return
        try:
            state = self._store.load()
        except PersistenceNotFound:  # removed (or moved aside) by someone: it is empty now
            state = "{}"
        self.deserialize(state)

    def _holding_thread_lock(self, entries: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        with self._thread_lock:
            yield from entries


def _peek(location: str) -> bytes | None:
    try:
        with open(location, "rb") as handle:
            return handle.read(64)
    except FileNotFoundError:
        return None
