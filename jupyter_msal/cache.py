"""The user's persisted token cache: encryption choice, atomic writes, permissions, lock, recovery.

::

    handle = open_token_cache(path, encryption="auto", key=None)
    app = msal.PublicClientApplication(client_id, token_cache=handle.cache)
    handle.info.to_dict()  # {"path", "encrypted", "encryption", "warnings"} for status

Encryption (``encryption=``):

- ``"auto"``: a configured ``key`` wins; else the OS keyring (DPAPI, Keychain, libsecret via
  ``msal_extensions.build_encrypted_persistence``) when it works here; else plaintext (0600)
  with a warning in ``handle.warnings`` and the log.
- ``"required"``: as ``auto``, but ``CacheError`` instead of plaintext.
- ``"none"``: plaintext (0600), no warning: the admin chose it.

Files: ``<path>`` (0600, in a 0700 folder), ``<path>.lockfile`` while a process writes,
``<path>.corrupt-<UTC timestamp>`` for content that could not be read. The cache is a
``msal_extensions.PersistedTokenCache``: every process that shares the file (server, CLI,
direct-mode kernels) reloads it when another one changed it, and writes under the same
cross-process lock. See docs/cache.md.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.fernet import Fernet
from msal_extensions import CrossPlatLock, LockError, PersistedTokenCache
from msal_extensions.persistence import BasePersistence, PersistenceNotFound

from ._cache_file import AtomicFilePersistence, fernet_for_key, looks_key_encrypted
from ._cache_keyring import GuardedPersistence, open_keyring
from ._cache_os import clear_stale_lock, ensure_private_folder, portalocker, tighten_file
from .errors import CacheError

__all__ = ["ENCRYPTION_MODES", "CacheInfo", "TokenCacheHandle", "generate_key", "open_token_cache"]

#: Accepted values of ``encryption`` (``JupyterMsal.cache_encryption``).
ENCRYPTION_MODES = ("auto", "required", "none")
_MAX_WARNINGS = 20
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
        cache: PersistedTokenCache,
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

    persistence: BasePersistence
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
        _prepare(cache, persistence, log)
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


class _SharedTokenCache(PersistedTokenCache):
    """``PersistedTokenCache`` made robust for a long-lived server sharing the file.

    - threads of one process take msal's own lock before the cross-process lock (no 0.25 s
      lock-file polling between threads, and one lock order, so no deadlock);
    - a lock file left by a killed writer is removed before waiting on it (msal-extensions
      would wait 5 s for it on every such write);
    - with ``AtomicFilePersistence``, "changed since last read" compares file versions, not
      wall-clock times against coarse mtimes, so no concurrent write is missed.
    """

    def __init__(self, persistence: BasePersistence, log: logging.Logger) -> None:
        super().__init__(persistence, lock_location=persistence.get_location() + ".lockfile")
        self._log = log

    def modify(
        self,
        credential_type: str,
        old_entry: dict[str, Any],
        new_key_value_pairs: dict[str, Any] | None = None,
    ) -> None:
        """Change one entry under the cross-process lock, on top of the latest file."""
        with self._lock:
            clear_stale_lock(self._lock_location, self._log)
            super().modify(credential_type, old_entry, new_key_value_pairs=new_key_value_pairs)

    def _reload_if_necessary(self) -> None:
        persistence = self._persistence
        if not isinstance(persistence, AtomicFilePersistence):
            super()._reload_if_necessary()
            return
        if not persistence.changed():
            return
        try:
            state = persistence.load()
        except PersistenceNotFound:  # removed (or moved aside) by someone: it is empty now
            state = "{}"
        self.deserialize(state)
        self._last_sync = time.time()


def _peek(location: str) -> bytes | None:
    try:
        with open(location, "rb") as handle:
            return handle.read(64)
    except FileNotFoundError:
        return None


def _prepare(cache: _SharedTokenCache, persistence: BasePersistence, log: logging.Logger) -> None:
    """First read under the lock: clean up after killed writers, recover, re-encrypt."""
    lock_location = persistence.get_location() + ".lockfile"
    clear_stale_lock(lock_location, log)
    with CrossPlatLock(lock_location):
        if isinstance(persistence, AtomicFilePersistence):
            removed = persistence.remove_stale_temporaries()
            if removed:
                log.info("Removed %d temporary file(s) left by a killed cache writer", removed)
        location = persistence.get_location()
        with contextlib.suppress(FileNotFoundError):
            tighten_file(location, os.stat(location), log)
        cache._reload_if_necessary()
        if isinstance(persistence, AtomicFilePersistence) and persistence.plaintext_found:
            persistence.save(cache.serialize())
            cache._last_sync = time.time()
            log.warning("The token cache %s was not encrypted; it now is (cache_key)", location)
        if isinstance(persistence, AtomicFilePersistence):
            persistence.opened = True
