"""The cache across real server processes: restarts, permissions, corruption, concurrent writers."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from kernel.kernel_helpers import JupyterServer, base_env

STORAGE = "https://storage.azure.com/.default"


def sign_in(server: JupyterServer, emulator: Any, username: str = "ada@contoso.com") -> None:
    flow = server.request("POST", "jupyter-msal/sign-ins", {})
    emulator.approve(flow["user_code"], username=username)
    for _ in range(6):
        flow = server.request("GET", f"jupyter-msal/sign-ins/{flow['id']}?wait=10")
        if flow["state"] != "pending":
            break
    assert flow["state"] == "succeeded", flow


@pytest.fixture
def env(msal_emulator: Any, tmp_path: Path) -> dict[str, str]:
    return base_env(msal_emulator, tmp_path / "cache" / "token_cache.bin")


def test_cache_survives_server_restart(
    msal_emulator: Any, env: dict[str, str], tmp_path: Path
) -> None:
    server = JupyterServer(env, tmp_path / "server").start()
    try:
        sign_in(server, msal_emulator)
        first = server.request("POST", "jupyter-msal/token", {"scopes": [STORAGE]})
        graph = server.request("POST", "jupyter-msal/token", {"scopes": ["User.Read"]})
    finally:
        server.stop()
    msal_emulator.reset_counts()
    server.start()
    try:
        accounts = server.request("GET", "jupyter-msal/accounts")["accounts"]
        assert [a["username"] for a in accounts] == ["ada@contoso.com"]
        again = server.request("POST", "jupyter-msal/token", {"scopes": [STORAGE]})
        graph_again = server.request("POST", "jupyter-msal/token", {"scopes": ["User.Read"]})
    finally:
        server.stop()
    assert again["access_token"] == first["access_token"]
    assert graph_again["access_token"] == graph["access_token"]
    assert msal_emulator.counts["token"] == 0
    assert msal_emulator.counts["devicecode"] == 0

    cache = Path(env["JUPYTER_MSAL_CACHE_PATH"])
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700


def test_corrupted_cache_is_moved_aside(
    msal_emulator: Any, env: dict[str, str], tmp_path: Path
) -> None:
    cache = Path(env["JUPYTER_MSAL_CACHE_PATH"])
    cache.parent.mkdir(mode=0o700, parents=True)
    cache.write_bytes(b'{"AccessToken": {"half a json')
    server = JupyterServer(env, tmp_path / "server").start()
    try:
        status = server.request("GET", "jupyter-msal/status")
        assert status["accounts"] == []
        assert any("corrupt" in w for w in status["cache"]["warnings"]), status["cache"]
        sign_in(server, msal_emulator)
        token = server.request("POST", "jupyter-msal/token", {"scopes": [STORAGE]})
        assert token["access_token"] in msal_emulator.issued_access_tokens
    finally:
        server.stop()
    assert json.loads(cache.read_text())["Account"]
    moved = [p for p in cache.parent.iterdir() if ".corrupt-" in p.name]
    assert len(moved) == 1 and moved[0].read_bytes() == b'{"AccessToken": {"half a json'


_DIRECT_WRITER = """
import sys, time
from jupyter_msal.config import load_settings
from jupyter_msal.service import TokenService
svc = TokenService(load_settings())
deadline = time.time() + float(sys.argv[1])
n = 0
while time.time() < deadline:
    flow = svc.flows.start()
    if flow.wait(20) != "succeeded":
        print("FAILED", flow.to_dict(), flush=True)
        sys.exit(1)
    n += 1
svc.close()
print(n, flush=True)
"""


def test_server_and_direct_mode_write_concurrently(
    msal_emulator: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """The server and a direct-mode process sign in new accounts at the same time for a while."""
    msal_emulator.device_code_interval = 1
    approved: list[str] = []
    stop = threading.Event()

    def approver() -> None:
        while not stop.is_set():
            for code in msal_emulator.pending_user_codes():
                name = f"user{len(approved):03d}@contoso.com"
                try:
                    msal_emulator.approve(code, username=name)
                    approved.append(name)
                except (KeyError, ValueError, LookupError):
                    pass
            time.sleep(0.05)

    thread = threading.Thread(target=approver, daemon=True)
    thread.start()
    server = JupyterServer(env, tmp_path / "server").start()
    direct = subprocess.Popen(
        [sys.executable, "-c", _DIRECT_WRITER, "8"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.time() + 8
        server_sign_ins = 0
        while time.time() < deadline:
            flow = server.request("POST", "jupyter-msal/sign-ins", {})
            for _ in range(10):
                flow = server.request("GET", f"jupyter-msal/sign-ins/{flow['id']}?wait=10")
                if flow["state"] != "pending":
                    break
            assert flow["state"] == "succeeded", flow
            server_sign_ins += 1
        out, err = direct.communicate(timeout=60)
        assert direct.returncode == 0, (out, err)
        direct_sign_ins = int(out.strip().splitlines()[-1])
        listed = server.request("GET", "jupyter-msal/accounts")["accounts"]
    finally:
        stop.set()
        thread.join(5)
        server.stop()
        if direct.poll() is None:
            direct.kill()
    assert server_sign_ins >= 2 and direct_sign_ins >= 2
    assert len(approved) == server_sign_ins + direct_sign_ins
    cache = json.loads(Path(env["JUPYTER_MSAL_CACHE_PATH"]).read_text())
    in_file = sorted(a["username"] for a in cache["Account"].values())
    assert in_file == sorted(approved)
    assert sorted(a["username"] for a in listed) == sorted(approved)


def test_ca_bundle_wins_over_requests_ca_bundle(
    msal_emulator: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """REQUESTS_CA_BUNDLE points at the system CAs (which do not know the emulator's CA)."""
    env = dict(
        env,
        REQUESTS_CA_BUNDLE="/etc/ssl/certs/ca-certificates.crt",
        CURL_CA_BUNDLE="/etc/ssl/certs/ca-certificates.crt",
    )
    server = JupyterServer(env, tmp_path / "server").start()
    try:
        sign_in(server, msal_emulator)
    finally:
        server.stop()

    without = {k: v for k, v in env.items() if k != "JUPYTER_MSAL_CA_BUNDLE"}
    server = JupyterServer(without, tmp_path / "server2").start()
    try:
        with pytest.raises(Exception) as info:
            server.request("POST", "jupyter-msal/sign-ins", {})
        body = json.loads(info.value.read())  # type: ignore[attr-defined]
        assert info.value.code == 504  # type: ignore[attr-defined]
        assert "CERTIFICATE_VERIFY_FAILED" in body["message"] or "certificate" in body["message"]
    finally:
        server.stop()


def test_invalid_setting_fails_at_startup_naming_it(
    msal_emulator: Any, env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(env, JUPYTER_MSAL_AUTHORITY="http://login.example.com")
    server = JupyterServer(env, tmp_path / "server")
    with pytest.raises(RuntimeError):
        server.start(timeout=15)
    server.stop()
    log = (server.workdir / "server.log").read_text()
    assert "jupyter-msal is not active" in log
    assert "JupyterMsal.authority" in log and "https://<host>/<tenant>" in log


def test_extension_is_enabled_by_install() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "server", "extension", "list"],
        capture_output=True,
        text=True,
        check=True,
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    assert re.search(r"jupyter_msal enabled", text), text
    assert re.search(r"jupyter_msal [0-9.]+\S* OK", text), text
