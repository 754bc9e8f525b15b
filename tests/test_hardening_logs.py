"""No secret escapes through a log, whichever logger writes it and whenever it was created.

msal creates ``msal.oauth2cli.oauth2`` when it builds its client, and that logger writes a
token endpoint's non-JSON answer whole at ERROR. A proxy's error page that echoes
``refresh_token=...`` must not reach the server log or a terminal.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Any

import pytest

from jupyter_msal.client import ServerClient
from jupyter_msal.errors import IdentityProviderError
from jupyter_msal.redact import install_redaction
from jupyter_msal.testing import DEFAULT_USERNAME, EntraEmulator
from jupyter_msal.testing.server import JupyterServerProcess, emulator_environment, run_cli

STORAGE = "https://storage.azure.com/.default"
GRAPH = "https://graph.microsoft.com/.default"


def proxy_page(emulator: EntraEmulator) -> str:
    """An HTML error page of a proxy that echoes the request it failed to forward."""
    refresh_token = emulator.issued_refresh_tokens[-1]
    return (
        "<html><body><h1>502 Upstream error</h1>"
        f"<p>grant_type=refresh_token&refresh_token={refresh_token}&client_id=x</p>"
        f"<pre>{refresh_token}</pre></body></html>"
    )


def secrets_of(emulator: EntraEmulator) -> list[str]:
    """Every token the emulator issued."""
    return [
        *emulator.issued_refresh_tokens,
        *emulator.issued_access_tokens,
        *emulator.issued_id_tokens,
    ]


def test_a_raw_token_response_never_reaches_the_terminal(
    msal_emulator: EntraEmulator, tmp_path: Path
) -> None:
    (tmp_path / "config").mkdir()
    env = emulator_environment(
        msal_emulator,
        tmp_path / "cache" / "token_cache.bin",
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(env, *args)

    msal_emulator.auto_approve = DEFAULT_USERNAME
    assert cli("login").returncode == 0
    msal_emulator.inject_error(
        200, body=proxy_page(msal_emulator), content_type="text/html", endpoint="token"
    )
    result = cli("token", "--scope", GRAPH)
    assert result.returncode != 0
    assert "Token response is not in json format: <" in result.stderr  # msal's line, scrubbed
    assert "characters, not logged>" in result.stderr
    leaked = [s[:12] for s in secrets_of(msal_emulator) if s in result.stderr + result.stdout]
    assert leaked == [], result.stderr


def test_a_raw_token_response_never_reaches_the_server_log(
    msal_emulator: EntraEmulator, start_server: Any
) -> None:
    server: JupyterServerProcess = start_server()
    client = ServerClient(server.url, jupyter_token=server.token)
    flow = client.start_sign_in()
    msal_emulator.approve(flow["user_code"])
    client.wait_for_sign_in(flow)
    msal_emulator.inject_error(
        200, body=proxy_page(msal_emulator), content_type="text/html", endpoint="token"
    )
    with pytest.raises(IdentityProviderError, match="msal cannot use"):
        client.token([GRAPH])
    log = server.log(tail=500_000)
    assert "Token response is not in json format" in log
    assert [s[:12] for s in secrets_of(msal_emulator) if s in log] == []


def test_loggers_created_after_installing_are_covered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_redaction()
    caplog.set_level(logging.DEBUG)
    later = logging.getLogger("msal.created.after.install")
    later.error("body: refresh_token=0.AAAA-secret-value&x=1 %s", "code=abc123")
    logging.getLogger("jupyter_msal.also.later").debug("Bearer eyJhbGciOi.eyJzdWIiOi.c2ln")
    try:
        raise ValueError("refresh_token=0.AAAA-in-a-traceback")
    except ValueError:
        later.exception("failed")
    assert "0.AAAA-secret-value" not in caplog.text and "abc123" not in caplog.text
    assert "eyJhbGciOi.eyJzdWIiOi.c2ln" not in caplog.text
    assert "0.AAAA-in-a-traceback" not in caplog.text
    assert "refresh_token=<redacted>" in caplog.text
    # other loggers are left alone (a server's URL with its token is the user's to see)
    logging.getLogger("ServerApp.elsewhere").warning("http://127.0.0.1/lab?token=abc")
    assert "lab?token=abc" in caplog.text
