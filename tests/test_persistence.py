"""The cache across real server processes: restarts, permissions, corruption, concurrent writers."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
import threading
import time
import urllib.error
from pathlib import Path
from typing import Any

import pytest

from jupyter_msal.client import ServerClient
from jupyter_msal.testing import DEFAULT_USERNAME, EntraEmulator
from jupyter_msal.testing.server import JupyterServerProcess

STORAGE = "https://storage.azure.com/.default"


def sign_in(server: JupyterServerProcess, emulator: EntraEmulator) -> None:
    """A device-code sign-in through ``server``, approved at the emulator as its code is issued."""
    client = ServerClient(server.url, jupyter_token=server.token)
    try:
        approval = emulator.approve_next()
        flow = client.start_sign_in()
        assert approval.wait(0) == flow["user_code"]
        assert client.wait_for_sign_in(flow).username == DEFAULT_USERNAME
    finally:
        client.close()


@pytest.mark.slow
def test_cache_survives_server_restart(
    msal_emulator: EntraEmulator, start_server: Any, cache_file: Path
) -> None:
    server = start_server()
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

    assert stat.S_IMODE(cache_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache_file.parent.stat().st_mode) == 0o700


def test_corrupted_cache_is_moved_aside(
    msal_emulator: EntraEmulator, start_server: Any, cache_file: Path
) -> None:
    cache = cache_file
    cache.parent.mkdir(mode=0o700, parents=True)
    cache.write_bytes(b'{"AccessToken": {"half a json')
    server = start_server()
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
from jupyter_msal.config.files import load_settings
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


@pytest.mark.slow
def test_server_and_direct_mode_write_concurrently(
    msal_emulator: EntraEmulator,
    subprocess_env: dict[str, str],
    start_server: Any,
    cache_file: Path,
) -> None:
    """The server and a direct-mode process sign in new accounts at the same time for a while."""
    msal_emulator.device_code_interval = 1
    approved: list[str] = []
    stop = threading.Event()

    def approver() -> None:
        while not stop.is_set():
            try:
                code = msal_emulator.wait_for_user_code(timeout=0.2)
            except TimeoutError:
                continue
            name = f"user{len(approved):03d}@contoso.com"
            msal_emulator.approve(code, username=name)
            approved.append(name)

    thread = threading.Thread(target=approver, daemon=True)
    thread.start()
    server = start_server()
    direct = subprocess.Popen(
        [sys.executable, "-c", _DIRECT_WRITER, "8"],
        env=subprocess_env,
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
    cache = json.loads(cache_file.read_text())
    in_file = sorted(a["username"] for a in cache["Account"].values())
    assert in_file == sorted(approved)
    assert sorted(a["username"] for a in listed) == sorted(approved)


@pytest.mark.slow
def test_ca_bundle_wins_over_requests_ca_bundle(
    msal_emulator: EntraEmulator, subprocess_env: dict[str, str], start_server: Any
) -> None:
    """REQUESTS_CA_BUNDLE points at the system CAs (which do not know the emulator's CA)."""
    env = dict(
        subprocess_env,
        REQUESTS_CA_BUNDLE="/etc/ssl/certs/ca-certificates.crt",
        CURL_CA_BUNDLE="/etc/ssl/certs/ca-certificates.crt",
    )
    server = start_server(env)
    try:
        sign_in(server, msal_emulator)
    finally:
        server.stop()

    without = {k: v for k, v in env.items() if k != "JUPYTER_MSAL_CA_BUNDLE"}
    server = start_server(without, name="server2")
    try:
        with pytest.raises(urllib.error.HTTPError) as info:
            server.request("POST", "jupyter-msal/sign-ins", {})
        body = json.loads(info.value.read())
        assert info.value.code == 504
        assert body["error"] == "identity_provider_unreachable"
        assert "[SSL: CERTIFICATE_VERIFY_FAILED]" in body["message"]
        assert "JupyterMsal.ca_bundle" in body["hint"]
    finally:
        server.stop()


# An invalid setting at startup (the server stays up, jupyter-msal inactive, the log and every
# answer naming the setting): tests/test_inactive.py.


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
