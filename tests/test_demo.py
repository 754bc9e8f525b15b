"""`jupyter msal demo`: the documented offline demo starts, a sign-in works end to end, its
workspace holds the example notebooks, and however it is stopped no Jupyter process survives
it. The emulator's command line serves what a JupyterHub admin needs."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from jupyter_msal.testing import wait_until
from jupyter_msal.testing.server import free_port

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))


@dataclass
class Demo:
    """A running ``jupyter msal demo --app server`` and how to reach its Jupyter server."""

    proc: subprocess.Popen[bytes]
    port: int
    token: str
    log: Path

    def call(self, method: str, path: str, body: object = None) -> Any:
        """Call the demo's Jupyter server (``path`` below its root) with its token."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def printed(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_up(self) -> dict[str, Any]:
        """jupyter-msal's status, once the demo's server answers."""

        def status() -> dict[str, Any] | None:
            assert self.proc.poll() is None, self.printed()
            try:
                return self.call("GET", "jupyter-msal/status")
            except OSError:
                return None

        return wait_until(status, 60, interval=0.2, message=self.printed)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    """The demo in a session of its own (so that a test can signal the demo process alone),
    with Jupyter's folders under ``tmp_path``; whatever is left is killed afterwards."""
    port, token = free_port(), "demo-test-token"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MSAL_")}
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "jupyter_msal.cli", "demo",
                "--app", "server", "--port", str(port),
                "--", "--no-browser", f"--IdentityProvider.token={token}",
                "--ServerApp.port_retries=0",
            ],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    demo = Demo(proc, port, token, log)
    try:
        yield demo
    finally:
        left = _descendants(proc.pid)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        for pid in left:  # only if a test failed: never leave a server running
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, from /proc; None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw.rpartition(")")[2].split()  # the command name may hold spaces
    return fields[0], int(fields[1])


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def _running(pid: int) -> bool:
    """Alive, zombies excluded (a container's init may never reap them)."""
    found = _stat(pid)
    return found is not None and found[0] not in ("Z", "X")


def _descendants(pid: int) -> set[int]:
    """Every running process below ``pid``."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            found = _stat(int(entry.name))
            if found is not None and found[0] not in ("Z", "X"):
                parents[int(entry.name)] = found[1]
    below: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - below
        below |= frontier
    return below


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # Zombies still count for killpg: look at who is really running in the group.
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _running(int(entry.name)):
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    return True
            except ProcessLookupError:
                continue
    return False


@pytest.mark.slow
def test_demo_signs_in_offline(demo: Demo) -> None:
    status = demo.wait_until_up()
    page = re.search(r"Sign-in page \(approve codes there\): (\S+)", demo.printed()).group(1)
    # A plain-HTTP page on loopback, so the newcomer's browser shows no certificate warning.
    assert page.startswith("http://127.0.0.1:") and page.endswith("/devicelogin")
    assert status["config"]["authority"].startswith("https://127.0.0.1:")
    ca = status["config"]["ca_bundle"]

    flow = demo.call("POST", "jupyter-msal/sign-ins", {})
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
        flow = demo.call("GET", f"jupyter-msal/sign-ins/{flow['id']}?wait=10")
        if flow["state"] != "pending":
            break
    assert flow["state"] == "succeeded", flow
    assert demo.call("GET", "jupyter-msal/accounts")["accounts"][0]["username"] == "me@demo.test"
    assert demo.call("POST", "jupyter-msal/token", {"scopes": ["User.Read"]})["access_token"]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stopped_demo_leaves_no_jupyter_running(demo: Demo, stop: signal.Signals) -> None:
    demo.wait_until_up()
    # The workspace a newcomer sees starts with the example notebooks.
    listing = demo.call("GET", "api/contents")["content"]
    assert EXAMPLES and sorted(item["name"] for item in listing) == EXAMPLES
    root = re.search(r"Workspace, with the example notebooks: (\S+)", demo.printed()).group(1)
    assert sorted(p.name for p in Path(root).iterdir()) == EXAMPLES

    demo.call("POST", "api/kernels", {"name": "python3"})
    (jupyter,) = [pid for pid in _descendants(demo.proc.pid) if _stat(pid)[1] == demo.proc.pid]
    assert os.getpgid(jupyter) == jupyter != os.getpgid(demo.proc.pid)  # a group of its own
    # The kernel runs in a session of its own (jupyter_client starts it so): only Jupyter's
    # own shutdown, or the kernel noticing its parent is gone, ends it.
    kernels = wait_until(
        lambda: [p for p in _descendants(jupyter) if b"ipykernel" in _cmdline(p)],
        60,
        interval=0.2,
        message="no kernel process appeared",
    )
    everything = _descendants(demo.proc.pid)
    assert jupyter in everything and set(kernels) <= everything

    os.kill(demo.proc.pid, stop)  # the demo alone, as `kill PID` or a closing terminal would
    assert demo.proc.wait(60) == 128 + stop, demo.printed()
    wait_until(
        lambda: not any(_running(pid) for pid in everything),
        30,
        message=lambda: f"still running: {[p for p in everything if _running(p)]}",
    )
    assert not _group_exists(jupyter)


def test_the_wheel_ships_the_example_notebooks(tmp_path: Path) -> None:
    """What `jupyter msal demo` copies must be inside the package when installed from a wheel."""
    pytest.importorskip("hatchling")
    out = subprocess.run(
        [
            sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
            "--disable-pip-version-check", "-q", "-w", str(tmp_path), str(REPO),
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    import zipfile

    (wheel,) = tmp_path.glob("jupyter_msal-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert sorted(n for n in names if n.startswith("jupyter_msal/notebooks/")) == [
        f"jupyter_msal/notebooks/{name}" for name in EXAMPLES
    ]


def _run_emulator(*args: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_msal.testing.emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else ""
    return proc, json.loads(line)


def _close_pipes(proc: subprocess.Popen[str]) -> None:
    """Close the pipes of an emulator process from :func:`_run_emulator` that has ended."""
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_emulator_cli_plain_sign_in_page_and_public_ca(tmp_path: Path, stop: int) -> None:
    ca_out = tmp_path / "shared" / "emulator-ca.pem"
    old_umask = os.umask(0o077)  # a private umask must not make the copy private
    try:
        proc, info = _run_emulator(
            "--plain-http-sign-in-page", "--ca-out", str(ca_out), "--device-code-interval", "1"
        )
    finally:
        os.umask(old_umask)
    try:
        assert info["ca_out"] == str(ca_out)
        assert stat.S_IMODE(ca_out.stat().st_mode) == 0o644
        assert ca_out.read_bytes() == Path(info["ca_bundle_path"]).read_bytes()
        assert b"BEGIN CERTIFICATE" in ca_out.read_bytes()
        assert not list(ca_out.parent.glob(".*"))  # no temporary file left beside it

        # The identity endpoints verify against the copy; the people's page is plain HTTP.
        session = requests.Session()
        session.trust_env = False
        discovery = session.get(
            f"{info['authority']}/v2.0/.well-known/openid-configuration", verify=str(ca_out)
        )
        assert discovery.status_code == 200 and discovery.json()["token_endpoint"]
        page = info["device_login_url"]
        assert page.startswith("http://127.0.0.1:") and page.endswith("/devicelogin")
        form = session.get(page, timeout=10)
        assert form.status_code == 200 and 'id="user-code"' in form.text
        code = session.post(
            f"{info['authority']}/oauth2/v2.0/devicecode",
            data={"client_id": "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "scope": "User.Read"},
            verify=str(ca_out),
        ).json()
        assert code["verification_uri"] == page

        proc.send_signal(stop)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        _close_pipes(proc)


def test_emulator_cli_without_the_new_options_is_unchanged() -> None:
    proc, info = _run_emulator()
    try:
        assert "ca_out" not in info
        assert info["device_login_url"] == f"{info['url']}/devicelogin"
    finally:
        proc.terminate()
        assert proc.wait(20) == 0
        _close_pipes(proc)


def test_demo_without_the_app_is_one_line(tmp_path: Path) -> None:
    """`--app lab` where JupyterLab is missing: one line saying what to install."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\n"
        "class _Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'jupyterlab':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, _Hide())\n"
    )
    env = dict(os.environ, PYTHONPATH=str(site))
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_msal.cli", "demo", "--app", "lab"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "jupyter msal demo: JupyterLab is not installed here: pip install jupyterlab "
        "(or use --app server)"
    ]
