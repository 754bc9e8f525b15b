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
changed it. Opening and reading never change what a file holds; a file written with another
key is refused, never replaced. With a key, content not encrypted with it (a plaintext token
cache or metadata cache) is never used: it reads as empty, with a warning naming the file, and
is replaced at the next save. The one way to keep a plaintext cache's accounts is to encrypt it
on purpose, once: :func:`encrypt_plaintext_cache` (``jupyter msal encrypt-cache``). Only public
APIs of msal and msal-extensions are used. See docs/cache.md.
"""

from __future__ import annotations

import logging
import os
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.fernet import Fernet

from ..constants import ENCRYPTION_MODES
from ..errors import CacheError
from .crypto import CacheKey, cache_key, looks_key_encrypted
from .file import AtomicFilePersistence
from .http_cache import HTTP_CACHE_SUFFIX, PersistedHttpCache, valid_http_cache
from .keyring import GuardedPersistence, open_keyring
from .lock import DEFAULT_LOCK_TIMEOUT, portalocker
from .private_files import ensure_private_folder, read_private
from .shared import SharedTokenCache

__all__ = [
    "ENCRYPTION_MODES",
    "CacheInfo",
    "TokenCacheHandle",
    "encrypt_plaintext_cache",
    "generate_key",
    "open_token_cache",
]

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


#: What stores the cache file: a file of ours (plaintext or key-encrypted), or the OS keyring.
_Persistence = AtomicFilePersistence | GuardedPersistence
_Mode = Literal["key", "keyring", "none"]


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
    key = _checked_key(encryption, key)
    log = log or logging.getLogger("jupyter_msal.cache")
    location = os.path.abspath(os.path.expanduser(os.fspath(path)))
    warnings: list[str] = []
    warn = _WarningSink(warnings, log)
    head = _file_head(location, key, log, warn)
    the_key = cache_key(key) if key else None
    persistence, mode = _choose_persistence(location, encryption, the_key, head, warn, log)
    if portalocker is None:
        warn("portalocker is not installed: a crashed writer's lock file blocks later writes.")
    cache = SharedTokenCache(persistence, log, warn=warn, lock_timeout=lock_timeout)
    _load(cache, persistence, location, log)
    http_store = AtomicFilePersistence(
        location + HTTP_CACHE_SUFFIX,
        key=the_key,
        warn=warn,
        log=log,
        disposable=True,
        valid=valid_http_cache,
    )
    log.debug("Token cache %s opened (encryption: %s)", location, mode)
    return TokenCacheHandle(
        cache, location, mode, warnings, http_cache=PersistedHttpCache(http_store, log)
    )


def _checked_key(encryption: str, key: str | None) -> str | None:
    """The configured key (None when blank), once ``encryption`` and the key agree."""
    if encryption not in ENCRYPTION_MODES:
        raise ValueError(
            f"encryption must be one of {', '.join(ENCRYPTION_MODES)}, not {encryption!r}"
        )
    key = (key or "").strip() or None
    if encryption == "none" and key:
        raise ValueError("encryption is 'none' but a key was given")
    return key


def _file_head(
    location: str, key: str | None, log: logging.Logger, warn: _WarningSink
) -> bytes | None:
    """The first bytes of the cache file (None when there is none yet), in a private folder.

    Refuses (``CacheError``) a folder or file this process cannot use, and a key-encrypted
    file when no key is configured.
    """
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
    return head


def _choose_persistence(
    location: str,
    encryption: str,
    the_key: CacheKey | None,
    head: bytes | None,
    warn: _WarningSink,
    log: logging.Logger,
) -> tuple[_Persistence, _Mode]:
    """Where the cache is kept and how it is protected: a configured key wins; then plaintext
    if the admin chose it; then the OS keyring; then plaintext with a warning, unless
    encryption is required (``CacheError``)."""
    if the_key is not None:
        return AtomicFilePersistence(location, key=the_key, warn=warn, log=log), "key"
    if encryption == "none":
        return AtomicFilePersistence(location, warn=warn, log=log), "none"
    keyring, reason = open_keyring(location)
    if keyring is not None:
        guarded = GuardedPersistence(keyring, warn, log)
        if head is not None and head.lstrip().startswith(b"{"):
            warn(
                f"{location} holds an unencrypted token cache that the keyring-backed cache "
                "does not use; delete it."
            )
        return guarded, "keyring"
    if encryption == "required":
        raise CacheError(
            "cache_encryption is 'required', but no cache_key is set and the OS keyring "
            f"cannot be used here ({reason}).",
            hint=_KEY_HINT,
        )
    warn(
        f"The token cache {location} is not encrypted (only file permissions 0600 "
        f"protect it): no cache_key is set and the OS keyring cannot be used here "
        f"({reason}). {_KEY_HINT} Or set cache_encryption='none' to accept this."
    )
    return AtomicFilePersistence(location, warn=warn, log=log), "none"


def _load(
    cache: SharedTokenCache, persistence: _Persistence, location: str, log: logging.Logger
) -> None:
    """Read the cache for the first time; refuse a file written with another key (or none)."""
    try:
        cache.load_now()
    except OSError as exc:
        raise CacheError(
            f"The token cache {location} cannot be read: {exc.strerror or exc}.",
            hint="Check the permissions of the file and its folder.",
        ) from exc
    if isinstance(persistence, AtomicFilePersistence) and persistence.foreign_reason:
        raise CacheError(
            f"The token cache {location} is not usable: {persistence.foreign_reason}. "
            "Nothing was changed.",
            hint="Use the cache_key the other processes use (JUPYTER_MSAL_CACHE_KEY), or "
            "move the file away to start with an empty cache.",
        )


#: What :func:`encrypt_plaintext_cache` found: it encrypted the file, the file was encrypted
#: with the key already, or there was no file (or an empty one).
MigrationResult = Literal["encrypted", "already encrypted", "no cache"]


def encrypt_plaintext_cache(
    path: str | os.PathLike[str],
    *,
    key: str,
    log: logging.Logger | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> MigrationResult:
    """Encrypt the plaintext token cache at ``path`` with ``key``, keeping its accounts.

    The one migration from a plaintext cache to a key-encrypted one, started on purpose
    (``jupyter msal encrypt-cache``): opening a cache with a key never reads plaintext.
    Done under the cache's lock, so a running server sees the encrypted file at its next
    lookup. Raises ``ValueError`` without a key and ``CacheError`` when the file cannot be
    used (another key's, damaged, a link, another user's, a folder others can write to).
    """
    key = _checked_key("auto", key)
    if key is None:
        raise ValueError("a cache_key is needed to encrypt the token cache")
    log = log or logging.getLogger("jupyter_msal.cache")
    location = os.path.abspath(os.path.expanduser(os.fspath(path)))
    warnings: list[str] = []
    warn = _WarningSink(warnings, log)
    if _file_head(location, key, log, warn) is None:
        return "no cache"
    persistence = AtomicFilePersistence(
        location, key=cache_key(key), warn=warn, log=log, accept_plaintext=True
    )
    cache = SharedTokenCache(persistence, log, warn=warn, lock_timeout=lock_timeout)
    with cache.lock.held():
        _load(cache, persistence, location, log)
        if persistence.damaged_reason:  # nothing to keep, and nothing is changed
            raise CacheError(
                f"The token cache {location} was not encrypted: it cannot be read "
                f"({persistence.damaged_reason}).",
                hint="Move the file away to start with an empty cache.",
            )
        if not persistence.plaintext_found:
            return "already encrypted" if _has_content(location) else "no cache"
        persistence.save(cache.serialize())
    log.info("The token cache %s was not encrypted; it now is (cache_key)", location)
    return "encrypted"


def _has_content(location: str) -> bool:
    """Whether the file at ``location`` exists and is not empty."""
    try:
        return os.path.getsize(location) > 0
    except FileNotFoundError:
        return False


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
