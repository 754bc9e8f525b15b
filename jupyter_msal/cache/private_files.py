"""Operating-system details of the token cache: a private folder, files opened safely, versions.

The cache folder may only be written by the user: a folder that another user can write to
(or that another user owns) is refused, because whoever can write there can plant a symbolic
link where the cache, its lock or a temporary file will be opened, or a cache of their own.
Every file is opened with ``O_NOFOLLOW`` (a symbolic link is refused, never followed), and a
cache file that is not a regular file owned by the user is refused too. Refusals are
:class:`~jupyter_msal.errors.CacheError` naming ``JupyterMsal.cache_path``.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
import time
from collections.abc import Callable

from ..errors import CacheError

POSIX = os.name != "nt"
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)
BINARY = getattr(os, "O_BINARY", 0)

Identity = tuple[int, int, int, int]
Warn = Callable[[str], None]

_PATH_HINT = (
    "Set JupyterMsal.cache_path (or JUPYTER_MSAL_CACHE_PATH) to a file in a folder that only "
    "you can write to, e.g. ~/.local/share/jupyter/msal/token_cache.bin."
)


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


def owned(st: os.stat_result) -> bool:
    """Whether this process's user owns the file (always true where there are no owners)."""
    return not POSIX or st.st_uid == os.geteuid()


def ensure_private_folder(folder: str, log: logging.Logger, warn: Warn) -> None:
    """Create ``folder`` with mode 0700, or check that an existing one is the user's alone.

    A folder the user owns that others may read or write is made 0700, except clearly shared
    ones (sticky like /tmp, the home folder, a root): those may stay readable by others (with
    a warning), but a folder that others can write to, or that someone else owns, is refused.
    """
    if not os.path.isdir(folder):
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if POSIX:
            os.chmod(folder, 0o700)
        log.debug("Created the token cache folder %s (0700)", folder)
    if not POSIX:
        return
    st = os.stat(folder)
    mode = stat.S_IMODE(st.st_mode)
    if not owned(st):
        raise CacheError(
            f"The token cache folder {folder} belongs to another user (uid {st.st_uid}): "
            "whoever owns it can replace the cache and the files beside it.",
            hint=_PATH_HINT,
            setting="cache_path",
        )
    if not mode & 0o077:
        return
    real = os.path.realpath(folder)
    shared = (
        mode & stat.S_ISVTX
        or real == os.path.realpath(os.path.expanduser("~"))
        or os.path.dirname(real) == real
    )
    if not shared:
        os.chmod(folder, 0o700)
        log.warning(
            "The token cache folder %s was accessible to others (mode %o); it is now 0700.",
            folder,
            mode,
        )
        return
    if mode & 0o022:
        raise CacheError(
            f"The token cache folder {folder} can be written by other users (mode {mode:o}): "
            "they could plant links or files where the cache, its lock or its temporary files "
            "are opened.",
            hint=_PATH_HINT,
            setting="cache_path",
        )
    warn(
        f"The token cache folder {folder} is readable by other users (mode {mode:o}); "
        "the cache file is 0600, but a private folder (cache_path) is safer."
    )


def open_private(path: str, flags: int, mode: int = 0o600) -> int:
    """``os.open`` that never follows a symbolic link and accepts only the user's own regular
    files; raises :class:`CacheError` naming the file otherwise (and ``OSError`` as open does,
    e.g. ``FileNotFoundError``)."""
    if not NOFOLLOW and os.path.islink(path):  # no O_NOFOLLOW (Windows): check first
        raise _refused(path, "it is a symbolic link")
    try:
        fd = os.open(path, flags | NOFOLLOW | CLOEXEC | BINARY, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (
            exc.errno == errno.EMLINK and os.path.islink(path)  # FreeBSD's O_NOFOLLOW errno
        ):
            raise _refused(path, "it is a symbolic link") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _refused(path, "it is not a regular file")
        if not owned(st):
            raise _refused(path, f"it belongs to another user (uid {st.st_uid})")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _refused(path: str, why: str) -> CacheError:
    return CacheError(
        f"Refusing to use {path}: {why}. Only the user's own regular files are used in the "
        "token cache folder.",
        hint=f"Remove it if you did not create it. {_PATH_HINT}",
        setting="cache_path",
    )


def read_private(path: str, log: logging.Logger) -> tuple[bytes, os.stat_result] | None:
    """The content and stat of the user's own file at ``path`` (made 0600 if looser); None
    when there is no file."""
    try:
        fd = open_private(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        tighten_file(handle.fileno(), st, log)
        return handle.read(), st


def tighten_file(fd: int, st: os.stat_result, log: logging.Logger) -> None:
    """Make the open cache file ``fd`` (the user's own) 0600 if it is looser."""
    mode = stat.S_IMODE(st.st_mode)
    if POSIX and mode & 0o077 and owned(st):
        os.fchmod(fd, 0o600)
        log.warning("The token cache file was mode %o; it is now 0600.", mode)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd``."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def fsync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable (best effort; POSIX only)."""
    if not POSIX:
        return
    with contextlib.suppress(OSError):
        dfd = os.open(folder, os.O_RDONLY | CLOEXEC)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def new_mtime(location: str) -> int:
    """An mtime (ns) later than that of the file at ``location`` now, if there is one."""
    now = time.time_ns()
    with contextlib.suppress(FileNotFoundError):
        now = max(now, os.lstat(location).st_mtime_ns + 1000)
    return now
