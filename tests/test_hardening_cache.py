"""A hostile or unlucky cache folder cannot hurt the user.

* A folder others can write to, or that another user owns, is refused naming ``cache_path``;
  every file is opened without following symbolic links, and a cache file that is a link or
  belongs to another user is refused (a planted "signed in as mallory" cache, a link that would
  have its target's mode changed or its content overwritten).
* A wrong ``cache_key`` is refused like a missing one and touches nothing; damaged content is
  only moved aside when a new cache is saved in its place, never by a read-only command.
* A stuck lock holder (a stopped process) gives a typed 503 for a sign-out, and a token
  refreshed meanwhile is kept in memory and saved once the lock is free.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msal
import pytest
from cryptography.fernet import Fernet

from jupyter_msal.cache import generate_key, open_token_cache
from jupyter_msal.cache.crypto import cache_key
from jupyter_msal.errors import CacheError
from jupyter_msal.testing import EntraEmulator
from jupyter_msal.testing.server import emulator_environment
from jupyter_msal.testing.server import run_cli as cli

POSIX_ONLY = pytest.mark.skipif(os.name == "nt", reason="POSIX owners, modes and signals")
AS_ROOT = pytest.mark.skipif(
    os.name == "nt" or os.geteuid() != 0, reason="needs root to give files to another user"
)
NOBODY = 65534
CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
STORAGE = "https://storage.azure.com/.default"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def sign_in_event(user: str) -> dict[str, Any]:
    """What msal hands ``TokenCache.add`` after ``user`` signed in (a fake, offline)."""
    tenant, host = "00000000-0000-4000-8000-0000000000aa", "login.microsoftonline.com"
    claims = {"oid": user, "tid": tenant, "preferred_username": f"{user}@example.com"}
    return {
        "client_id": CLIENT_ID,
        "scope": ["https://storage.azure.com/user_impersonation"],
        "token_endpoint": f"https://{host}/{tenant}/oauth2/v2.0/token",
        "environment": host,
        "grant_type": "refresh_token",
        "data": {},
        "response": {
            "token_type": "Bearer",
            "scope": "https://storage.azure.com/user_impersonation",
            "expires_in": 3600,
            "access_token": f"AT-of-{user}",
            "refresh_token": f"RT-of-{user}",
            "id_token": ".".join([_b64({"alg": "none"}), _b64(claims), "c2ln"]),
            "client_info": _b64({"uid": user, "utid": tenant}),
        },
    }


def users(cache: msal.TokenCache) -> set[str]:
    """The usernames signed in to ``cache``."""
    return {a["username"] for a in cache.search(msal.TokenCache.CredentialType.ACCOUNT)}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A private folder for the cache."""
    path = tmp_path / "msal"
    path.mkdir(mode=0o700)
    return path


def listing(folder: Path) -> dict[str, bytes]:
    """Every file of ``folder`` with its content (links as their target's name)."""
    return {
        p.name: (os.readlink(p).encode() if p.is_symlink() else p.read_bytes())
        for p in sorted(folder.iterdir())
    }


# -- the folder and its files -----------------------------------------------------------------


@POSIX_ONLY
def test_symlinked_lock_file_in_a_shared_folder_is_never_followed(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp: anyone may create files in it
    notes = tmp_path / "notes.txt"
    notes.write_text("the victim's notes\n")
    (shared / "cache.bin.lockfile").symlink_to(notes)  # what another user would plant
    with pytest.raises(CacheError, match="can be written by other users") as info:
        open_token_cache(shared / "cache.bin", encryption="none")
    assert "cache_path" in str(info.value) and info.value.details["setting"] == "cache_path"
    assert notes.read_text() == "the victim's notes\n"
    assert sorted(p.name for p in shared.iterdir()) == ["cache.bin.lockfile"]


@POSIX_ONLY
def test_a_link_planted_in_a_private_folder_is_refused_not_followed(folder: Path) -> None:
    notes = folder.parent / "notes.txt"
    notes.write_text("the victim's notes\n")
    os.chmod(notes, 0o644)
    handle = open_token_cache(folder / "cache.bin", encryption="none")
    (folder / "cache.bin.lockfile").symlink_to(notes)
    with pytest.raises(CacheError, match="symbolic link") as info:
        handle.cache.add(sign_in_event("alice"))
    assert "cache.bin.lockfile" in str(info.value) and "cache_path" in str(info.value)
    assert notes.read_text() == "the victim's notes\n"
    assert stat.S_IMODE(notes.stat().st_mode) == 0o644
    assert not (folder / "cache.bin").exists()


@POSIX_ONLY
def test_a_cache_path_that_is_a_link_is_refused_and_its_target_untouched(folder: Path) -> None:
    target = folder.parent / "elsewhere.json"
    target.write_text("{}")
    os.chmod(target, 0o644)
    (folder / "cache.bin").symlink_to(target)
    with pytest.raises(CacheError, match="symbolic link"):
        open_token_cache(folder / "cache.bin", encryption="none")
    assert stat.S_IMODE(target.stat().st_mode) == 0o644 and target.read_text() == "{}"


@AS_ROOT
def test_a_folder_of_another_user_is_refused(folder: Path) -> None:
    os.chown(folder, NOBODY, NOBODY)
    with pytest.raises(CacheError, match="belongs to another user") as info:
        open_token_cache(folder / "cache.bin", encryption="none")
    assert "cache_path" in str(info.value)
    assert list(folder.iterdir()) == []


@AS_ROOT
def test_a_cache_planted_by_another_user_is_refused(folder: Path) -> None:
    planted = open_token_cache(folder / "cache.bin", encryption="none")
    planted.cache.add(sign_in_event("mallory"))
    os.chown(folder / "cache.bin", NOBODY, NOBODY)
    before = listing(folder)
    with pytest.raises(CacheError, match="belongs to another user"):
        open_token_cache(folder / "cache.bin", encryption="none")
    assert listing(folder) == before


# -- keys and damage ---------------------------------------------------------------------------




@pytest.fixture
def shell_env(msal_emulator: EntraEmulator, folder: Path, tmp_path: Path) -> dict[str, str]:
    """A plain shell's environment on the emulator, with the cache in ``folder``."""
    (tmp_path / "config").mkdir()
    return emulator_environment(
        msal_emulator, folder / "token_cache.bin", JUPYTER_CONFIG_DIR=str(tmp_path / "config")
    )


def test_a_wrong_key_refuses_touches_nothing_and_says_so(
    msal_emulator: EntraEmulator, shell_env: dict[str, str], folder: Path
) -> None:
    right, wrong = generate_key(), generate_key()
    keyed = dict(shell_env, JUPYTER_MSAL_CACHE_ENCRYPTION="auto", JUPYTER_MSAL_CACHE_KEY=right)
    msal_emulator.auto_approve = "ada@contoso.com"
    assert cli(keyed, "login").returncode == 0
    before = listing(folder)

    for attempt in range(7):  # alternating keys, more often than aside-files were kept
        other = dict(keyed, JUPYTER_MSAL_CACHE_KEY=wrong)
        refused = cli(other, "accounts")
        assert refused.returncode != 0 and refused.stdout == "", refused
        assert "another cache_key" in refused.stderr and "Nothing was changed" in refused.stderr
        assert cache_key(right).id in refused.stderr and cache_key(wrong).id in refused.stderr
        assert listing(folder) == before, attempt
        assert cli(keyed, "accounts").stdout.startswith("ada@contoso.com\t")


def test_a_file_in_the_old_format_with_another_key_is_not_taken_for_damage(folder: Path) -> None:
    path = folder / "cache.bin"
    plain = open_token_cache(path, encryption="none")
    plain.cache.add(sign_in_event("alice"))
    old_key = generate_key()
    path.write_bytes(Fernet(old_key).encrypt(path.read_bytes()))  # no key id: older files
    before = listing(folder)
    with pytest.raises(CacheError, match="another key"):
        open_token_cache(path, key=generate_key())
    assert listing(folder) == before
    reopened = open_token_cache(path, key=old_key)
    assert users(reopened.cache) == {"alice@example.com"}
    path.write_bytes(path.read_bytes()[:50])  # truncated: that is damage
    assert users(open_token_cache(path, key=old_key).cache) == set()


def test_read_only_commands_never_move_a_damaged_cache(
    msal_emulator: EntraEmulator, shell_env: dict[str, str], folder: Path
) -> None:
    damaged = b'{"RefreshToken": {"x": '
    (folder / "token_cache.bin").write_bytes(damaged)
    os.chmod(folder / "token_cache.bin", 0o600)
    for command in (["accounts"], ["status", "--json"], ["token", "--scope", STORAGE]):
        result = cli(shell_env, *command)
        assert "could not be read" in result.stderr + result.stdout, (command, result)
        assert listing(folder) == {"token_cache.bin": damaged}, command
    msal_emulator.auto_approve = "ada@contoso.com"
    assert cli(shell_env, "login").returncode == 0  # a write: the damage is kept aside
    aside = [name for name in listing(folder) if ".corrupt-" in name]
    assert len(aside) == 1 and listing(folder)[aside[0]] == damaged
    assert cli(shell_env, "accounts").stdout.startswith("ada@contoso.com\t")


# -- a stuck lock holder ----------------------------------------------------------------------

_HOLDER = """
import logging, sys, time
from jupyter_msal.cache.lock import CacheFileLock
with CacheFileLock(sys.argv[1], logging.getLogger()).held():
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def stopped_lock_holder(cache_file: Path) -> Iterator[subprocess.Popen[str]]:
    """Start a process that takes the cache's lock and stop it (SIGSTOP), as a user might
    with Ctrl-Z; call ``holder.release()`` to let the lock go (it is killed)."""
    cache_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, f"{cache_file}.lockfile"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    os.kill(holder.pid, signal.SIGSTOP)

    def release() -> None:
        holder.kill()
        holder.wait(10)

    holder.release = release  # type: ignore[attr-defined]
    try:
        yield holder
    finally:
        if holder.poll() is None:
            release()


@POSIX_ONLY
@pytest.mark.parametrize("msal_extra_env", [{"JUPYTER_MSAL_CACHE_LOCK_TIMEOUT": "1"}])
async def test_a_stopped_lock_holder_gives_typed_503s_and_loses_no_token(
    api: Any,
    sign_in: Any,
    msal_emulator: EntraEmulator,
    jp_fetch: Any,
    cache_file: Path,
    request: pytest.FixtureRequest,
) -> None:
    await sign_in()
    status, first = await api("POST", "token", {"scopes": [STORAGE]})
    assert status == 200
    holder = request.getfixturevalue("stopped_lock_holder")
    msal_emulator.reset_counts()

    status, fresh = await api("POST", "token", {"scopes": [STORAGE], "force_refresh": True})
    assert status == 200, fresh
    assert fresh["access_token"] != first["access_token"]
    assert msal_emulator.counts["grant:refresh_token"] == 1
    status, again = await api("POST", "token", {"scopes": [STORAGE]})
    assert again["access_token"] == fresh["access_token"]  # from memory, not lost
    assert msal_emulator.counts["token"] == 1
    assert fresh["access_token"] not in cache_file.read_text()  # not saved yet
    status, doc = await api("GET", "status")
    assert any("kept in memory" in w for w in doc["cache"]["warnings"]), doc["cache"]

    response = await jp_fetch("jupyter-msal", "accounts", method="DELETE", raise_error=False)
    body = json.loads(response.body)
    assert response.code == 503 and body["error"] == "cache_locked", body
    assert f"process {holder.pid}" in body["message"]
    assert response.headers["Retry-After"] == "1" and body["retry_after"] == 1
    assert (await api("GET", "accounts"))[1]["accounts"] != []  # nobody was signed out

    holder.release()  # the lock is free (stale) now
    status, listed = await api("GET", "accounts")
    assert status == 200 and listed["accounts"] != []
    assert fresh["access_token"] in cache_file.read_text()  # saved at last
    status, removed = await api("DELETE", "accounts")
    assert status == 200 and removed["accounts"] == []
    assert "refresh_token" not in json.loads(cache_file.read_text()).get("RefreshToken", {})
    assert json.loads(cache_file.read_text()).get("RefreshToken", {}) == {}


def test_opening_waits_for_no_lock(folder: Path) -> None:
    """Reading (listing accounts, status) never takes the lock, so a stuck holder cannot
    block it; only changes wait."""
    path = folder / "cache.bin"
    open_token_cache(path, encryption="none").cache.add(sign_in_event("alice"))
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, f"{path}.lockfile"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        os.kill(holder.pid, signal.SIGSTOP)
        handle = open_token_cache(path, encryption="none", lock_timeout=0.2)
        assert users(handle.cache) == {"alice@example.com"}
        started = time.monotonic()
        handle.cache.add(sign_in_event("bob"))  # kept in memory, not saved
        assert users(handle.cache) == {"alice@example.com", "bob@example.com"}
        assert handle.cache.unsaved_changes > 0
        print(f"a change waited {time.monotonic() - started:.2f} s for the stopped holder")
    finally:
        holder.kill()
        holder.wait(10)
    assert users(open_token_cache(path, encryption="none").cache) == {"alice@example.com"}
    handle.cache.add(sign_in_event("carol"))
    assert users(open_token_cache(path, encryption="none").cache) == {
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
    }
