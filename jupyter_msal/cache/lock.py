"""The cross-process lock of the token cache: ``<cache>.lockfile``, safe and bounded.

The protocol is msal-extensions' ``CrossPlatLock`` (the file's existence is the lock; its
holder keeps it ``flock``-ed and writes ``<pid> <program>`` in it; it is deleted on release),
so processes using either one exclude each other. What differs:

- the lock file is created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` and never opened any other
  way for writing: a symbolic link planted at its place is refused, never followed (after its
  5 s wait, ``CrossPlatLock`` opens the path with truncation, following links);
- a lock file whose holder is gone (killed: the kernel dropped its ``flock``) is removed at
  once instead of being waited for;
- waiting is bounded: after ``timeout`` seconds :class:`~jupyter_msal.errors.CacheLocked`
  names the process holding it (a stopped process keeps its lock for ever).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator

from ..errors import CacheError, CacheLocked
from .private_files import CLOEXEC, NOFOLLOW, POSIX, identity, open_private, pid_alive

try:
    import portalocker
except ImportError:  # pragma: no cover - a declared dependency (msal-extensions[portalocker])
    portalocker = None

__all__ = ["DEFAULT_LOCK_TIMEOUT", "STALE_LOCK_AGE", "CacheFileLock", "clear_stale_lock"]

DEFAULT_LOCK_TIMEOUT = 10.0  # seconds a writer waits for another process's lock
STALE_LOCK_AGE = 2.0  # seconds: an unlocked lock file this old has no live writer
_POLL = (0.005, 0.1)  # first and longest pause between attempts


class CacheFileLock:
    """The lock file ``path``; ``with lock.held(): ...`` holds it (not re-entrant)."""

    def __init__(
        self, path: str, log: logging.Logger, timeout: float = DEFAULT_LOCK_TIMEOUT
    ) -> None:
        self.path = path
        self.timeout = timeout
        self._log = log

    @contextlib.contextmanager
    def held(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the lock for the block; :class:`CacheLocked` after ``timeout`` seconds."""
        fd = self._acquire(self.timeout if timeout is None else timeout)
        try:
            yield
        finally:
            self._release(fd)

    def _acquire(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        pause = _POLL[0]
        while True:
            try:
                fd = os.open(
                    self.path, os.O_CREAT | os.O_EXCL | os.O_RDWR | NOFOLLOW | CLOEXEC, 0o600
                )
            except FileExistsError:
                if clear_stale_lock(self.path, self._log):
                    continue
                if time.monotonic() >= deadline:
                    raise self._timed_out(timeout) from None
                time.sleep(pause)
                pause = min(pause * 2, _POLL[1])
                continue
            try:
                _flock(fd)
                os.write(fd, f"{os.getpid()} {os.path.basename(sys.argv[0] or 'python')}".encode())
            except BaseException as exc:
                self._release(fd)
                locked = portalocker is not None and isinstance(
                    exc, portalocker.exceptions.LockException
                )
                if locked:
                    raise self._timed_out(timeout) from exc
                raise
            return fd

    def _release(self, fd: int) -> None:
        """Delete the lock file (while still holding its flock, so nobody mistakes it for a
        stale one meanwhile), then close it."""
        try:
            with contextlib.suppress(OSError):
                if identity(os.lstat(self.path))[:2] == identity(os.fstat(fd))[:2]:
                    os.unlink(self.path)
        finally:
            os.close(fd)

    def _timed_out(self, timeout: float) -> CacheLocked:
        holder = _holder(self.path)
        who = f"process {holder}" if holder else "another process"
        return CacheLocked(
            f"The token cache is locked by {who} ({self.path}), which has held it for more "
            f"than {timeout:g} s; the change was not saved.",
            hint="That process may be stopped or hung: let it continue or end it, then try again.",
            retry_after=max(1, int(timeout)),
        )


def _flock(fd: int) -> None:
    """Take the holder's flock on our new lock file (a stale-lock check may hold it for a
    moment)."""
    if portalocker is None:
        return
    for attempt in range(200):
        try:
            portalocker.lock(fd, portalocker.LOCK_EX | portalocker.LOCK_NB)
            return
        except portalocker.exceptions.LockException:
            if attempt == 199:
                raise
            time.sleep(0.005)


def _holder(path: str) -> int | None:
    """The pid written in the lock file at ``path``, if it can be read."""
    with contextlib.suppress(OSError, CacheError):
        fd = open_private(path, os.O_RDONLY)
        try:
            words = os.read(fd, 64).split()
        finally:
            os.close(fd)
        return int(words[0]) if words and words[0].isdigit() else None
    return None


def clear_stale_lock(lock_location: str, log: logging.Logger) -> bool:
    """Delete ``lock_location`` when no live process holds it; True if it was deleted.

    A writer that is killed leaves the file behind (the kernel drops its flock). A file that
    we can flock and whose writer is dead (or that is older than a writer ever holds it) is
    stale. POSIX only; elsewhere the lock's timeout applies. A symbolic link at its place is
    refused (:class:`CacheError`).
    """
    if not POSIX or portalocker is None:
        return False
    try:
        fd = open_private(lock_location, os.O_RDONLY)
    except FileNotFoundError:
        return True  # released meanwhile: try again at once
    except OSError:
        return False
    pid = 0
    try:
        try:
            portalocker.lock(fd, portalocker.LOCK_EX | portalocker.LOCK_NB)
        except (portalocker.exceptions.LockException, OSError):
            return False  # a live writer holds it
        try:
            st = os.fstat(fd)
            words = os.read(fd, 64).split()
            pid = int(words[0]) if words and words[0].isdigit() else 0
            stale = (pid and not pid_alive(pid)) or time.time() - st.st_mtime > STALE_LOCK_AGE
            if not stale or identity(os.lstat(lock_location))[:2] != identity(st)[:2]:
                return False
            os.unlink(lock_location)
        except OSError:
            return False
        finally:
            with contextlib.suppress(OSError, portalocker.exceptions.LockException):
                portalocker.unlock(fd)
    finally:
        os.close(fd)
    log.warning("Removed a stale token cache lock %s (left by process %s)", lock_location, pid)
    return True
