"""``jupyter msal ...`` in a plain shell (direct mode) and in a terminal opened from Jupyter.

Commands that reach the token service run in subprocesses, as users run them; the others run
``main()`` in this process.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_msal.cli import main
from jupyter_msal.testing.server import JupyterServerProcess as JupyterServer
from jupyter_msal.testing.server import emulator_environment as base_env
from jupyter_msal.testing.server import run_cli

STORAGE = "https://storage.azure.com/.default"


def jupyter_msal(
    env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return run_cli(env, *args, timeout=timeout)


@pytest.fixture
def env(msal_emulator: Any, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "config"
    config.mkdir()
    env = base_env(msal_emulator, tmp_path / "cache" / "token_cache.bin")
    env["JUPYTER_CONFIG_DIR"] = str(config)  # no config files of the user's
    return env


@pytest.fixture
def plain_shell(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """This process as a plain shell (direct mode), with an empty config folder; returns it."""
    for name in list(os.environ):
        if name.startswith("JUPYTER_MSAL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "config").mkdir(exist_ok=True)
    return tmp_path / "config"


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
    # Every non-secret effective setting, as `status --json` and the Lab panel show them.
    for name, value in data["config"].items():
        assert f"    {name} = {json.dumps(value)}\n" in human.stdout
    assert "cache_key_set = false" in human.stdout and "client_secret =" not in human.stdout

    logout = jupyter_msal(env, "logout", "--all")
    assert logout.returncode == 0 and "Signed out ada@contoso.com" in logout.stderr
    assert jupyter_msal(env, "accounts", "--json").stdout.strip() == "[]"
    assert jupyter_msal(env, "logout").returncode != 0


def test_bad_config_is_one_line(env: dict[str, str]) -> None:
    result = jupyter_msal(dict(env, JUPYTER_MSAL_HTTP_TIMEOUT="soon"), "status")
    assert result.returncode == 1
    assert "JupyterMsal.http_timeout" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_command_line_and_config_files_set_direct_mode(
    msal_emulator: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """``--JupyterMsal.<name>=...`` and jupyter_msal_config.py reach the in-process service."""
    authority = env.pop("JUPYTER_MSAL_AUTHORITY")
    option = f"--JupyterMsal.authority={authority}"

    status = jupyter_msal(env, "status", "--json", option)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["config"]["authority"] == authority

    msal_emulator.auto_approve = "ada@contoso.com"
    login = jupyter_msal(env, "login", "--scope", STORAGE, option)
    assert login.returncode == 0, login.stderr
    token = jupyter_msal(env, "token", STORAGE, option)  # a positional scope
    assert token.returncode == 0, token.stderr
    assert token.stdout.strip() in msal_emulator.issued_access_tokens

    # Without it: the default authority, a host the test's allowed_hosts refuses.
    refused = jupyter_msal(env, "token", "-s", STORAGE)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.strip().splitlines()[-1].startswith("jupyter msal token: ")

    config_file = Path(env["JUPYTER_CONFIG_DIR"]) / "jupyter_msal_config.py"
    config_file.write_text(f"c.JupyterMsal.authority = {authority!r}\n")
    again = jupyter_msal(env, "token", "--scope", STORAGE)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() in msal_emulator.issued_access_tokens

    config_file.write_text("c.JupyterMsal.authority = \n")
    broken = jupyter_msal(env, "status")
    assert broken.returncode == 1
    assert broken.stderr.startswith(f"jupyter msal status: cannot load config file {config_file}")
    assert len(broken.stderr.strip().splitlines()) == 1


def test_help_all_lists_the_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help-all"]) == 0
    out = capsys.readouterr().out
    for name in ("authority", "client_id", "default_scopes", "http_timeout", "cache_key"):
        assert f"--JupyterMsal.{name}=" in out
    for command in ("status", "accounts", "login", "token", "logout", "generate-key", "demo"):
        assert f"\n{command}\n" in out
    assert main(["token", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("-s, --scope", "-a, --account", "--force-refresh", "--claims", "--no-sign-in"):
        assert option in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "jupyter msal: name a command: status, accounts, login, token, logout"),
        (["status", "extra"], "jupyter msal status: unexpected argument 'extra'"),
        (["logout"], "jupyter msal logout: Name the account to sign out of, or pass --all."),
        (["logout", "a", "b"], "jupyter msal logout: unexpected argument 'b'"),
        (
            ["token", "--JupyterMsal.http_timeout=soon", "-s", STORAGE],
            "jupyter msal token: JupyterMsal.http_timeout: The 'http_timeout' trait",
        ),
    ],
)
def test_usage_and_config_errors_are_one_line(
    plain_shell: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(message) and len(captured.err.splitlines()) == 1


def test_generate_config_writes_the_settings(plain_shell: Path) -> None:
    assert main(["--generate-config"]) == 0
    text = (plain_shell / "jupyter_msal_config.py").read_text()
    assert "c.JupyterMsal.authority" in text and "c.JupyterMsal.http_timeout" in text


def test_generate_key() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "jupyter_msal.cli", "generate-key"],
        capture_output=True,
        text=True,
        check=True,
    )
    from cryptography.fernet import Fernet

    key = result.stdout.strip().encode()
    assert result.stdout == key.decode() + "\n" and len(key) == 44
    assert Fernet(key).decrypt(Fernet(key).encrypt(b"a token cache")) == b"a token cache"


def _terminal_run(server: JupyterServer, command: str, marker: str, timeout: float = 60) -> str:
    """Type ``command`` into a real Jupyter terminal and return what it printed; ``marker`` is
    a regex matched against the output (not the echoed command line), and must appear."""
    output = server.run_in_terminal(command, marker, timeout=timeout)
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
