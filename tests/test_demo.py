"""`jupyter msal demo`: the documented offline demo starts and a sign-in works end to end."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import requests


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_signs_in_offline(tmp_path: Path) -> None:
    port, token = _free_port(), "demo-test-token"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MSAL_")}
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
    )
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_msal.cli",
                "demo",
                "--app",
                "server",
                "--port",
                str(port),
                "--",
                "--no-browser",
                f"--IdentityProvider.token={token}",
                "--ServerApp.port_retries=0",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}/jupyter-msal/"
    headers = {"Authorization": f"token {token}", "Content-Type": "application/json"}

    def call(method: str, path: str, body: object = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                status = call("GET", "status")
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        printed = log.read_text()
        page = re.search(r"Sign-in page \(approve codes there\): (\S+)", printed).group(1)
        # A plain-HTTP page on loopback, so the newcomer's browser shows no certificate warning.
        assert page.startswith("http://127.0.0.1:") and page.endswith("/devicelogin")
        assert status["config"]["authority"].startswith("https://127.0.0.1:")
        ca = status["config"]["ca_bundle"]

        flow = call("POST", "sign-ins", {})
        assert flow["verification_uri"] == page
        # What a newcomer does in the browser: open the page, enter the code, approve.
        form = requests.get(page, verify=ca, timeout=10)
        assert form.status_code == 200 and 'id="user-code"' in form.text
        done = requests.post(
            page,
            data={"user_code": flow["user_code"], "username": "me@demo.test", "action": "approve"},
            verify=ca,
            timeout=10,
        )
        assert done.status_code == 200 and "me@demo.test" in done.text, done.text
        for _ in range(6):
            flow = call("GET", f"sign-ins/{flow['id']}?wait=10")
            if flow["state"] != "pending":
                break
        assert flow["state"] == "succeeded", flow
        assert call("GET", "accounts")["accounts"][0]["username"] == "me@demo.test"
        assert call("POST", "token", {"scopes": ["User.Read"]})["access_token"]
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
