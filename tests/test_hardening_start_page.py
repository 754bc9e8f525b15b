"""``jupyter msal login`` never puts the sign-in link on a browser's command line.

The browser gets the flow's one-use local start page, which redirects to the authorize URL
(state, PKCE challenge); command lines are readable by every local user in ``/proc``. The
browser here is a stand-in script set through ``BROWSER`` that records its arguments and
stays alive a moment; as root, a second Linux user reads every process's command line
meanwhile.
"""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from jupyter_msal.service import TokenService
from jupyter_msal.testing import EntraEmulator, wait_until

OTHER_USER = "msal-other"
SECRETS = ("state=", "code_challenge=", "nonce=")

READ_CMDLINES = textwrap.dedent(
    """
    import os
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    print(f.read().replace(b"\\0", b" ").decode(errors="replace"))
            except OSError:
                pass
    """
)


def command_lines_seen_by_another_user() -> str:
    """Every process's command line, read by the second user (by this user when not root)."""
    command = [sys.executable, "-c", READ_CMDLINES]
    if os.geteuid() == 0:
        from jupyter_msal.testing.hub import ensure_linux_user

        ensure_linux_user(OTHER_USER)
        command = ["runuser", "-u", OTHER_USER, "--", "/usr/bin/python3", "-c", READ_CMDLINES]
    return subprocess.run(command, capture_output=True, text=True, cwd="/", check=True).stdout


def browser_stand_in(folder: Path) -> Path:
    """A ``BROWSER`` that records its arguments, leaves a child with its command line alive
    for a few seconds (its pid in ``browser.pid``) and returns at once."""
    script = folder / "browser"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{folder}/argv.tmp" && mv "{folder}/argv.tmp" "{folder}/argv"\n'
        "(sleep 20; :) &\n"
        f'echo $! > "{folder}/browser.pid"\n'
    )
    script.chmod(0o755)
    return script


def no_proxy_get(url: str) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False
        return session.get(url, allow_redirects=False, timeout=20)


@pytest.fixture
def login(subprocess_env: dict[str, str], tmp_path: Path) -> Iterator[Any]:
    """``jupyter msal login --method auth_code`` in a terminal (a pty), direct mode."""
    env = {**subprocess_env, "BROWSER": str(browser_stand_in(tmp_path))}
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "config")
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_msal.cli", "login", "--method", "auth_code"],
        env=env,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        start_new_session=True,
    )
    os.close(secondary)
    output: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:
                return
            if not chunk:
                return
            output.append(chunk)

    threading.Thread(target=drain, daemon=True).start()
    try:
        yield process, output
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        os.close(primary)
        pid_file = tmp_path / "browser.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass


def test_the_browser_command_line_holds_no_sign_in_secret(
    login: Any, msal_emulator: EntraEmulator, tmp_path: Path
) -> None:
    process, output = login
    argv_file = tmp_path / "argv"
    wait_until(argv_file.exists, timeout=60, message=lambda: b"".join(output).decode())
    argv = argv_file.read_text().splitlines()
    assert len(argv) == 1 and argv[0].startswith("http://localhost:")
    assert not any(secret in argv[0] for secret in SECRETS), argv
    wait_until((tmp_path / "browser.pid").exists, timeout=10)
    ours = [
        line
        for line in command_lines_seen_by_another_user().splitlines()
        if str(tmp_path) in line or "jupyter_msal" in line
    ]
    assert any("/start/" in line for line in ours)  # the stand-in browser, seen...
    assert not any(secret in line for line in ours for secret in SECRETS), ours  # ...no secret

    start = no_proxy_get(argv[0].replace("localhost", "127.0.0.1", 1))
    assert start.status_code == 302
    authorize = start.headers["Location"]
    query = dict(parse_qsl(urlsplit(authorize).query))
    assert authorize.startswith(f"{msal_emulator.url}/organizations/oauth2/v2.0/authorize?")
    assert query["state"] and query["code_challenge"] and query["code_challenge_method"] == "S256"

    answer = msal_emulator.http_session().get(authorize, allow_redirects=False)
    assert answer.status_code == 302
    page = no_proxy_get(answer.headers["Location"].replace("localhost", "127.0.0.1", 1))
    assert page.status_code == 200 and "Signed in" in page.text
    assert process.wait(60) == 0, b"".join(output).decode()


def test_the_start_page_is_good_for_one_use(service: TokenService) -> None:
    flow = service.flows.start("auth_code")
    start_url = flow.to_dict()["start_url"]
    assert start_url and start_url.startswith("http://localhost:")
    assert flow.prompt.sign_in_url and flow.prompt.sign_in_url not in start_url
    local = start_url.replace("localhost", "127.0.0.1", 1)
    first = no_proxy_get(local)
    assert first.status_code == 302 and first.headers["Location"] == flow.prompt.sign_in_url
    guessed = no_proxy_get(local.rsplit("/", 1)[0] + "/guess")
    assert guessed.status_code == 404 and "Location" not in guessed.headers
    second = no_proxy_get(local)
    assert second.status_code == 410 and "Location" not in second.headers
    assert flow.wait(10) == "failed"
    assert flow.error is not None and "opened twice" in flow.error.message


def test_without_a_listener_the_browser_gets_a_private_page() -> None:
    from jupyter_msal.cli.prompt import _browser_address

    link = "https://login.example/authorize?state=s3cret&code_challenge=c4allenge"
    address = _browser_address({"sign_in_url": link, "start_url": None})
    assert address.startswith("file:///") and not any(s in address for s in SECRETS)
    page = Path(urlsplit(address).path)
    assert page.stat().st_mode & 0o777 == 0o600
    assert page.parent.stat().st_mode & 0o777 == 0o700
    assert "state=s3cret&amp;code_challenge=c4allenge" in page.read_text()
