"""The persisted token cache: permissions, atomic writes, encryption, recovery, processes.

Real files and real processes; the cache is filled the way msal fills it (``cache.add`` with a
token-endpoint event, or a ``PublicClientApplication`` signing in against the TLS emulator).
"""

from __future__ import annotations

import base64
import inspect
import itertools
import json
import logging
import os
import random
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import msal
import msal_extensions
import pytest
from cryptography.fernet import Fernet
from msal_extensions import CrossPlatLock, FilePersistence

from jupyter_msal.cache import CacheInfo, encrypt_plaintext_cache, generate_key, open_token_cache
from jupyter_msal.cache.crypto import cache_key, decode_cache
from jupyter_msal.cache.keyring import open_keyring
from jupyter_msal.cache.lock import clear_stale_lock
from jupyter_msal.errors import CacheError

CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
TENANT = "7f0a1c2e-0000-4000-8000-00000000c0de"
HOST = "login.microsoftonline.com"
SCOPE = ("https://storage.azure.com/user_impersonation",)
RT = msal.TokenCache.CredentialType.REFRESH_TOKEN
ACCOUNT = msal.TokenCache.CredentialType.ACCOUNT
REPO = Path(__file__).resolve().parents[1]
POSIX_ONLY = pytest.mark.skipif(os.name == "nt", reason="POSIX permissions and signals")


# -- msal-shaped data -------------------------------------------------------------------------


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def rt_secret(uid: str) -> str:
    """The refresh token value the fake token response for ``uid`` carries."""
    return f"RT-secret-{uid}-7c1d9e"


def at_secret(uid: str) -> str:
    """The access token value the fake token response for ``uid`` carries."""
    return f"AT-secret-{uid}-52ab0f"


def token_event(uid: str) -> dict[str, Any]:
    """The event msal passes to ``TokenCache.add`` after a device-code sign-in of ``uid``."""
    now = int(time.time())
    claims = {
        "iss": f"https://{HOST}/{TENANT}/v2.0",
        "aud": CLIENT_ID,
        "sub": f"sub-{uid}",
        "oid": uid,
        "tid": TENANT,
        "preferred_username": f"{uid}@example.com",
        "iat": now,
        "exp": now + 3600,
    }
    id_token = ".".join([_b64({"alg": "none", "typ": "JWT"}), _b64(claims), "c2ln"])
    return {
        "client_id": CLIENT_ID,
        "scope": list(SCOPE),
        "token_endpoint": f"https://{HOST}/{TENANT}/oauth2/v2.0/token",
        "environment": HOST,
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "data": {},
        "response": {
            "token_type": "Bearer",
            "scope": " ".join(SCOPE),
            "expires_in": 3600,
            "ext_expires_in": 3600,
            "access_token": at_secret(uid),
            "refresh_token": rt_secret(uid),
            "id_token": id_token,
            "client_info": _b64({"uid": uid, "utid": TENANT}),
        },
    }


def refresh_tokens(cache: msal.TokenCache) -> set[str]:
    """The refresh token values in ``cache`` (reloading it from disk when it changed)."""
    return {entry["secret"] for entry in cache.search(RT)}


def usernames(cache: msal.TokenCache) -> set[str]:
    """The usernames of the accounts in ``cache``."""
    return {entry["username"] for entry in cache.search(ACCOUNT)}


def keyring_unavailable_reason(path: Path) -> str | None:
    """Why the OS keyring cannot be used here, or None when it can."""
    persistence, reason = open_keyring(str(path))
    return None if persistence is not None else reason


def file_text(path: Path, key: str | None = None) -> str:
    """The cache file's JSON, decrypted with ``key`` when given."""
    return decode_cache(path.read_bytes(), cache_key(key) if key is not None else None)[0]


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    """A cache path in a folder that does not exist yet."""
    return tmp_path / "msal" / "token_cache.bin"


# -- sharing one file -------------------------------------------------------------------------


def test_two_handles_on_one_file_see_each_others_changes(cache_path: Path) -> None:
    first = open_token_cache(cache_path, encryption="none")
    second = open_token_cache(cache_path, encryption="none")
    assert first.last_changed() is None and second.last_changed() is None  # no file yet

    first.cache.add(token_event("alice"))
    stamp = first.last_changed()
    assert stamp is not None and second.last_changed() == stamp  # one file, one stamp
    assert usernames(second.cache) == {"alice@example.com"}
    assert second.last_changed() == stamp, "a lookup does not change the file"

    [alice_rt] = second.cache.search(RT)
    second.cache.remove_rt(alice_rt)
    assert first.last_changed() != stamp
    assert refresh_tokens(first.cache) == set()
    # the first handle's next change builds on the second's: alice's refresh token stays gone
    first.cache.add(token_event("bob"))
    assert refresh_tokens(second.cache) == {rt_secret("bob")}
    assert rt_secret("alice") not in cache_path.read_text()

    cache_path.unlink()
    assert first.last_changed() is None
    assert usernames(first.cache) == set()


def test_expired_token_removal_and_writes_in_threads_do_not_deadlock(cache_path: Path) -> None:
    # msal's search removes expired access tokens from inside its generator, holding its own
    # lock, while other threads add entries: both paths must take the locks in one order.
    handle = open_token_cache(cache_path, encryption="none")
    failures: list[BaseException] = []

    def expired_event(uid: str) -> dict[str, Any]:
        event = token_event(uid)
        event["response"]["expires_in"] = -60
        return event

    def add(name: str) -> None:
        try:
            for i in range(10):
                handle.cache.add(expired_event(f"{name}-{i}"))
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    def sweep() -> None:
        try:
            for _ in range(30):
                list(handle.cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN))
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=add, args=(n,), daemon=True) for n in "ab"]
    threads += [threading.Thread(target=sweep, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not [t for t in threads if t.is_alive()], "threads deadlocked"
    assert failures == []
    assert list(handle.cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)) == []
    reopened = open_token_cache(cache_path, encryption="none")
    assert len(usernames(reopened.cache)) == 20
    assert "AT-secret" not in cache_path.read_text()  # expired ones are dropped on disk too


# -- permissions and atomic writes ------------------------------------------------------------


@POSIX_ONLY
def test_new_folder_is_0700_and_file_0600(cache_path: Path) -> None:
    os.umask(0o022)
    handle = open_token_cache(cache_path, encryption="none")
    handle.cache.add(token_event("alice"))
    assert stat.S_IMODE(cache_path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(cache_path.stat().st_mode) == 0o600
    assert [p.name for p in cache_path.parent.iterdir() if ".tmp-" in p.name] == []


@POSIX_ONLY
def test_existing_loose_folder_and_file_are_tightened(
    cache_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    cache_path.parent.mkdir(mode=0o755)
    os.chmod(cache_path.parent, 0o755)
    cache_path.write_text("{}")
    os.chmod(cache_path, 0o644)
    handle = open_token_cache(cache_path, encryption="none")
    assert stat.S_IMODE(cache_path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(cache_path.stat().st_mode) == 0o600
    assert "now 0700" in caplog.text and "now 0600" in caplog.text
    handle.cache.add(token_event("alice"))
    assert stat.S_IMODE(cache_path.stat().st_mode) == 0o600


@POSIX_ONLY
def test_shared_folder_writable_by_others_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    with pytest.raises(CacheError, match="can be written by other users") as info:
        open_token_cache(shared / "cache.bin", encryption="none")
    assert "cache_path" in str(info.value) and list(shared.iterdir()) == []
    os.chmod(shared, 0o1755)  # shared, but only readable by others: a warning
    handle = open_token_cache(shared / "cache.bin", encryption="none")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1755
    assert any("readable by other users" in w for w in handle.warnings)


def test_every_save_is_a_new_file_with_a_new_version(cache_path: Path) -> None:
    handle = open_token_cache(cache_path, encryption="none")
    versions = []
    for i in range(6):
        entry = {"client_id": f"app{i}", "environment": HOST}
        handle.cache.modify(msal.TokenCache.CredentialType.APP_METADATA, entry, entry)
        st = cache_path.stat()
        versions.append((st.st_ino, st.st_mtime_ns, handle.last_changed()))
    inodes, mtimes, stamps = zip(*versions, strict=True)
    # os.replace: each version is a new file (the file system may reuse an inode number of
    # an older, deleted version, which is why versions are also told apart by mtime_ns)
    assert all(a != b for a, b in itertools.pairwise(inodes))
    assert list(mtimes) == sorted(set(mtimes)), "mtime_ns strictly increases"
    assert len(set(stamps)) == 6


def test_back_to_back_writes_of_another_process_are_seen(cache_path: Path) -> None:
    writer = open_token_cache(cache_path, encryption="none")
    reader = open_token_cache(cache_path, encryption="none")
    for i in range(20):  # within the file system's timestamp granularity
        writer.cache.add(token_event(f"user{i}"))
        assert rt_secret(f"user{i}") in refresh_tokens(reader.cache)
    # and the reader's own writes keep everything the writer wrote
    reader.cache.add(token_event("reader"))
    assert len(refresh_tokens(open_token_cache(cache_path, encryption="none").cache)) == 21


# -- encryption choices -----------------------------------------------------------------------


def test_auto_without_key_on_this_machine(
    cache_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="jupyter_msal.cache")
    reason = keyring_unavailable_reason(cache_path)
    handle = open_token_cache(cache_path)
    logged = [r for r in caplog.records if "not encrypted" in r.getMessage()]
    if reason is None:
        # A desktop with a working keyring: it is used, silently, and nothing is in the clear.
        expected = {"encrypted": True, "encryption": "keyring"}
        assert handle.warnings == [] and logged == []
    else:
        # Headless Linux (this CI): no libsecret/D-Bus, so plaintext with a visible warning.
        expected = {"encrypted": False, "encryption": "none"}
        assert len(handle.warnings) == 1 and "not encrypted" in handle.warnings[0]
        assert reason.split(":")[0] in handle.warnings[0]
        assert len(logged) == 1 and logged[0].levelno == logging.WARNING
    assert handle.info.to_dict() == {
        "path": str(cache_path),
        "warnings": list(handle.warnings),
        **expected,
    }
    handle.cache.add(token_event("alice"))
    on_disk = cache_path.read_bytes() if cache_path.exists() else b""
    assert (rt_secret("alice").encode() in on_disk) is (reason is not None)
    assert refresh_tokens(open_token_cache(cache_path).cache) == {rt_secret("alice")}


def test_required_without_key_uses_the_keyring_or_refuses(cache_path: Path) -> None:
    if keyring_unavailable_reason(cache_path) is None:
        handle = open_token_cache(cache_path, encryption="required")
        assert handle.info == CacheInfo(str(cache_path), True, "keyring")
    else:
        with pytest.raises(CacheError) as info:
            open_token_cache(cache_path, encryption="required")
        assert "required" in info.value.message and "JUPYTER_MSAL_CACHE_KEY" in str(info.value)
        assert not cache_path.exists()


class _FakeKeyring(FilePersistence):
    """Stands in for DPAPI/Keychain/libsecret: "protects" by base64, fails on garbage."""

    is_encrypted = True
    built: list[str] = []

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.built.append(location)

    def save(self, content: str) -> None:
        super().save(base64.b64encode(content.encode()).decode())

    def load(self) -> str:
        return base64.b64decode(super().load(), validate=True).decode()


@pytest.mark.parametrize("encryption", ["auto", "required"])
def test_a_working_keyring_is_used_and_guarded(
    cache_path: Path, monkeypatch: pytest.MonkeyPatch, encryption: str
) -> None:
    monkeypatch.setattr(msal_extensions, "build_encrypted_persistence", _FakeKeyring)
    _FakeKeyring.built.clear()
    handle = open_token_cache(cache_path, encryption=encryption)
    assert handle.info == CacheInfo(str(cache_path), True, "keyring")
    assert _FakeKeyring.built == [str(cache_path), f"{cache_path}.probe"]  # probed aside
    assert not Path(f"{cache_path}.probe").exists()
    handle.cache.add(token_event("alice"))
    assert b"RT-secret" not in cache_path.read_bytes()
    assert refresh_tokens(open_token_cache(cache_path).cache) == {rt_secret("alice")}

    cache_path.write_bytes(b"not base64 at all!")  # undecryptable
    recovered = open_token_cache(cache_path)
    assert refresh_tokens(recovered.cache) == set()
    assert len(recovered.warnings) == 1 and "moved to" in recovered.warnings[0]
    recovered.cache.add(token_event("bob"))
    assert refresh_tokens(open_token_cache(cache_path).cache) == {rt_secret("bob")}


def test_none_has_no_warning(cache_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="jupyter_msal.cache")
    handle = open_token_cache(cache_path, encryption="none")
    handle.cache.add(token_event("alice"))
    assert handle.warnings == [] and handle.info == CacheInfo(str(cache_path), False, "none")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="encryption"):
        open_token_cache("/nonexistent/x.bin", encryption="yes")
    with pytest.raises(ValueError, match="key"):
        open_token_cache("/nonexistent/x.bin", encryption="none", key="k")


def test_generate_key_is_a_fresh_fernet_key() -> None:
    first, second = generate_key(), generate_key()
    assert first != second
    Fernet(first)  # valid as is


@pytest.mark.parametrize("key_kind", ["fernet", "passphrase"])
def test_key_encrypts_the_file(cache_path: Path, key_kind: str) -> None:
    key = generate_key() if key_kind == "fernet" else "correct horse battery staple"
    handle = open_token_cache(cache_path, encryption="required", key=key)
    assert handle.info.encryption == "key" and handle.info.encrypted and not handle.warnings
    handle.cache.add(token_event("alice"))
    raw = cache_path.read_bytes()
    assert b"RT-secret" not in raw and b"AT-secret" not in raw and b"alice" not in raw
    with pytest.raises(ValueError):
        json.loads(raw)
    if key_kind == "fernet":  # used directly, no derivation
        header, token = raw.split(b"\n", 1)
        assert header == b"jupyter-msal-cache v2 key=" + cache_key(key).id.encode()
        assert rt_secret("alice") in Fernet(key).decrypt(token).decode()
    # another process with the same key (derivation is deterministic) reads it
    other = open_token_cache(cache_path, key=key)
    assert refresh_tokens(other.cache) == {rt_secret("alice")}


def test_wrong_key_is_refused_and_nothing_is_touched(cache_path: Path) -> None:
    key = generate_key()
    open_token_cache(cache_path, key=key).cache.add(token_event("alice"))
    original = cache_path.read_bytes()
    other = generate_key()
    with pytest.raises(CacheError, match="encrypted with another cache_key") as info:
        open_token_cache(cache_path, key=other)
    assert cache_key(key).id in str(info.value) and cache_key(other).id in str(info.value)
    assert cache_path.read_bytes() == original
    assert [p.name for p in cache_path.parent.iterdir()] == ["token_cache.bin"]
    assert refresh_tokens(open_token_cache(cache_path, key=key).cache) == {rt_secret("alice")}


def test_key_encrypted_file_is_not_clobbered_by_a_process_without_the_key(
    cache_path: Path,
) -> None:
    key = generate_key()
    open_token_cache(cache_path, key=key).cache.add(token_event("alice"))
    with pytest.raises(CacheError, match="encrypted with a cache_key"):
        open_token_cache(cache_path, encryption="none")
    # At run time: a plaintext process is running when a keyed process rewrites the file.
    cache_path.unlink()
    plain = open_token_cache(cache_path, encryption="none")
    open_token_cache(cache_path, key=key).cache.add(token_event("bob"))
    assert refresh_tokens(plain.cache) == set()
    assert any("encrypted with a cache_key" in w for w in plain.warnings)
    with pytest.raises(CacheError, match="Not overwriting"):
        plain.cache.add(token_event("mallory"))
    assert rt_secret("bob") in file_text(cache_path, key)


def test_plaintext_cache_is_encrypted_when_a_key_is_set(cache_path: Path) -> None:
    open_token_cache(cache_path, encryption="none").cache.add(token_event("alice"))
    key = generate_key()
    assert encrypt_plaintext_cache(cache_path, key=key) == "encrypted"  # on purpose, once
    handle = open_token_cache(cache_path, key=key)
    assert b"RT-secret" not in cache_path.read_bytes()
    assert refresh_tokens(handle.cache) == {rt_secret("alice")}
    assert handle.warnings == []


def test_plaintext_written_at_run_time_is_warned_about_and_replaced(cache_path: Path) -> None:
    key = generate_key()
    keyed = open_token_cache(cache_path, key=key)
    keyed.cache.add(token_event("alice"))
    cache_path.unlink()  # a process without the key starts over, in plaintext
    open_token_cache(cache_path, encryption="none").cache.add(token_event("bob"))

    assert refresh_tokens(keyed.cache) == set()  # plaintext is never used with a key
    [warning] = keyed.warnings
    assert f"{cache_path} is not encrypted with the cache_key" in warning
    keyed.cache.add(token_event("carol"))
    assert b"RT-secret" not in cache_path.read_bytes()
    assert refresh_tokens(open_token_cache(cache_path, key=key).cache) == {rt_secret("carol")}
    assert len(keyed.warnings) == 1


# -- sign-out ----------------------------------------------------------------------------------


def sign_in(emulator: Any, app: msal.PublicClientApplication, username: str) -> dict[str, Any]:
    """A real device-code sign-in of ``username`` through ``app`` against the emulator."""
    flow = app.initiate_device_flow(scopes=list(SCOPE))
    assert "user_code" in flow, flow
    emulator.approve(flow["user_code"], username=username)
    result = app.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result
    return result


@pytest.mark.parametrize("key", [None, "a passphrase"])
def test_sign_out_removes_the_refresh_token_from_the_file(
    msal_emulator: Any, cache_path: Path, key: str | None
) -> None:
    encryption = "none" if key is None else "auto"
    handle = open_token_cache(cache_path, encryption=encryption, key=key)
    app = msal_emulator.public_client_app(token_cache=handle.cache)
    signed_in = {
        uid: sign_in(msal_emulator, app, f"{uid}@example.com") for uid in ("alice", "bob", "carol")
    }
    rts = {uid: result["refresh_token"] for uid, result in signed_in.items()}
    assert rts["alice"] in file_text(cache_path, key)

    # Another process's app, on its own handle, gets bob's token from the shared file alone.
    other = open_token_cache(cache_path, encryption=encryption, key=key)
    other_app = msal_emulator.public_client_app(token_cache=other.cache)
    msal_emulator.reset_counts()
    [bob] = other_app.get_accounts(username="bob@example.com")
    silent = other_app.acquire_token_silent(list(SCOPE), account=bob)
    assert silent is not None and silent["access_token"] == signed_in["bob"]["access_token"]
    assert msal_emulator.counts["token"] == 0

    # msal's own sign-out
    [alice] = app.get_accounts(username="alice@example.com")
    app.remove_account(alice)
    text = file_text(cache_path, key)
    assert rts["alice"] not in text and signed_in["alice"]["access_token"] not in text
    assert rts["bob"] in text
    assert [a["username"] for a in other_app.get_accounts(username="alice@example.com")] == []

    # and directly through the cache, as a service might
    [bob_rt] = [e for e in handle.cache.search(RT) if e["secret"] == rts["bob"]]
    handle.cache.remove_rt(bob_rt)
    text = file_text(cache_path, key)
    assert rts["bob"] not in text and rts["carol"] in text
    reopened = open_token_cache(cache_path, encryption=encryption, key=key)
    assert refresh_tokens(reopened.cache) == {rts["carol"]}


# -- recovery ---------------------------------------------------------------------------------

GARBAGE = {
    "bad-json": b"{this is not json",
    "truncated": None,  # the first half of a real cache, filled in by the test
    "random-bytes": os.urandom(300),
    "nul-bytes": b"\0" * 4096,
    "json-array": b"[1, 2, 3]",
    "wrong-shape": b'{"AccessToken": 5}',
    "utf16": '{"a": {}}'.encode("utf-16"),
}


@pytest.mark.parametrize("kind", sorted(GARBAGE))
@pytest.mark.parametrize("key", [None, "k"])
def test_corrupt_file_is_moved_aside_when_a_new_cache_is_saved(
    cache_path: Path, kind: str, key: str | None
) -> None:
    encryption = "none" if key is None else "auto"
    open_token_cache(cache_path, encryption=encryption, key=key).cache.add(token_event("alice"))
    good = cache_path.read_bytes()
    garbage = GARBAGE[kind] if GARBAGE[kind] is not None else good[: len(good) // 2]
    cache_path.write_bytes(garbage)

    handle = open_token_cache(cache_path, encryption=encryption, key=key)
    assert cache_path.read_bytes() == garbage  # reading leaves it where it is
    assert list(cache_path.parent.glob("token_cache.bin.corrupt-*")) == []
    assert len(handle.warnings) == 1 and "could not be read" in handle.warnings[0]
    assert refresh_tokens(handle.cache) == set()
    handle.cache.add(token_event("bob"))
    [aside] = cache_path.parent.glob("token_cache.bin.corrupt-*")
    assert aside.read_bytes() == garbage
    assert refresh_tokens(open_token_cache(cache_path, encryption=encryption, key=key).cache) == {
        rt_secret("bob")
    }


def test_corruption_at_run_time_is_recovered_without_raising(
    cache_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    handle = open_token_cache(cache_path, encryption="none")
    handle.cache.add(token_event("alice"))
    cache_path.write_bytes(b'{"RefreshToken": {"x": ')  # someone else damaged it
    assert refresh_tokens(handle.cache) == set()  # no exception out of msal's search
    assert len(handle.warnings) == 1 and "moved to" in handle.info.warnings[0]
    handle.cache.add(token_event("bob"))
    assert refresh_tokens(open_token_cache(cache_path, encryption="none").cache) == {
        rt_secret("bob")
    }
    assert "RT-secret" not in caplog.text and "AT-secret" not in caplog.text


def test_empty_or_missing_file_is_an_empty_cache(cache_path: Path) -> None:
    handle = open_token_cache(cache_path, encryption="none")
    assert refresh_tokens(handle.cache) == set() and not cache_path.exists()
    cache_path.write_bytes(b"")
    handle = open_token_cache(cache_path, encryption="none")
    assert refresh_tokens(handle.cache) == set() and handle.warnings == []
    assert list(cache_path.parent.glob("*.corrupt-*")) == []


def test_deleting_the_file_signs_everyone_out(cache_path: Path) -> None:
    handle = open_token_cache(cache_path, encryption="none")
    handle.cache.add(token_event("alice"))
    cache_path.unlink()
    assert refresh_tokens(handle.cache) == set()
    handle.cache.add(token_event("bob"))
    assert rt_secret("alice") not in cache_path.read_text()


def test_only_the_newest_corrupt_files_are_kept(cache_path: Path) -> None:
    for i in range(8):
        cache_path.parent.mkdir(exist_ok=True)
        cache_path.write_bytes(b"garbage %d" % i)
        open_token_cache(cache_path, encryption="none").cache.add(token_event(f"u{i}"))
    kept = sorted(cache_path.parent.glob("token_cache.bin.corrupt-*"))
    assert len(kept) == 5
    assert {p.read_bytes() for p in kept} == {b"garbage %d" % i for i in range(3, 8)}


# -- concurrency ------------------------------------------------------------------------------

# The body of a writer process; ``child_script`` puts this module's event helpers before it.
CHILD = r"""
sys.path[:0] = [sys.argv[1]]
from jupyter_msal.cache import file as cache_file
from jupyter_msal.cache import open_token_cache

mode, path, key, name, arg = sys.argv[2:7]
key = key or None
if mode == "slow":
    real_write_all = cache_file.AtomicFilePersistence._write_all
    def slow_write_all(fd, data):
        real_write_all(fd, data[: len(data) // 2])
        open(arg, "w").close()  # tell the parent we are in the middle of a save
        time.sleep(60)
        real_write_all(fd, data[len(data) // 2 :])
    cache_file.AtomicFilePersistence._write_all = staticmethod(slow_write_all)
handle = open_token_cache(path, encryption="none" if key is None else "auto", key=key)
print("ready", flush=True)
if mode == "slow":
    handle.cache.add(token_event(name))
else:
    deadline = time.monotonic() + float(arg)
    count = 0
    # The file lock is not fair: under load one writer can starve for the whole window, so
    # each writer goes on past the deadline until it has written a few times.
    while time.monotonic() < deadline or count < 5:
        handle.cache.add(token_event(f"{name}-{count}"))
        count += 1
    print(count, flush=True)
"""


def child_script() -> str:
    """``CHILD`` preceded by the source of this module's event helpers (no test imports)."""
    return "\n".join(
        [
            "from __future__ import annotations",
            "import base64, json, sys, time",
            f"CLIENT_ID, TENANT, HOST, SCOPE = {CLIENT_ID!r}, {TENANT!r}, {HOST!r}, {SCOPE!r}",
            *(inspect.getsource(helper) for helper in (_b64, rt_secret, at_secret, token_event)),
            CHILD,
        ]
    )


def start_child(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    """A fresh Python process running ``child_script()`` with ``args``."""
    script = tmp_path / "child.py"
    script.write_text(child_script())
    return subprocess.Popen(
        [sys.executable, str(script), str(REPO), *args],
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("key", [None, "shared key"])
def test_two_processes_writing_concurrently_lose_nothing(
    tmp_path: Path, cache_path: Path, key: str | None
) -> None:
    encryption = "none" if key is None else "auto"
    open_token_cache(cache_path, encryption=encryption, key=key)
    children = [start_child(tmp_path, "loop", str(cache_path), key or "", n, "2.5") for n in "ab"]
    counts = {}
    for name, child in zip("ab", children, strict=True):
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        counts[name] = int(out.split()[-1])
    print(f"accounts added: {counts} ({'encrypted' if key else 'plaintext'})")
    assert min(counts.values()) > 3, "both processes got to write repeatedly"
    expected = {f"{name}-{i}@example.com" for name, n in counts.items() for i in range(n)}
    final = open_token_cache(cache_path, encryption=encryption, key=key)
    assert usernames(final.cache) == expected
    assert len(refresh_tokens(final.cache)) == len(expected)
    json.loads(file_text(cache_path, key))  # parses
    assert final.warnings == []


def test_threads_of_one_process_lose_nothing(cache_path: Path) -> None:
    handle = open_token_cache(cache_path, encryption="none")

    def add(name: str) -> None:
        for i in range(15):
            handle.cache.add(token_event(f"{name}-{i}"))

    threads = [threading.Thread(target=add, args=(n,)) for n in "xyz"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    reopened = open_token_cache(cache_path, encryption="none")
    assert len(usernames(reopened.cache)) == 45


@POSIX_ONLY
def test_writer_killed_mid_write_leaves_the_previous_cache(
    tmp_path: Path, cache_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="jupyter_msal.cache")
    key = "shared key"
    baseline = open_token_cache(cache_path, key=key)
    for uid in ("alice", "bob"):
        baseline.cache.add(token_event(uid))
    before = cache_path.read_bytes()

    marker = tmp_path / "in-save"
    child = start_child(tmp_path, "slow", str(cache_path), key, "victim", str(marker))
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait(10)

    assert cache_path.read_bytes() == before, "the cache file was not touched"
    lockfile = Path(f"{cache_path}.lockfile")
    assert lockfile.exists(), "the killed writer held the lock"
    assert list(cache_path.parent.glob(".token_cache.bin.tmp-*")), "half-written temporary"

    started = time.monotonic()
    after = open_token_cache(cache_path, key=key)
    after.cache.add(token_event("carol"))
    elapsed = time.monotonic() - started
    print(f"next writer after a killed one: {elapsed * 1000:.0f} ms (msal-extensions alone: 5 s)")
    assert "Removed a stale token cache lock" in caplog.text
    assert not lockfile.exists()
    assert list(cache_path.parent.glob(".token_cache.bin.tmp-*")) == []
    assert usernames(after.cache) == {f"{u}@example.com" for u in ("alice", "bob", "carol")}


@POSIX_ONLY
def test_writers_killed_at_random_points(tmp_path: Path, cache_path: Path) -> None:
    rng = random.Random(1234)
    baseline = {"alice@example.com", "bob@example.com"}
    handle = open_token_cache(cache_path, encryption="none")
    for uid in ("alice", "bob"):
        handle.cache.add(token_event(uid))
    stale_locks = 0
    for round_ in range(8):
        child = start_child(tmp_path, "loop", str(cache_path), "", f"r{round_}", "30")
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.25))
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        stale_locks += Path(f"{cache_path}.lockfile").exists()
        reader = open_token_cache(cache_path, encryption="none")
        assert reader.warnings == []
        json.loads(cache_path.read_text())  # intact
        assert baseline <= usernames(reader.cache)
        reader.cache.add(token_event(f"after-{round_}"))  # and writable
    print(f"kills that left a lock file behind: {stale_locks}/8")
    final = usernames(open_token_cache(cache_path, encryption="none").cache)
    assert baseline | {f"after-{i}@example.com" for i in range(8)} <= final


@POSIX_ONLY
def test_a_held_lock_is_not_mistaken_for_a_stale_one(cache_path: Path) -> None:
    open_token_cache(cache_path, encryption="none")
    lockfile = f"{cache_path}.lockfile"
    with CrossPlatLock(lockfile):
        old = time.time() - 60  # far older than the age limit, but held
        os.utime(lockfile, (old, old))
        assert not clear_stale_lock(lockfile, logging.getLogger("test"))
        assert os.path.exists(lockfile)
    # a lock file whose writer is gone is stale at once
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    Path(lockfile).write_text(f"{done.stdout.strip()} /gone/writer")
    assert clear_stale_lock(lockfile, logging.getLogger("test"))
    assert not os.path.exists(lockfile)


def test_no_secret_reaches_the_log(cache_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    handle = open_token_cache(cache_path, key="k")
    handle.cache.add(token_event("alice"))
    cache_path.write_bytes(b"garbage")
    refresh_tokens(handle.cache)
    assert handle.warnings
    for secret in (rt_secret("alice"), at_secret("alice"), "garbage"):
        assert secret not in caplog.text
