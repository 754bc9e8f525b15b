"""The file behind the token cache: atomic, 0600, optionally encrypted with a key, self-healing.

``AtomicFilePersistence`` is a ``msal_extensions.persistence.BasePersistence`` (the shared
token cache in ``shared.py`` loads and saves through it) that differs from
``msal_extensions.FilePersistence`` in what matters for a cache shared by a long-running
server and short-lived CLI/kernel processes:

- every save writes a new file next to the cache (``O_CREAT | O_EXCL | O_NOFOLLOW``, mode
  0600), fsyncs it and ``os.replace``-s it onto the cache, so a writer killed mid-write never
  leaves a torn file; reads refuse symbolic links and files of other users (``private_files``);
- every save gives the file a distinct nanosecond mtime and a new inode, and readers compare
  (device, inode, size, mtime_ns) with what they last read or wrote, so a change made by another
  process within the file system's timestamp granularity is still seen;
- with a key, the content is encrypted and names the key (``crypto``), and content that is not
  encrypted with it is never used: a plaintext file reads as an empty cache, with a warning
  naming it, and is replaced at the next save (``accept_plaintext`` reads it, for the one
  migration the user starts on purpose);
- content written with another key (or with a key, when none is configured) is never
  touched: it reads as an empty cache and saving over it is refused;
- damaged content reads as an empty cache with a warning, stays where it is, and is moved to
  ``<path>.corrupt-<UTC timestamp>`` only when this process saves a new cache in its place:
  reading never moves, rewrites or deletes a file (it only tightens a loose mode to 0600).

Nothing here logs the cache's content.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timezone

from msal_extensions.persistence import BasePersistence, PersistenceNotFound

from ..errors import CacheError
from .crypto import (
    CacheKey,
    Damaged,
    WrongKey,
    decode_cache,
    encode_cache,
    valid_cache_json,
)
from .private_files import (
    POSIX,
    Identity,
    Warn,
    ensure_private_folder,
    file_version,
    fsync_folder,
    identity,
    new_mtime,
    open_private,
    pid_alive,
    read_private,
    write_all,
)

_KEEP_CORRUPT = 5  # moved-aside files kept per cache; older ones are deleted


class AtomicFilePersistence(BasePersistence):
    """A ``msal_extensions`` persistence with atomic, 0600, optionally key-encrypted saves.

    ``load`` never raises for bad content (only ``PersistenceNotFound`` for a missing file,
    and :class:`CacheError` for a file that must not be used at all: a link, another user's).
    ``disposable`` files (msal's HTTP cache) are simply overwritten when they cannot be read;
    ``valid`` tells content this file may hold (by default, a token cache). With a ``key``,
    plaintext content is read only when ``accept_plaintext`` is set (to encrypt it, on purpose).
    """

    def __init__(
        self,
        location: str,
        *,
        key: CacheKey | None = None,
        warn: Warn | None = None,
        log: logging.Logger | None = None,
        disposable: bool = False,
        valid: Callable[[str], bool] = valid_cache_json,
        accept_plaintext: bool = False,
    ) -> None:
        self._location = os.path.abspath(os.path.expanduser(location))
        self._valid = valid
        self._key = key
        self.is_encrypted = key is not None
        self._warn: Warn = warn or (lambda message: None)
        self._log = log or logging.getLogger("jupyter_msal.cache")
        self._disposable = disposable
        self._synced: Identity | None = None  # the version last read or written here
        self._foreign: Identity | None = None  # a version we may not overwrite
        self._damaged: Identity | None = None  # a version to move aside before overwriting
        self._tidied = False
        self._accept_plaintext = accept_plaintext and key is not None
        self._ignored: Identity | None = None  # a plaintext version not used (key configured)
        #: True after ``accept_plaintext`` read a plaintext file (encrypted at the next save).
        self.plaintext_found = False
        #: Why the file on disk was written for another key, when it was.
        self.foreign_reason: str | None = None
        self._damaged_reason = ""

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
        """The cache's JSON text; ``"{}"`` for content this process cannot use."""
        found = read_private(self._location, self._log)
        if found is None:
            self._synced = None
            raise PersistenceNotFound(location=self._location)
        data, st = found
        self._synced = identity(st)
        try:
            text, plaintext = decode_cache(data, self._key, self._valid)
        except WrongKey as exc:
            return self._keep(st, str(exc), foreign=True)
        except Damaged as exc:
            return self._keep(st, str(exc), foreign=False)
        self._foreign = self._damaged = None
        self.foreign_reason = None
        if plaintext and self._key is not None and data.strip():
            if not self._accept_plaintext:
                return self._ignore_plaintext(st)
            self.plaintext_found = True
        return text

    def save(self, content: str) -> None:
        """Write ``content`` atomically: new 0600 file, fsync, ``os.replace`` onto the cache.

        Refuses (``CacheError``) to replace a file written with another key; moves a damaged
        file aside first.
        """
        current = file_version(self._location)
        if current is not None and current == self._foreign and not self._disposable:
            raise CacheError(
                f"Not overwriting the token cache {self._location}: {self.foreign_reason}.",
                hint="Give every process that shares this cache the same cache_key "
                "(JUPYTER_MSAL_CACHE_KEY).",
            )
        if current is not None and current == self._damaged and not self._disposable:
            move_aside(self._location, current, self._damaged_reason, self._warn)
        folder, name = os.path.split(self._location)
        if not os.path.isdir(folder):
            ensure_private_folder(folder, self._log, self._warn)
        if not self._tidied:
            self._tidied = True
            removed = self.remove_stale_temporaries()
            if removed:
                self._log.info("Removed %d temporary file(s) left by killed writers", removed)
        data = encode_cache(content, self._key)
        tmp = os.path.join(folder, f".{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
        fd = open_private(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        try:
            try:
                if POSIX:
                    os.fchmod(fd, 0o600)  # whatever the umask
                self._write_all(fd, data)
                stamp = new_mtime(self._location)
                if os.utime in os.supports_fd:
                    os.utime(fd, ns=(stamp, stamp))
                else:
                    os.utime(tmp, ns=(stamp, stamp))
                st = os.fstat(fd)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._replace(tmp)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        fsync_folder(folder)
        self._synced = identity(st)
        self._foreign = self._damaged = None
        self.foreign_reason = None
        self.plaintext_found = False

    # -- helpers ---------------------------------------------------------------------------

    def changed(self) -> bool:
        """Whether the file differs from the version this process last read or wrote."""
        return file_version(self._location) != self._synced

    @property
    def damaged_reason(self) -> str | None:
        """Why the version last read could not be read (damaged content), when it could not."""
        return self._damaged_reason if self._damaged is not None else None

    def version(self) -> Identity | None:
        """The file's version now (device, inode, size, mtime_ns); None when there is none."""
        return file_version(self._location)

    def _ignore_plaintext(self, st: os.stat_result) -> str:
        """Read a plaintext version as empty while a key is configured; warn once per version.

        Nothing marks it as kept: the next save replaces it.
        """
        ident = identity(st)
        if ident != self._ignored:
            self._ignored = ident
            self._warn(plaintext_warning(self._location, disposable=self._disposable))
        return "{}"

    def _keep(self, st: os.stat_result, reason: str, *, foreign: bool) -> str:
        """Leave an unusable version in place; read it as an empty cache."""
        ident = identity(st)
        if ident not in (self._foreign, self._damaged) and not self._disposable:
            if foreign:
                self._warn(f"The token cache {self._location} is not usable: {reason}.")
            else:
                self._warn(
                    f"The token cache {self._location} could not be read: {reason}. It is "
                    "left as it is and an empty cache is used (sign in again); it is moved to "
                    f"{os.path.basename(self._location)}.corrupt-<time> when a new cache is "
                    "saved in its place."
                )
        if foreign:
            self._foreign, self._damaged, self.foreign_reason = ident, None, reason
        else:
            self._foreign, self._damaged, self.foreign_reason = None, ident, None
            self._damaged_reason = reason
        return "{}"

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
        write_all(fd, data)

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
                    age = time.time() - entry.stat(follow_symlinks=False).st_mtime
                except OSError:
                    continue
                if (pid and not pid_alive(pid)) or age > 600:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                        removed += 1
        return removed


def plaintext_warning(location: str, *, disposable: bool) -> str:
    """What the status and the log say about a plaintext file found while a key is set."""
    if disposable:
        return (
            f"{location} is not encrypted with the cache_key: its content is not used (the "
            "identity provider's metadata is fetched again) and the file is replaced."
        )
    return (
        f"The token cache {location} is not encrypted with the cache_key: its content is not "
        "used (an empty cache is used instead) and the file is replaced at the next save. To "
        "keep the accounts it holds, run `jupyter msal encrypt-cache` with the same cache_path "
        "and cache_key before signing in (see the token cache documentation)."
    )


def move_aside(location: str, expected: Identity | None, reason: str, warn: Warn) -> bool:
    """Rename an unreadable cache to ``<location>.corrupt-<UTC timestamp>`` (0600) and warn.

    With ``expected``, only that version of the file is moved: False means a writer replaced
    it meanwhile. The newest few moved-aside files are kept.
    """
    try:
        if expected is not None and identity(os.lstat(location)) != expected:
            return False
    except FileNotFoundError:
        return True  # another process moved it already
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = f"{location}.corrupt-{stamp}"
    n = 1
    while os.path.lexists(target):
        target = f"{location}.corrupt-{stamp}.{n}"
        n += 1
    try:
        os.replace(location, target)
    except FileNotFoundError:
        return True
    if POSIX:
        with contextlib.suppress(OSError, CacheError):
            fd = open_private(target, os.O_RDONLY)
            try:
                os.fchmod(fd, 0o600)
            finally:
                os.close(fd)
    warn(
        f"The token cache {location} could not be read: {reason}. It was moved to {target} "
        "and an empty cache is used (sign in again)."
    )
    folder, name = os.path.split(location)
    prefix = f"{name}.corrupt-"
    with contextlib.suppress(OSError):
        old = sorted(
            (entry for entry in os.scandir(folder) if entry.name.startswith(prefix)),
            key=lambda entry: entry.stat(follow_symlinks=False).st_mtime_ns,
        )
        for entry in old[:-_KEEP_CORRUPT]:
            os.unlink(entry.path)
    return True
