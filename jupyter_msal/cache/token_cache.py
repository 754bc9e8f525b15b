"""The user's persisted token cache: encryption choice, atomic writes, permissions, lock, recovery.

::

    handle = open_token_cache(path, encryption="auto", key=None)
    app = msal.PublicClientApplication(
        client_id, token_cache=handle.cache, http_cache=handle.http_cache
    )
    handle.info.to_dict()  # {"path", "encrypted", "encryption", "warnings"} for status
    handle.last_changed()  # a stamp that changes whenever any process saved the file

Encryption (``encryption=``):

- ``"auto"``: a configured ``key`` wins; else the OS keyring (DPAPI, Keychain, libsecret via
  ``msal_extensions.build_encrypted_persistence``) when it works here; else plaintext (0600)
  with a warning in ``handle.warnings`` and the log.
- ``"required"``: as ``auto``, but ``CacheError`` instead of plaintext.
- ``"none"``: plaintext (0600), no warning: the admin chose it.

Files, in a folder only the user may write to (``private_files``): ``<path>`` (0600),
``<path>.http-cache`` (msal's metadata of the identity provider, ``http_cache``),
``<path>.lockfile`` while a process writes (``lock``), and
``<path>.corrupt-<UTC timestamp>`` for damaged content replaced by a new cache. The cache is
a ``msal.SerializableTokenCache`` that every process sharing the file (server, CLI,
direct-mode kernels) reads again when another one changed it, and changes under one
cross-process lock (``shared``); ``handle.last_changed()`` tells when any process
changed it. Opening and reading never change a file; a file written with another key is
refused, never replaced. Only public APIs of msal and msal-extensions are used.
See docs/cache.md.
"""

from __future__ import annotations

import logging
import os
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.fernet import Fernet

from ..errors import CacheError, CacheLocked
from .crypto import CacheKey, cache_key, looks_key_encrypted
from .file import AtomicFilePersistence
from .http_cache import HTTP_CACHE_SUFFIX, PersistedHttpCache, valid_http_cache
from .keyring import GuardedPersistence, open_keyring
from .lock import DEFAULT_LOCK_TIMEOUT, portalocker
from .private_files import ensure_private_folder, read_private
from .shared import SharedTokenCache

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
        cache: SharedTokenCache,
        path: str,
        encryption: Literal["key", "keyring", "none"],
        warnings: list[str],
        http_cache: MutableMapping[str, Any] | None = None,
    ) -> None:
        #: Pass as ``token_cache=`` to msal (a ``msal.SerializableTokenCache``).
        self.cache = cache
        #: Pass as ``http_cache=`` to msal: the identity provider's metadata, persisted.
        self.http_cache = http_cache
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
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> TokenCacheHandle:
    """Open (or create) the persisted token cache at ``path``; see the module docstring.

    Raises ``ValueError`` for an unknown ``encryption`` (or ``"none"`` with a key) and
    ``CacheError`` when the cache cannot be used as configured: encryption required but
    unavailable, a file encrypted with a key this process does not have (or with none), a
    folder others can write to, a link or another user's file, no permission. Damaged content
    is not an error: it reads as an empty cache, with a warning. ``lock_timeout`` is how long
    a change waits for another process's lock.
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

    try:
        ensure_private_folder(os.path.dirname(location), log, warn)
        found = read_private(location, log)
    except OSError as exc:
        raise CacheError(
            f"The token cache {location} cannot be used: {exc.strerror or exc}.",
            hint="Check JupyterMsal.cache_path and the permissions of its folder.",
        ) from exc
    head = found[0][:64] if found else None
    if not key and head is not None and looks_key_encrypted(head):
        raise CacheError(
            f"The token cache {location} is encrypted with a cache_key, and none is configured.",
            hint="Set JUPYTER_MSAL_CACHE_KEY (or JupyterMsal.cache_key) to the key the other "
            "processes use, or move the file away to start with an empty cache.",
        )

    persistence: AtomicFilePersistence | GuardedPersistence
    the_key: CacheKey | None = cache_key(key) if key else None
    if the_key is not None:
        persistence = AtomicFilePersistence(location, key=the_key, warn=warn, log=log)
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
    if portalocker is None:
        warn("portalocker is not installed: a crashed writer's lock file blocks later writes.")

    cache = SharedTokenCache(persistence, log, warn=warn, lock_timeout=lock_timeout)
    try:
        cache.load_now()
    except OSError as exc:
        raise CacheError(
            f"The token cache {location} cannot be read: {exc.strerror or exc}.",
            hint="Check the permissions of the file and its folder.",
        ) from exc
    if isinstance(persistence, AtomicFilePersistence):
        if persistence.foreign_reason:
            raise CacheError(
                f"The token cache {location} is not usable: {persistence.foreign_reason}. "
                "Nothing was changed.",
                hint="Use the cache_key the other processes use (JUPYTER_MSAL_CACHE_KEY), or "
                "move the file away to start with an empty cache.",
            )
        if persistence.plaintext_found:
            _encrypt_now(cache, persistence, location, log)
        persistence.mark_opened()
    http_store = AtomicFilePersistence(
        location + HTTP_CACHE_SUFFIX, key=the_key, log=log, disposable=True, valid=valid_http_cache
    )
    log.debug("Token cache %s opened (encryption: %s)", location, mode)
    return TokenCacheHandle(
        cache, location, mode, warnings, http_cache=PersistedHttpCache(http_store, log)
    )


def _encrypt_now(
    cache: SharedTokenCache,
    persistence: AtomicFilePersistence,
    location: str,
    log: logging.Logger,
) -> None:
    """Encrypt a plaintext cache found when a key is set (later, if another process writes)."""
    try:
        with cache.lock.held():
            if persistence.changed():
                cache.load_now()
            if persistence.plaintext_found:
                persistence.save(cache.serialize())
                log.warning("The token cache %s was not encrypted; it now is (cache_key)", location)
    except CacheLocked:
        log.warning("The token cache %s is not encrypted yet: it is locked", location)


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
