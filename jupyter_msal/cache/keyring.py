"""The OS-protected token cache of msal-extensions (DPAPI, Keychain, libsecret), made safe.

Used by ``cache_encryption="auto"``/``"required"`` when no ``cache_key`` is set. Those
persistences write in place (no atomic replace), and changes are detected by the version
(inode, size, mtime) of the signal file that they touch on every save; that is accepted for
them and documented in docs/cache.md.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any

from msal_extensions import FilePersistence
from msal_extensions.persistence import BasePersistence, PersistenceNotFound

from ..errors import CacheError
from .crypto import valid_cache_json
from .file import move_aside
from .private_files import Identity, Warn, file_version, open_private, tighten_file

# What a keyring that cannot be used raises (msal_extensions' own errors are OSErrors;
# PyGObject's GLib.Error is a RuntimeError).
KEYRING_ERRORS = (ImportError, RuntimeError, OSError, ValueError)


class GuardedPersistence(BasePersistence):
    """A keyring persistence whose unreadable content is recovered from, not raised.

    The keyring persistences of msal-extensions write in place (no atomic replace) and touch
    a signal file (with DPAPI: the data file) on every save; ``changed`` compares that file's
    version with the one seen at the last load or save here.
    """

    is_encrypted = True

    def __init__(self, inner: BasePersistence, warn: Warn, log: logging.Logger) -> None:
        self._inner = inner
        self._warn = warn
        self._log = log
        self._synced: Identity | None = None  # signal file version at the last load or save

    def save(self, content: str) -> None:
        """Save through the keyring; keep the signal/data file 0600."""
        self._inner.save(content)
        with contextlib.suppress(OSError, CacheError):
            fd = open_private(self.get_location(), os.O_RDONLY)
            try:
                tighten_file(fd, os.fstat(fd), self._log)
            finally:
                os.close(fd)
        self._synced = file_version(self.get_location())

    def load(self) -> str:
        """Load through the keyring; ``"{}"`` (with a warning) if it cannot be used."""
        # seen before reading: a save made meanwhile makes the next ``changed`` true again
        self._synced = file_version(self.get_location())
        try:
            text = self._inner.load()
        except PersistenceNotFound:
            raise
        except KEYRING_ERRORS as exc:
            return self._recover(f"it cannot be decrypted: {type(exc).__name__}")
        if not text.strip():
            return "{}"
        if not valid_cache_json(text):
            return self._recover("it is not a valid token cache")
        return text

    def _recover(self, reason: str) -> str:
        location = self.get_location()
        if isinstance(self._inner, FilePersistence) and os.path.exists(location):
            move_aside(location, None, reason, self._warn)  # Windows DPAPI: data in the file
        else:
            self._warn(
                f"The token cache in the OS keyring could not be read ({reason}); "
                "an empty cache is used and overwrites it at the next write."
            )
        return "{}"

    def changed(self) -> bool:
        """Whether the signal file differs from the version seen at the last load or save."""
        return file_version(self.get_location()) != self._synced

    def version(self) -> Identity | None:
        """The signal file's version now; None when there is none."""
        return file_version(self.get_location())

    def time_last_modified(self) -> float:
        """The signal file's mtime."""
        return self._inner.time_last_modified()

    def get_location(self) -> str:
        """The signal (or, with DPAPI, data) file."""
        return self._inner.get_location()


def open_keyring(location: str) -> tuple[BasePersistence | None, str]:
    """msal-extensions' OS-protected persistence if it works here, else (None, why not)."""
    try:
        from msal_extensions import LibsecretPersistence, build_encrypted_persistence

        persistence = build_encrypted_persistence(location)
        if not isinstance(persistence, LibsecretPersistence):  # that one probes itself
            # a separate item: the real one may hold data we must not overwrite, and data that
            # cannot be decrypted means a damaged cache (recovered later), not a broken keyring
            _round_trip(build_encrypted_persistence, location + ".probe")
    except KEYRING_ERRORS as exc:
        text = str(exc).strip().splitlines()
        return None, f"{type(exc).__name__}: {text[0] if text else 'unavailable'}"
    return persistence, ""


def _round_trip(build: Any, probe_location: str) -> None:
    probe = build(probe_location)
    try:
        probe.save('{"probe": {}}')
        if probe.load() != '{"probe": {}}':
            raise RuntimeError("the keyring returned something else than was stored")
    finally:
        with contextlib.suppress(OSError):
            os.remove(probe_location)
