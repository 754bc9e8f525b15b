"""Fixtures for the browser end-to-end tests (JupyterLab 4 and Notebook 7 in headless Chromium).

One Entra ID emulator, one real ``jupyter lab`` server and one Chromium per test module:

* ``emulator``: :class:`jupyter_msal.testing.EntraEmulator` (device-code interval 1 s).
* ``lab``: a ``jupyter lab`` subprocess on a free loopback port with a random token, isolated
  Jupyter config/data/runtime directories, pointed at the emulator through ``JUPYTER_MSAL_*``.
  It serves JupyterLab (``/lab``) and Notebook 7 (``/tree``).
* ``browser``: Debian's ``/usr/bin/chromium`` driven by the ``playwright`` Python package
  (never ``playwright install``).
* ``page``: a fresh browser context + page per test that records every HTTP response it
  receives (``page.responses``), for the "the page never holds a token" check.

Screenshots go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("JUPYTER_MSAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip (with the reason) when Chromium or playwright is missing on this machine."""
    reason = None
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing (run scripts/ensure-browser)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright Python package is not installed"
    if reason:
        here = Path(__file__).parent
        for item in items:
            if here in Path(str(item.fspath)).parents:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> None:
    """Neutralise pytest-jupyter's autouse loop fixture (loaded by tests/conftest.py): these
    tests run no in-process server, and Playwright's sync API owns the thread's event loop."""
    return None


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> None:
    """Nothing to clean: the server under test is a subprocess (see ``lab``)."""
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def emulator(msal_emulator_module: Any) -> Any:
    """One Entra ID emulator per test module (device-code interval 1 s)."""
    return msal_emulator_module


@dataclass
class LabServer:
    """A running ``jupyter lab`` process."""

    url: str  # ends with "/"
    token: str
    process: subprocess.Popen[bytes]
    log_path: Path
    cache_path: Path
    session: Any = field(default=None)

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call ``jupyter-msal/<path>`` with the Jupyter API token (as a script would)."""
        response = self.session.request(
            method,
            f"{self.url}jupyter-msal/{path}",
            headers={"Authorization": f"token {self.token}"},
            timeout=40,
            **kwargs,
        )
        response.raise_for_status()
        return response.json()

    def sign_in(self, emulator: Any, username: str | None = None) -> dict[str, Any]:
        """A sign-in made from outside the page: REST ``POST sign-ins`` + approval at the IdP."""
        flow = self.api("POST", "sign-ins", json={"method": "device_code"})
        emulator.approve(flow["user_code"], username)
        deadline = time.monotonic() + 30
        while flow["state"] == "pending" and time.monotonic() < deadline:
            flow = self.api("GET", f"sign-ins/{flow['id']}?wait=10")
        assert flow["state"] == "succeeded", flow
        return flow

    def sign_out_all(self) -> None:
        self.api("DELETE", "accounts")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _labextension_from_checkout(data_dir: Path) -> None:
    """Serve the front end built in this checkout (``jlpm build:prod``) rather than a copy an
    earlier (editable) install left in sys.prefix: the first labextensions directory wins."""
    built = REPO / "jupyter_msal" / "labextension"
    if (built / "package.json").exists():
        target = data_dir / "labextensions" / "jupyter-msal"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(built, target_is_directory=True)


@pytest.fixture(scope="module")
def lab_extra_env() -> dict[str, str]:
    """Override in a test module to add ``JUPYTER_MSAL_*`` settings to its ``lab`` server.

    With any, the server is ready once ``jupyter-msal/status`` answers 200 or 503 (a setting
    that keeps jupyter-msal inactive); without, only 200 will do.
    """
    return {}


@pytest.fixture(scope="module")
def lab(
    emulator: Any, tmp_path_factory: pytest.TempPathFactory, lab_extra_env: dict[str, str]
) -> Iterator[LabServer]:
    import requests

    root = tmp_path_factory.mktemp("lab")
    for name in ("config", "data", "runtime", "notebooks"):
        (root / name).mkdir()
    _labextension_from_checkout(root / "data")
    # no "Would you like to get notified about official Jupyter news?" toast
    notification = root / "settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    (root / "config" / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"jupyter_msal": True}}})
    )
    port = _free_port()
    token = secrets.token_hex(24)
    cache_path = root / "msal" / "cache.bin"
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("JUPYTER_MSAL_") or name.lower() in ("http_proxy", "https_proxy"):
            env.pop(name)
    env.update(
        JUPYTER_CONFIG_DIR=str(root / "config"),
        JUPYTER_DATA_DIR=str(root / "data"),
        JUPYTER_RUNTIME_DIR=str(root / "runtime"),
        JUPYTER_PLATFORM_DIRS="0",
        NO_PROXY="127.0.0.1,localhost",
        **emulator.jupyter_msal_env(cache_path=cache_path),
    )
    env.update(lab_extra_env)
    ready = (200, 503) if lab_extra_env else (200,)
    log_path = root / "lab.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.token={token}",
            f"--ServerApp.root_dir={root / 'notebooks'}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            f"--LabApp.workspaces_dir={root / 'workspaces'}",
            f"--LabApp.user_settings_dir={root / 'settings'}",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=root,
    )
    url = f"http://127.0.0.1:{port}/"
    session = requests.Session()
    session.trust_env = False
    server = LabServer(url, token, process, log_path, cache_path, session)
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited early:\n{server.log()}")
            try:
                status = session.get(
                    f"{url}jupyter-msal/status",
                    headers={"Authorization": f"token {token}"},
                    timeout=5,
                )
                if status.status_code in ready:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"jupyter lab did not answer in 90 s:\n{server.log()}")
            time.sleep(0.3)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
        session.close()
        # keep the server log next to the screenshots for post-mortems
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log_path, ARTIFACTS / f"lab-server-{port}.log")


@pytest.fixture
def signed_out_lab(lab: LabServer, emulator: Any) -> LabServer:
    """The module's server with nobody signed in, no emulator faults, no automatic approval."""
    lab.sign_out_all()
    emulator.clear_faults()
    emulator.auto_approve = None
    return lab


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


class RecordingPage:
    """A Playwright page plus every HTTP response it received."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.responses: list[Any] = []
        page.on("response", lambda response: self.responses.append(response))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.page, name)

    def bodies(self) -> list[tuple[str, int, str, str]]:
        """(url, status, content type, headers + body text) of every recorded response with a
        readable body."""
        out = []
        for response in self.responses:
            try:
                body = response.body()
            except Exception:  # redirects and aborted requests have no body
                continue
            headers = response.headers
            out.append((
                response.url,
                response.status,
                headers.get("content-type", ""),
                json.dumps(headers) + "\n" + body.decode("utf-8", "replace"),
            ))
        return out


@pytest.fixture
def page(browser: Any, lab: LabServer) -> Iterator[RecordingPage]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 800},
        ignore_https_errors=True,  # the emulator's /devicelogin page uses a throwaway CA
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.url.rstrip("/"))
    context.set_default_timeout(30_000)
    recording = RecordingPage(context.new_page())
    try:
        yield recording
    finally:
        context.close()


@pytest.fixture
def shot() -> Any:
    """``shot(page, "name")`` saves ``test-artifacts/browser/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def save(page: Any, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path))
        return path

    return save
