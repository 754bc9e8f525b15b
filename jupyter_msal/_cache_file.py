"""The file behind the token cache: atomic, 0600, optionally encrypted with a key, self-healing.

``AtomicFilePersistence`` is a ``msal_extensions.persistence.BasePersistence`` (the shared
token cache in ``cache.py`` loads and saves through it) that differs from
``msal_extensions.FilePersistence`` in what matters for a cache shared by a long-running
server and short-lived CLI/kernel processes:

- every save writes a new file next to the cache (``O_CREAT | O_EXCL``, mode 0600), fsyncs it
  and ``os.replace``-s it onto the cache, so a writer killed mid-write never leaves a torn file;
- every save gives the file a distinct nanosecond mtime and a new inode, and readers compare
  (device, inode, size, mtime_ns) with what they last read or wrote, so a change made by another
  process within the file system's timestamp granularity is still seen;
- content that cannot be read (bad JSON, wrong key, truncated, random bytes) is moved aside to
  ``<path>.corrupt-<UTC timestamp>`` with a warning, and an empty cache is used instead;
- with a key, the content is a Fernet token (AES-128-CBC + HMAC-SHA256).

Nothing here logs the cache's content.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import os
import re
import secrets
import time
from datetime import datetime, timezone

from cryptography.fernet import Fernet, InvalidToken
from msal_extensions.persistence import BasePersistence, PersistenceNotFound

from ._cache_os import (
    POSIX,
    Identity,
    Warn,
    ensure_private_folder,
    file_version,
    identity,
    pid_alive,
    tighten_file,
)
from .errors import CacheError

#: Salt of the scrypt derivation of a Fernet key from a ``cache_key`` that is not one.
#: Fixed (and part of the file format) so that every process given the same key can read
#: the file; changing it makes existing encrypted caches unreadable.
KDF_SALT = b"jupyter-msal/token-cache/v1"
_FERNET_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{43}=$")
_FERNET_PREFIX = b"gAAAAA"  # base64 of the Fernet version byte 0x80 and a timestamp's top bytes
_KEEP_CORRUPT = 5  # moved-aside files kept per cache; older ones are deleted


def fernet_for_key(key: str) -> Fernet:
    """The Fernet used for ``key``: the key itself when it is a Fernet key, else derived.

    Derivation: scrypt(key as UTF-8, salt=``KDF_SALT``, n=2**14, r=8, p=1, 32 bytes), about
    30 ms, so a weak passphrase is costly to guess from a stolen cache file.
    """
    key = key.strip()
    if _FERNET_KEY_RE.match(key):
        with contextlib.suppress(ValueError, binascii.Error):
            return Fernet(key.encode("ascii"))
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    derived = Scrypt(salt=KDF_SALT, length=32, n=2**14, r=8, p=1).derive(key.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(derived))


def valid_cache_json(text: str) -> bool:
    """True when ``text`` is a cache msal can use: an object of objects of objects."""
    try:
        data = json.loads(text)
    except ValueError:
        return False
    return isinstance(data, dict) and all(
        isinstance(group, dict) and all(isinstance(entry, dict) for entry in group.values())
        for group in data.values()
    )


def looks_key_encrypted(data: bytes) -> bool:
    """True when ``data`` looks like a Fernet token (a cache encrypted with a ``cache_key``)."""
    return data.startswith(_FERNET_PREFIX) and not data.lstrip().startswith(b"{")


class _Unreadable(Exception):
    def __init__(self, reason: str, *, foreign: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.foreign = foreign


class AtomicFilePersistence(BasePersistence):
    """A ``msal_extensions`` persistence with atomic, 0600, optionally key-encrypted saves.

    ``load`` never raises for bad content (only ``PersistenceNotFound`` for a missing file):
    it moves unreadable content aside, reports it through ``warn`` and returns an empty cache.
    A file encrypted with a key that this process does not have is the exception: it is
    reported but left in place, and ``save`` refuses to overwrite it (``CacheError``).
    """

    def __init__(
        self,
        location: str,
        *,
        fernet: Fernet | None = None,
        warn: Warn | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self._location = os.path.abspath(os.path.expanduser(location))
        self._fernet = fernet
        self.is_encrypted = fernet is not None
        self._warn: Warn = warn or (lambda message: None)
        self._log = log or logging.getLogger("jupyter_msal.cache")
        self._synced: Identity | None = None  # the version last read or written here
        self._foreign: Identity | None = None  # a version we may not overwrite
        #: True after reading a plaintext file with a key configured (re-encrypted on save).
        self.plaintext_found = False
        #: Why the file on disk cannot be used by this process, when it cannot.
        self.foreign_reason: str | None = None
        self._opened = False  # after the first read: later findings are run-time warnings

    # -- BasePersistence -------------------------------------------------------------------

    def get_location(self) -> str:
        """The cache file's path."""
        return self._location

    def time_last_modified(self) -> float:
        """The file's mtime in seconds, from ``st_mtime_ns``: distinct for every save."""
        try:
            return os.stat(self._location).st_mtime_ns / 1e9
        except FileNotFoundError:
            raise PersistenceNotFound(location=self._location) from None

    def load(self) -> str:
        """The cache's JSON text; ``"{}"`` after recovering from unreadable content."""
        for _attempt in range(3):
            try:
                fd = os.open(self._location, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            except FileNotFoundError:
                self._synced = None
                raise PersistenceNotFound(location=self._location) from None
            with os.fdopen(fd, "rb") as handle:
                st = os.fstat(handle.fileno())
                tighten_file(handle.fileno(), st, self._log)
                data = handle.read()
            try:
                text = self._decode(data)
            except _Unreadable as exc:
                if exc.foreign:
                    return self._keep_foreign(st, exc.reason)
                if self._move_aside(st, exc.reason):
                    self._synced = None
                    return "{}"
                continue  # replaced by a writer meanwhile: read the new version
            self._synced = identity(st)
            self._foreign = self.foreign_reason = None
            return text
        self._synced = None
        return "{}"

    def save(self, content: str) -> None:
        """Write ``content`` atomically: new 0600 file, fsync, ``os.replace`` onto the cache."""
        if self._foreign is not None:
            with contextlib.suppress(FileNotFoundError):
                if identity(os.stat(self._location)) == self._foreign:
                    raise CacheError(
                        f"Not overwriting the token cache {self._location}: {self.foreign_reason}",
                        hint="Give every process that shares this cache the same cache_key "
                        "(JUPYTER_MSAL_CACHE_KEY).",
                    )
        data = content.encode("utf-8")
        if self._fernet is not None:
            data = self._fernet.encrypt(data)
        folder, name = os.path.split(self._location)
        if not os.path.isdir(folder):
            ensure_private_folder(folder, self._log, self._warn)
        tmp = os.path.join(folder, f".{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
        flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(tmp, flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0), 0o600)
        try:
            try:
                if POSIX:
                    os.fchmod(fd, 0o600)  # whatever the umask
                self._write_all(fd, data)
                st = self._stamp(fd, tmp)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._replace(tmp)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if POSIX:
            self._fsync_folder(folder)
        self._synced = identity(st)
        self._foreign = self.foreign_reason = None
        self.plaintext_found = False

    # -- helpers ---------------------------------------------------------------------------

    def changed(self) -> bool:
        """Whether the file differs from the version this process last read or wrote."""
        return file_version(self._location) != self._synced

    def version(self) -> Identity | None:
        """The file's version now (device, inode, size, mtime_ns); None when there is none."""
        return file_version(self._location)

    def mark_opened(self) -> None:
        """Call once the first read (at open) is done: a plaintext file found later is warned
        about (at open, the plaintext is simply encrypted)."""
        self._opened = True

    def _replace(self, tmp: str) -> None:
        if POSIX:
            os.replace(tmp, self._location)
            return
        for attempt in range(20):  # Windows refuses while a reader has the file open
            try:
                os.replace(tmp, self._location)
                return
            except PermissionError:
                if attempt == 19:
                    raise
                time.sleep(0.01)

    @staticmethod
    def _write_all(fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    def _stamp(self, fd: int, tmp: str) -> os.stat_result:
        """Give the new file an mtime that no earlier version had, then return its stat."""
        now = time.time_ns()
        with contextlib.suppress(FileNotFoundError):
            now = max(now, os.stat(self._location).st_mtime_ns + 1000)
        if os.utime in os.supports_fd:
            os.utime(fd, ns=(now, now))
        else:
            os.utime(tmp, ns=(now, now))
        return os.fstat(fd)

    @staticmethod
    def _fsync_folder(folder: str) -> None:
        with contextlib.suppress(OSError):
            dfd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def _decode(self, data: bytes) -> str:
        if not data.strip():
            return "{}"  # an empty file is an empty cache
        if self._fernet is not None:
            try:
                text = self._fernet.decrypt(data).decode("utf-8")
            except (InvalidToken, UnicodeDecodeError):
                text = data.decode("utf-8", "replace")
                if valid_cache_json(text):
                    if self._opened and not self.plaintext_found:
                        self._warn(
                            f"The token cache {self._location} was written unencrypted by a "
                            "process without the cache_key; it is encrypted at the next write."
                        )
                    self.plaintext_found = True
                    return text
                raise _Unreadable(
                    "it cannot be decrypted with the configured cache_key: another key, or "
                    "damaged content"
                ) from None
            if not valid_cache_json(text):
                raise _Unreadable("its decrypted content is not a token cache")
            return text
        if looks_key_encrypted(data):
            raise _Unreadable(
                "it is encrypted with a cache_key, and none is configured in this process",
                foreign=True,
            )
        text = data.decode("utf-8", "replace")
        if not valid_cache_json(text):
            raise _Unreadable("it is not a valid token cache (damaged or truncated)")
        return text

    def _keep_foreign(self, st: os.stat_result, reason: str) -> str:
        ident = identity(st)
        if ident != self._foreign:
            self._warn(f"The token cache {self._location} is not usable: {reason}.")
        self._synced = self._foreign = ident
        self.foreign_reason = reason
        return "{}"

    def _move_aside(self, st: os.stat_result, reason: str) -> bool:
        """Rename the unreadable version aside; False if the file was replaced meanwhile."""
        return move_aside(self._location, identity(st), reason, self._warn)

    def remove_stale_temporaries(self) -> int:
        """Delete temporary files left by killed writers (call under the lock); how many."""
        folder, name = os.path.split(self._location)
        prefix = f".{name}.tmp-"
        removed = 0
        with contextlib.suppress(OSError):
            for entry in os.scandir(folder):
                if not entry.name.startswith(prefix):
                    continue
                pid_text = entry.name[len(prefix) :].split("-", 1)[0]
                pid = int(pid_text) if pid_text.isdigit() else 0
                try:
                    age = time.time() - entry.stat().st_mtime
                except OSError:
                    continue
                if (pid and not pid_alive(pid)) or age > 600:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                        removed += 1
        return removed


def move_aside(location: str, expected: Identity | None, reason: str, warn: Warn) -> bool:
    """Rename an unreadable cache to ``<location>.corrupt-<UTC timestamp>`` (0600) and warn.

    With ``expected``, only that version of the file is moved: False means a writer replaced
    it meanwhile (read it again). The newest few moved-aside files are kept.
    """
    try:
        if expected is not None and identity(os.stat(location)) != expected:
            return False
    except FileNotFoundError:
        return True  # another process moved it already
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = f"{location}.corrupt-{stamp}"
    n = 1
    while os.path.exists(target):
        target = f"{location}.corrupt-{stamp}.{n}"
        n += 1
    try:
        os.replace(location, target)
    except FileNotFoundError:
        return True
    if POSIX:
        with contextlib.suppress(OSError):
            os.chmod(target, 0o600)
    warn(
        f"The token cache {location} could not be read: {reason}. It was moved to {target} "
        "and an empty cache is used (sign in again)."
    )
    folder, name = os.path.split(location)
    prefix = f"{name}.corrupt-"
    with contextlib.suppress(OSError):
        old = sorted(
            (entry for entry in os.scandir(folder) if entry.name.startswith(prefix)),
            key=lambda entry: entry.stat().st_mtime_ns,
        )
        for entry in old[:-_KEEP_CORRUPT]:
            os.unlink(entry.path)
    return True
