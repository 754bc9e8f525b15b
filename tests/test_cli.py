"""``jupyter msal ...`` in a plain shell (direct mode) and in a terminal opened from Jupyter."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import websocket
from kernel.kernel_helpers import JupyterServer, base_env

STORAGE = "https://storage.azure.com/.default"


def jupyter_msal(
    env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_msal.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def env(msal_emulator: Any, tmp_path: Path) -> dict[str, str]:
    return base_env(msal_emulator, tmp_path / "cache" / "token_cache.bin")


def test_direct_mode_commands(msal_emulator: Any, env: dict[str, str]) -> None:
    status = jupyter_msal(env, "status", "--json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["client_mode"] == "direct" and data["mode"] == "user"
    assert data["config"]["authority"] == env["JUPYTER_MSAL_AUTHORITY"]
    assert data["accounts"] == []

    refused = jupyter_msal(env, "token", "--scope", STORAGE)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "Sign in first" in refused.stderr and "jupyter msal login" in refused.stderr

    msal_emulator.auto_approve = "ada@contoso.com"
    login = jupyter_msal(env, "login")
    assert login.returncode == 0, login.stderr
    assert "devicelogin" in login.stderr and "Signed in as ada@contoso.com" in login.stderr

    token = jupyter_msal(env, "token", "--scope", STORAGE)
    assert token.returncode == 0, token.stderr
    assert token.stdout.endswith("\n") and token.stdout.count("\n") == 1
    assert token.stdout.strip() in msal_emulator.issued_access_tokens
    assert token.stderr == ""

    accounts = jupyter_msal(env, "accounts")
    assert accounts.stdout.startswith("ada@contoso.com\t")
    human = jupyter_msal(env, "status")
    assert "direct mode" in human.stdout and "NOT encrypted" in human.stdout
    assert "ada@contoso.com" in human.stdout

    logout = jupyter_msal(env, "logout", "--all")
    assert logout.returncode == 0 and "Signed out ada@contoso.com" in logout.stderr
    assert jupyter_msal(env, "accounts", "--json").stdout.strip() == "[]"
    assert jupyter_msal(env, "logout").returncode != 0


def test_bad_config_is_one_line(env: dict[str, str]) -> None:
    result = jupyter_msal(dict(env, JUPYTER_MSAL_HTTP_TIMEOUT="soon"), "status")
    assert result.returncode == 1
    assert "JupyterMsal.http_timeout" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_generate_key() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "jupyter_msal.cli", "generate-key"],
        capture_output=True,
        text=True,
        check=True,
    )
    from cryptography.fernet import Fernet

    Fernet(result.stdout.strip().encode())


def _terminal_run(server: JupyterServer, command: str, marker: str, timeout: float = 60) -> str:
    """``marker`` is a regex matched against the output (not the echoed command line)."""
    """Type ``command`` into a real Jupyter terminal and return what it printed."""
    name = server.request("POST", "api/terminals")["name"]
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{server.port}/terminals/websocket/{name}",
        header=[f"Authorization: token {server.token}"],
        timeout=timeout,
    )
    output = ""
    try:
        ws.send(json.dumps(["stdin", command + "\r"]))
        deadline = time.monotonic() + timeout
        while not re.search(marker, output) and time.monotonic() < deadline:
            message = json.loads(ws.recv())
            if message[0] == "stdout":
                output += message[1]
    finally:
        ws.close()
        server.request("DELETE", f"api/terminals/{name}")
    assert re.search(marker, output), output
    return output


def test_terminal_uses_the_running_server(
    msal_emulator: Any, env: dict[str, str], tmp_path: Path
) -> None:
    server = JupyterServer(env, tmp_path / "server").start()
    try:
        flow = server.request("POST", "jupyter-msal/sign-ins", {})
        msal_emulator.approve(flow["user_code"])
        server.request("GET", f"jupyter-msal/sign-ins/{flow['id']}?wait=10")
        msal_emulator.reset_counts()
        out_file = tmp_path / "token.txt"
        printed = _terminal_run(
            server,
            f"{sys.executable} -m jupyter_msal.cli status --json > {tmp_path}/status.json; "
            f'T="$({sys.executable} -m jupyter_msal.cli token --scope {STORAGE})"; '
            f'printf %s "$T" > {out_file}; echo "DONE-$?-"',
            r"DONE-\d+-",
        )
        assert "DONE-0-" in printed
        status = json.loads((tmp_path / "status.json").read_text())
        assert status["client_mode"] == "server"
        token = out_file.read_text()
        assert token in msal_emulator.issued_access_tokens
        assert token not in printed
        # The server answered it: one refresh at the emulator, and the token came back from it.
        assert msal_emulator.counts["grant:refresh_token"] == 1
        again = server.request("POST", "jupyter-msal/token", {"scopes": [STORAGE]})
        assert again["access_token"] == token
    finally:
        server.stop()
