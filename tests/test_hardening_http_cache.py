"""A ``cache_key`` covers every file it protects; the hub guide quotes the product exactly.

* msal's metadata cache (``<cache>.http-cache``) says where refresh tokens are sent: a planted
  plaintext one naming another token endpoint is ignored (a warning names the file), the next
  refresh goes to the configured authority, and the file is replaced by a sealed one.
* The token cache: a plaintext file is ignored and replaced at the next save, with a warning
  naming it; ``jupyter msal encrypt-cache`` is the one way, started on purpose, to encrypt a
  plaintext cache and keep its accounts.
* docs/jupyterhub.md quotes the product's own words for a hub login that cannot be used.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_hardening_cache import sign_in_event, users

from jupyter_msal.cache import encrypt_plaintext_cache, generate_key, open_token_cache
from jupyter_msal.cache.crypto import cache_key, decode_cache, looks_key_encrypted
from jupyter_msal.cache.http_cache import valid_http_cache
from jupyter_msal.testing import DEFAULT_USERNAME, EntraEmulator
from jupyter_msal.testing.server import run_cli as cli

NAMED = "https://storage.azure.com/user_impersonation"
GRAPH = "https://graph.microsoft.com/.default"
#: Another loopback address: the "other host" a planted metadata cache sends refresh tokens to.
OTHER_HOST = "127.0.0.2"
KEY = generate_key()


class ConnectionCounter:
    """A TCP listener on ``OTHER_HOST`` that counts connections and closes each one."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind((OTHER_HOST, 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        """Stop listening."""
        self._stop.set()
        self._thread.join()
        self._sock.close()


@pytest.fixture
def other_host() -> Iterator[ConnectionCounter]:
    counter = ConnectionCounter()
    try:
        yield counter
    finally:
        counter.close()


@pytest.fixture
def keyed_env(shell_env: dict[str, str]) -> dict[str, str]:
    """A plain shell (direct mode) on the emulator, with a cache_key; the other loopback
    address is allowed, as every host is when ``allowed_hosts`` is not set."""
    return dict(
        shell_env,
        JUPYTER_MSAL_CACHE_ENCRYPTION="auto",
        JUPYTER_MSAL_CACHE_KEY=KEY,
        JUPYTER_MSAL_ALLOWED_HOSTS=f"127.0.0.1,localhost,{OTHER_HOST}",
    )


def planted_metadata(sealed: bytes, token_endpoint: str) -> str:
    """The sealed metadata cache's content in plaintext, its token endpoint replaced."""
    text, _ = decode_cache(sealed, cache_key(KEY), valid_http_cache)
    doc = json.loads(text)
    for entry in doc["entries"]:
        body = json.loads(entry["text"])
        if "token_endpoint" in body:
            body["token_endpoint"] = token_endpoint
            entry["text"] = json.dumps(body)
    return json.dumps(doc)


def test_a_planted_plaintext_metadata_cache_is_not_used(
    msal_emulator: EntraEmulator,
    keyed_env: dict[str, str],
    other_host: ConnectionCounter,
    tmp_path: Path,
) -> None:
    msal_emulator.auto_approve = DEFAULT_USERNAME
    login = cli(keyed_env, "login", NAMED)
    assert login.returncode == 0, login.stderr
    msal_emulator.auto_approve = None
    http_cache = tmp_path / "cache" / "token_cache.bin.http-cache"
    sealed = http_cache.read_bytes()
    assert looks_key_encrypted(sealed)
    elsewhere = f"https://{OTHER_HOST}:{other_host.port}/organizations/oauth2/v2.0/token"
    planted = planted_metadata(sealed, elsewhere)
    assert elsewhere in planted
    http_cache.write_text(planted)

    msal_emulator.reset_counts()
    refresh = cli(keyed_env, "token", "--scope", GRAPH)  # a new resource: a refresh grant
    assert refresh.returncode == 0, refresh.stderr
    assert other_host.connections == 0
    assert msal_emulator.counts["grant:refresh_token"] == 1
    assert f"{http_cache} is not encrypted with the cache_key" in refresh.stderr
    replaced = http_cache.read_bytes()
    assert looks_key_encrypted(replaced) and OTHER_HOST.encode() not in replaced


def test_the_metadata_warning_is_in_the_cache_warnings(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "token_cache.bin"
    path.parent.mkdir(mode=0o700)
    location = Path(f"{path}.http-cache")
    location.write_text(json.dumps({"format": 1, "entries": []}))
    location.chmod(0o600)
    handle = open_token_cache(path, key=KEY)
    assert handle.http_cache is not None and len(handle.http_cache) == 0
    [warning] = handle.info.warnings
    assert f"{location} is not encrypted with the cache_key" in warning


def plaintext_cache(path: Path, user: str) -> None:
    """A plaintext cache at ``path`` that ``user`` signed in to."""
    open_token_cache(path, encryption="none").cache.add(sign_in_event(user))


def test_a_plaintext_token_cache_is_ignored_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "token_cache.bin"
    plaintext_cache(path, "mallory")
    handle = open_token_cache(path, key=KEY)
    assert users(handle.cache) == set()
    [warning] = handle.info.warnings
    assert f"The token cache {path} is not encrypted with the cache_key" in warning
    assert "jupyter msal encrypt-cache" in warning
    assert b"mallory" in path.read_bytes()  # opening and reading change nothing

    handle.cache.add(sign_in_event("alice"))
    assert looks_key_encrypted(path.read_bytes())
    assert users(open_token_cache(path, key=KEY).cache) == {"alice@example.com"}


def test_encrypt_cache_is_the_one_migration(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "token_cache.bin"
    assert encrypt_plaintext_cache(path, key=KEY) == "no cache"
    plaintext_cache(path, "alice")
    assert encrypt_plaintext_cache(path, key=KEY) == "encrypted"
    assert looks_key_encrypted(path.read_bytes())
    handle = open_token_cache(path, key=KEY)
    assert users(handle.cache) == {"alice@example.com"} and handle.info.warnings == ()
    assert encrypt_plaintext_cache(path, key=KEY) == "already encrypted"


def test_jupyter_msal_encrypt_cache(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "token_cache.bin"
    plaintext_cache(path, "alice")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MSAL_")}
    env.update(JUPYTER_MSAL_CACHE_PATH=str(path), JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    without_key = cli(env, "encrypt-cache")
    assert without_key.returncode != 0 and "JUPYTER_MSAL_CACHE_KEY" in without_key.stderr
    done = cli({**env, "JUPYTER_MSAL_CACHE_KEY": KEY}, "encrypt-cache")
    assert done.returncode == 0, done.stderr
    assert f"{path}: encrypted." in done.stderr
    assert users(open_token_cache(path, key=KEY).cache) == {"alice@example.com"}


# -- the hub guide quotes the product's own words ----------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def test_the_hub_guide_quotes_the_words_the_product_shows() -> None:
    guide = (ROOT / "docs" / "jupyterhub.md").read_text()
    quoted = [
        line.split(": <", 1)[0]
        for block in re.findall(r"```text\n(.*?)```", guide, flags=re.S)
        for line in block.splitlines()
        if "JupyterHub login" in line
    ]
    assert quoted == [
        "Your JupyterHub login cannot get this token",
        "the JupyterHub login cannot be used",
    ]
    code = "\n".join(p.read_text() for p in (ROOT / "jupyter_msal").rglob("*.py"))
    for words in quoted:
        assert f"{words}: " in code, words
