"""The token cache's encryption with a ``cache_key``: keys, key identifiers, the file format.

A file encrypted with a key is one ASCII header line naming the key, then a Fernet token
(AES-128-CBC + HMAC-SHA256)::

    jupyter-msal-cache v2 key=<key id>
    gAAAAAB...

The key id is the first 16 hex digits of SHA-256 over a fixed label and the 32-byte Fernet
key: it tells a file written with another key from a damaged one, and reveals nothing that
helps guess the key (deriving a key from a passphrase costs scrypt first). Files written
before key ids existed are a bare Fernet token; they are still read, and a token that is
intact but does not verify counts as written with another key, never as damaged.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken

__all__ = [
    "KDF_SALT",
    "CacheKey",
    "Damaged",
    "WrongKey",
    "cache_key",
    "decode_cache",
    "encode_cache",
    "looks_key_encrypted",
    "valid_cache_json",
]

#: Salt of the scrypt derivation of a Fernet key from a ``cache_key`` that is not one.
#: Fixed (and part of the file format) so that every process given the same key can read
#: the file; changing it makes existing encrypted caches unreadable.
KDF_SALT = b"jupyter-msal/token-cache/v1"
_KEY_ID_LABEL = b"jupyter-msal/cache-key-id/v1\0"
_FERNET_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{43}=$")
_FERNET_PREFIX = b"gAAAAA"  # base64 of the Fernet version byte 0x80 and a timestamp's top bytes
_HEADER = b"jupyter-msal-cache v2 key="
_HEADER_RE = re.compile(rb"^jupyter-msal-cache v2 key=([0-9a-f]{16})\r?\n")
_FERNET_OVERHEAD = 1 + 8 + 16 + 32  # version, timestamp, IV, HMAC


class Damaged(ValueError):
    """The content cannot be read: truncated, altered, or not a token cache at all."""


class WrongKey(ValueError):
    """The content is intact but was encrypted with another key (or needs one).

    ``key_id`` is the id of the key that wrote it, when the file names one.
    """

    def __init__(self, message: str, key_id: str | None = None) -> None:
        super().__init__(message)
        self.key_id = key_id


@dataclass(frozen=True)
class CacheKey:
    """A ``cache_key`` ready for use: its Fernet and its public identifier."""

    fernet: Fernet
    id: str

    def __repr__(self) -> str:
        return f"<CacheKey id={self.id}>"


def cache_key(key: str) -> CacheKey:
    """The :class:`CacheKey` for ``key``: the key itself when it is a Fernet key, else derived.

    Derivation: scrypt(key as UTF-8, salt=``KDF_SALT``, n=2**14, r=8, p=1, 32 bytes), about
    30 ms, so a weak passphrase is costly to guess from a stolen cache file.
    """
    key = key.strip()
    raw: bytes | None = None
    if _FERNET_KEY_RE.match(key):
        with contextlib.suppress(ValueError, binascii.Error):
            raw = base64.urlsafe_b64decode(key.encode("ascii"))
    if raw is None or len(raw) != 32:
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

        raw = Scrypt(salt=KDF_SALT, length=32, n=2**14, r=8, p=1).derive(key.encode("utf-8"))
    key_id = hashlib.sha256(_KEY_ID_LABEL + raw).hexdigest()[:16]
    return CacheKey(Fernet(base64.urlsafe_b64encode(raw)), key_id)


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
    """True when ``data`` is a cache encrypted with a ``cache_key`` (either format)."""
    if data.startswith(_HEADER):
        return True
    return data.startswith(_FERNET_PREFIX) and not data.lstrip().startswith(b"{")


def encode_cache(text: str, key: CacheKey | None) -> bytes:
    """The bytes to store for the cache ``text``: encrypted and labelled when there is a key."""
    data = text.encode("utf-8")
    if key is None:
        return data
    return _HEADER + key.id.encode("ascii") + b"\n" + key.fernet.encrypt(data)


def decode_cache(
    data: bytes, key: CacheKey | None, valid: Callable[[str], bool] = valid_cache_json
) -> tuple[str, bool]:
    """The cache's JSON text in ``data``, and whether it was stored unencrypted.

    Raises :class:`WrongKey` when the content is encrypted with another key (or with one
    while ``key`` is None), :class:`Damaged` when it cannot be read at all or ``valid``
    rejects it. Plaintext is accepted with a key too (the caller encrypts it at the next save).
    """
    if not data.strip():
        return "{}", True  # an empty file is an empty cache
    if looks_key_encrypted(data):
        return _decrypt(data, key, valid), False
    text = data.decode("utf-8", "replace")
    if not valid(text):
        raise Damaged("it is not a valid token cache (damaged or truncated)")
    return text, True


def _decrypt(data: bytes, key: CacheKey | None, valid: Callable[[str], bool]) -> str:
    header = _HEADER_RE.match(data)
    file_key_id = header.group(1).decode("ascii") if header else None
    token = data[header.end() :] if header else data
    if key is None:
        raise WrongKey(
            "it is encrypted with a cache_key"
            + (f" (key id {file_key_id})" if file_key_id else "")
            + ", and none is configured in this process",
            file_key_id,
        )
    if file_key_id is not None and file_key_id != key.id:
        raise WrongKey(
            f"it is encrypted with another cache_key (key id {file_key_id}; the configured "
            f"key's id is {key.id})",
            file_key_id,
        )
    if data.startswith(_HEADER) and header is None:
        raise Damaged("its header is damaged")
    try:
        text = key.fernet.decrypt(token.strip()).decode("utf-8")
    except (InvalidToken, UnicodeDecodeError):
        if file_key_id is None and _intact_fernet_token(token):
            raise WrongKey(
                "it cannot be decrypted with the configured cache_key: it was written with "
                f"another key, in a format that does not name it (the configured key's id "
                f"is {key.id})"
            ) from None
        raise Damaged("it cannot be decrypted: the encrypted content is damaged") from None
    if not valid(text):
        raise Damaged("its decrypted content is not a token cache")
    return text


def _intact_fernet_token(token: bytes) -> bool:
    """Whether ``token`` has the shape of a whole Fernet token (it may not verify)."""
    try:
        raw = base64.urlsafe_b64decode(token.strip())
    except (ValueError, binascii.Error):
        return False
    body = len(raw) - _FERNET_OVERHEAD
    return bool(raw) and raw[0] == 0x80 and body >= 16 and body % 16 == 0
