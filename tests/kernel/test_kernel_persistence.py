"""Sign-ins outlive servers, and direct mode (no server) shares the cache with servers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kernel_helpers import (
    ADA,
    STORAGE,
    JupyterServer,
    approve_when_pending,
    base_env,
    direct_kernel,
    sha,
)


def test_server_restart_keeps_sign_in(emulator: Any, tmp_path: Path) -> None:
    env = base_env(emulator, tmp_path / "cache" / "token_cache.bin")
    server = JupyterServer(env, tmp_path / "server").start()
    try:
        with server.kernel() as k:
            approver = approve_when_pending(emulator)
            k.ok(f"import jupyter_msal; t = jupyter_msal.get_token({STORAGE!r})")
            approver.join(5)
            first = k.eval("__import__('hashlib').sha256(str(t).encode()).hexdigest()")
    finally:
        server.stop()

    emulator.reset_counts()
    server.start()  # a new process, a new port, a new kernel secret
    try:
        with server.kernel() as k:
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


def test_direct_mode_signs_in_with_printed_code_and_shares_the_cache(
    emulator: Any, tmp_path: Path
) -> None:
    env = base_env(emulator, tmp_path / "shared" / "token_cache.bin")
    emulator.reset_counts()
    with direct_kernel(env, tmp_path) as k:
        approver = approve_when_pending(emulator)
        result = k.ok(
            "%load_ext jupyter_msal\n"
            "import sys, hashlib\n"
            "from jupyter_msal.kernel.client import get_client\n"
            f"tok = %msal_token {STORAGE}\n"
            "print('MODE', get_client().mode, 'msal' in sys.modules)\n"
            "print('SHA', hashlib.sha256(str(tok).encode()).hexdigest())"
        )
        approver.join(5)
        # The prompt printed as text: the identity provider's message, with the code.
        assert f"enter the code {approver.code}" in result.stdout
        assert "(The code expires at" in result.stdout
        assert f"Signed in as {ADA}." in result.stdout
        assert not [o for o in result.outputs if o["type"] == "display_data"]
        assert "MODE direct True" in result.stdout
        token_sha = result.stdout.split("SHA ")[1].split()[0]
        assert token_sha in {sha(t) for t in emulator.issued_access_tokens}
        for token in emulator.issued_access_tokens:
            assert token not in result.text()

        # A server started afterwards on the same configuration sees that sign-in.
        server = JupyterServer(env, tmp_path / "server").start()
        try:
            emulator.reset_counts()
            assert [
                a["username"] for a in server.request("GET", "jupyter-msal/accounts")["accounts"]
            ] == [ADA]
            with server.kernel() as k2:
                out = k2.ok(
                    "import jupyter_msal, hashlib\n"
                    f"t = jupyter_msal.get_token({STORAGE!r}, sign_in=False)\n"
                    "print(t.account.username, hashlib.sha256(str(t).encode()).hexdigest())"
                )
                assert out.stdout.split() == [ADA, token_sha]
            assert emulator.counts["devicecode"] == 0 and emulator.counts["token"] == 0

            # And a sign-out on the server is seen by the direct-mode kernel.
            server.sign_out_all()
            gone = k.execute("%msal_accounts")
            assert gone.stdout.strip() == "Nobody is signed in. Run %msal_login to sign in."
        finally:
            server.stop()


def test_no_server_and_no_writable_cache_is_one_line(emulator: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    env = base_env(emulator, blocker / "token_cache.bin")
    with direct_kernel(env, tmp_path) as k:
        result = k.execute(f"%load_ext jupyter_msal\n%msal_token {STORAGE}")
        assert result.status == "error"
        (error,) = result.errors
        assert len(error["traceback"]) == 1
        line = error["traceback"][0]
        assert line.startswith("\x1b[0;31mERROR:\x1b[0m The token cache")
        assert str(blocker) in line and "JupyterMsal.cache_path" in line
