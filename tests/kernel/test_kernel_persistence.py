"""Sign-ins outlive servers, and direct mode (no server) shares the cache with servers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from jupyter_msal.testing import DEFAULT_USERNAME as ADA
from jupyter_msal.testing import EntraEmulator
from jupyter_msal.testing.kernels import direct_kernel
from jupyter_msal.testing.server import JupyterServerProcess, emulator_environment

STORAGE = "https://storage.azure.com/.default"


def sha(text: str) -> str:
    """A token's fingerprint, so kernels never need to print tokens for tests to compare."""
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.slow
def test_server_restart_keeps_sign_in(emulator: EntraEmulator, tmp_path: Path) -> None:
    env = emulator_environment(emulator, tmp_path / "cache" / "token_cache.bin")
    server = JupyterServerProcess(env, tmp_path / "server").start()
    try:
        with server.open_kernel() as k:
            approver = emulator.approve_next()
            k.ok(f"import jupyter_msal; t = jupyter_msal.get_token({STORAGE!r})")
            approver.wait(5)
            first = k.eval("__import__('hashlib').sha256(str(t).encode()).hexdigest()")
    finally:
        server.stop()

    emulator.reset_counts()
    server.start()  # a new process, a new port, a new kernel secret
    try:
        with server.open_kernel() as k:
            out = k.ok(
                "import jupyter_msal\n"
                f"t = jupyter_msal.get_token({STORAGE!r}, sign_in=False)\n"
                "print(t.account.username)"
            )
            assert out.stdout.strip() == ADA
            again = k.eval("__import__('hashlib').sha256(str(t).encode()).hexdigest()")
        assert emulator.counts["devicecode"] == 0
        assert emulator.counts["grant:device_code"] == 0
        # The access token itself came back from the persisted cache.
        assert again == first and emulator.counts["token"] == 0
    finally:
        server.stop()


@pytest.mark.slow
def test_direct_mode_signs_in_with_printed_code_and_shares_the_cache(
    emulator: EntraEmulator, tmp_path: Path
) -> None:
    env = emulator_environment(emulator, tmp_path / "shared" / "token_cache.bin")
    emulator.reset_counts()
    with direct_kernel(env, tmp_path) as k:
        approver = emulator.approve_next()
        result = k.ok(
            "%load_ext jupyter_msal\n"
            "import sys, hashlib\n"
            "from jupyter_msal.client import get_client\n"
            f"tok = %msal_token {STORAGE}\n"
            "print('MODE', get_client().mode, 'msal' in sys.modules)\n"
            "print('SHA', hashlib.sha256(str(tok).encode()).hexdigest())"
        )
        approver.wait(5)
        # The prompt printed as text: the identity provider's message, with the code.
        assert f"enter the code {approver.user_code}" in result.stdout
        assert "(The code expires at" in result.stdout
        assert f"Signed in as {ADA}." in result.stdout
        assert not [o for o in result.outputs if o["type"] == "display_data"]
        assert "MODE direct True" in result.stdout
        token_sha = result.stdout.split("SHA ")[1].split()[0]
        assert token_sha in {sha(t) for t in emulator.issued_access_tokens}
        for token in emulator.issued_access_tokens:
            assert token not in result.text()

        # A server started afterwards on the same configuration sees that sign-in.
        server = JupyterServerProcess(env, tmp_path / "server").start()
        try:
            emulator.reset_counts()
            assert [
                a["username"] for a in server.request("GET", "jupyter-msal/accounts")["accounts"]
            ] == [ADA]
            with server.open_kernel() as k2:
                out = k2.ok(
                    "import jupyter_msal, hashlib\n"
                    f"t = jupyter_msal.get_token({STORAGE!r}, sign_in=False)\n"
                    "print(t.account.username, hashlib.sha256(str(t).encode()).hexdigest())"
                )
                assert out.stdout.split() == [ADA, token_sha]
            assert emulator.counts["devicecode"] == 0 and emulator.counts["token"] == 0

            # And a sign-out on the server is seen by the direct-mode kernel.
            server.request("DELETE", "jupyter-msal/accounts")
            gone = k.execute("%msal_accounts")
            assert gone.stdout.strip() == "Nobody is signed in. Run %msal_login to sign in."
        finally:
            server.stop()


def test_no_server_and_no_writable_cache_is_one_line(
    emulator: EntraEmulator, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    env = emulator_environment(emulator, blocker / "token_cache.bin")
    with direct_kernel(env, tmp_path) as k:
        result = k.execute(f"%load_ext jupyter_msal\n%msal_token {STORAGE}")
        assert result.status == "error"
        (error,) = result.errors
        assert len(error["traceback"]) == 1
        line = error["traceback"][0]
        assert line.startswith("\x1b[0;31mERROR:\x1b[0m The token cache")
        assert str(blocker) in line and "JupyterMsal.cache_path" in line
