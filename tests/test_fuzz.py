"""Fuzz the REST API from its own OpenAPI document (schemathesis): never a 5xx, never a hang."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from jupyter_msal.client import ServerClient
from jupyter_msal.constants import SERVER_SECRET_ENV
from jupyter_msal.testing import EntraEmulator


def _operations(server: Any) -> set[str]:
    """``METHOD /path`` of every operation the server's OpenAPI document describes."""
    doc = server.request("GET", "jupyter-msal/openapi.json")
    return {
        f"{method.upper()} {path}"
        for path, item in doc["paths"].items()
        for method in item
        if method in {"get", "put", "post", "delete", "patch"}
    }


def test_fuzz_api_from_openapi(
    msal_emulator: EntraEmulator, start_server: Any, tmp_path: Path
) -> None:
    server = start_server()
    # One signed-in account, so token requests reach msal rather than stopping early.
    client = ServerClient(server.url, jupyter_token=server.token)
    flow = client.start_sign_in()
    msal_emulator.approve(flow["user_code"])
    assert client.wait_for_sign_in(flow).username == "ada@contoso.com"
    msal_emulator.auto_approve = "ada@contoso.com"
    secret = server.kernel_environment()[SERVER_SECRET_ENV]
    operations = _operations(server)
    report = tmp_path / "schemathesis.xml"
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
            "--report",
            "junit",
            "--report-junit-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    log = server.log(tail=200_000)
    assert result.returncode == 0, output[-6000:]

    # schemathesis' own verdict, per operation: every operation ran, none failed or errored.
    suite = ET.parse(report).getroot()
    if suite.tag == "testsuites":
        (suite,) = suite.findall("testsuite")
    cases = suite.findall("testcase")
    # schemathesis does not fuzz the document it was given; it adds its stateful phase
    expected = (operations - {"GET /openapi.json"}) | {"Stateful tests"}
    assert {case.get("name") for case in cases} == expected, output[-6000:]
    bad = [case.get("name") for case in cases if case.find("failure") is not None]
    bad += [case.get("name") for case in cases if case.find("error") is not None]
    assert bad == [], output[-6000:]
    assert all(case.find("skipped") is None for case in cases), output[-6000:]
    assert " 500 " not in log and "Traceback" not in log, log[-6000:]
