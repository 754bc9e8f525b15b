"""Operating-system details of the token cache: permissions, file versions, stale locks."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import time
from collections.abc import Callable

try:
    import portalocker
except ImportError:  # pragma: no cover - a declared dependency (msal-extensions[portalocker])
    portalocker = None

POSIX = os.name != "nt"
STALE_LOCK_AGE = 2.0  # seconds: an unlocked lock file this old has no live writer

Identity = tuple[int, int, int, int]
Warn = Callable[[str], None]


def identity(st: os.stat_result) -> Identity:
    """What tells one version of the file from another."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def file_version(path: str) -> Identity | None:
    """The version of the file at ``path`` now; None when there is no file."""
    try:
        return identity(os.stat(path))
    except FileNotFoundError:
        return None


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists here (unknown counts as alive)."""
    if not POSIX or pid <= 0:
        return True  # os.kill on Windows would terminate it; 0/negatives mean groups
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


def _owned(st: os.stat_result) -> bool:
    return not POSIX or st.st_uid == os.geteuid()


def ensure_private_folder(folder: str, log: logging.Logger, warn: Warn) -> None:
    """Create ``folder`` with mode 0700, or tighten an existing folder we own to 0700.

    Folders that are clearly shared (sticky like /tmp, the home folder, a root) are left as
    they are, with a warning: the cache file itself is 0600 either way.
    """
    if not os.path.isdir(folder):
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if POSIX:
            os.chmod(folder, 0o700)
        log.debug("Created the token cache folder %s (0700)", folder)
        return
    if not POSIX:
        return
    st = os.stat(folder)
    mode = stat.S_IMODE(st.st_mode)
    if not mode & 0o077:
        return
    real = os.path.realpath(folder)
    shared = (
        mode & stat.S_ISVTX
        or real == os.path.realpath(os.path.expanduser("~"))
        or os.path.dirname(real) == real
    )
    if _owned(st) and not shared:
        os.chmod(folder, 0o700)
        log.warning(
            "The token cache folder %s was accessible to others (mode %o); it is now 0700.",
            folder,
            mode,
        )
    else:
        warn(
            f"The token cache folder {folder} is accessible to other users (mode {mode:o}); "
            "the cache file is 0600, but a private folder (cache_path) is safer."
        )


def tighten_file(path_or_fd: str | int, st: os.stat_result, log: logging.Logger) -> None:
    """Make a cache file we own 0600 if it is looser."""
    mode = stat.S_IMODE(st.st_mode)
    if POSIX and mode & 0o077 and _owned(st):
        if isinstance(path_or_fd, int):
            os.fchmod(path_or_fd, 0o600)
        else:
            os.chmod(path_or_fd, 0o600)
        log.warning("The token cache file was mode %o; it is now 0600.", mode)


def clear_stale_lock(lock_location: str, log: logging.Logger) -> bool:
    """Delete ``lock_location`` when no live process holds it; True if it was deleted.

    msal-extensions' ``CrossPlatLock`` creates the lock file exclusively and then ``flock``-s it
    (portalocker); a writer that is killed leaves the file behind (the kernel drops its flock).
    A file that we can flock and whose writer is dead (or that is older than a writer ever
    holds it) is stale. POSIX only; elsewhere msal-extensions' 5 s wait applies.
    """
    if os.name == "nt" or portalocker is None:
        return False
    try:
        handle = open(lock_location, "rb+")
    except OSError:
        return False
    with handle:
        try:
            portalocker.lock(handle, portalocker.LOCK_EX | portalocker.LOCK_NB)
        except (portalocker.exceptions.LockException, OSError):
            return False  # a live writer holds it
        try:
            st = os.fstat(handle.fileno())
            words = handle.read(64).split()
            pid = int(words[0]) if words and words[0].isdigit() else 0
            stale = (pid and not pid_alive(pid)) or time.time() - st.st_mtime > STALE_LOCK_AGE
            if not stale or identity(os.stat(lock_location))[:2] != identity(st)[:2]:
                return False
            os.unlink(lock_location)
        except OSError:
            return False
        finally:
            with contextlib.suppress(OSError, portalocker.exceptions.LockException):
                portalocker.unlock(handle)
    log.warning("Removed a stale token cache lock %s (left by process %s)", lock_location, pid)
    return True
