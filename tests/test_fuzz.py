"""Fuzz the REST API from its own OpenAPI document (schemathesis): never a 5xx, never a hang."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from kernel.kernel_helpers import JupyterServer, base_env


def test_fuzz_api_from_openapi(msal_emulator: Any, tmp_path: Path) -> None:
    server = JupyterServer(
        base_env(msal_emulator, tmp_path / "cache.bin"), tmp_path / "srv"
    ).start()
    try:
        # One signed-in account, so token requests reach msal rather than stopping early.
        flow = server.request("POST", "jupyter-msal/sign-ins", {})
        msal_emulator.approve(flow["user_code"])
        server.request("GET", f"jupyter-msal/sign-ins/{flow['id']}?wait=10")
        msal_emulator.auto_approve = "ada@contoso.com"
        secret = server.kernel_env()["JUPYTER_MSAL_SERVER_SECRET"]
        executable = shutil.which("schemathesis") or shutil.which("st")
        command = [executable] if executable else [sys.executable, "-m", "schemathesis.cli"]
        result = subprocess.run(
            [
                *command,
                "run",
                f"{server.url}jupyter-msal/openapi.json",
                "-H",
                f"Authorization: token {server.token}",
                "-H",
                f"X-Jupyter-Msal-Secret: {secret}",
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance",
                "--max-examples",
                "40",
                "--seed",
                "1",
                "--request-timeout",
                "40",
                "--max-response-time",
                "35",
                "--suppress-health-check",
                "all",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        output = result.stdout + result.stderr
        log = server.log()
    finally:
        server.stop()
    assert result.returncode == 0, output[-6000:]
    assert "passed" in output.lower()
    assert " 500 " not in log and "Traceback" not in log, log
