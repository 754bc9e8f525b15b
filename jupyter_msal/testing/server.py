"""A real Jupyter server with jupyter-msal, in a subprocess, pointed at the emulator.

For offline tests and benchmarks of your own (ours use it too)::

    with EntraEmulator(device_code_interval=1) as emu:
        env = emulator_environment(emu, tmp_path / "cache.bin")
        server = JupyterServerProcess(env, tmp_path / "server").start()
        try:
            client = ServerClient(server.url, jupyter_token=server.token)  # jupyter_msal.client
            flow = client.start_sign_in()
            emu.approve(flow["user_code"])
            client.wait_for_sign_in(flow)
            with server.open_kernel() as kernel:   # inherits the server's environment
                kernel.ok("%load_ext jupyter_msal")
        finally:
            server.stop()

The server gets its own config, data and runtime folders under ``workdir`` and a random
token; it listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..constants import (
    IDENTITY_ENDPOINT_ENV,
    IDENTITY_HEADER_ENV,
    MANAGED_IDENTITY_PATH,
    SERVER_SECRET_ENV,
    SERVER_URL_ENV,
)
from .running import StartsAndStops
from .waiting import wait_until

if TYPE_CHECKING:
    from .emulator import EntraEmulator
    from .kernels import Kernel

__all__ = [
    "HTTP_TIMEOUT",
    "MANAGED_IDENTITY_VARIABLES",
    "JupyterServerProcess",
    "azure_sdk_environment",
    "emulator_environment",
    "free_port",
    "run_cli",
]

#: Seconds jupyter-msal waits for each call to the emulator in :func:`emulator_environment`.
HTTP_TIMEOUT = 8


#: Variables that select a managed identity (or move IMDS) for the Azure SDKs: tests that run
#: Azure code start from an environment without them, so none leaks in from outside.
MANAGED_IDENTITY_VARIABLES = (
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
)


def run_cli(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``jupyter msal ARGS`` in a new process with ``env``, as a user runs it in a shell
    (no standard input; output captured as text)."""
    return subprocess.run(
        [sys.executable, "-m", "jupyter_msal.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def emulator_environment(
    emulator: EntraEmulator,
    cache_path: Path | str,
    *,
    http_timeout: float = HTTP_TIMEOUT,
    **extra: str,
) -> dict[str, str]:
    """This process's environment, without any jupyter-msal variables, pointed at ``emulator``.

    Without the variables of jupyter-msal's managed-identity endpoint either, when this process
    runs under a jupyter-msal server (a test run from a JupyterLab terminal): the servers it
    starts publish their own. A real managed identity's variables stay.

    The variables come from :meth:`EntraEmulator.jupyter_msal_env
    <jupyter_msal.testing.EntraEmulator.jupyter_msal_env>`: a plaintext cache at
    ``cache_path``, requests only to loopback, ``http_timeout`` seconds for each call to the
    emulator. ``extra`` variables are added last.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("JUPYTER_MSAL_") and k not in {"JPY_PARENT_PID", "JPY_SESSION_NAME"}
    }
    if env.get(IDENTITY_ENDPOINT_ENV, "").endswith(MANAGED_IDENTITY_PATH):
        env.pop(IDENTITY_ENDPOINT_ENV)
        env.pop(IDENTITY_HEADER_ENV, None)
    env.update(emulator.jupyter_msal_env(cache_path=cache_path, http_timeout=http_timeout))
    env.update(extra)
    return env


def azure_sdk_environment(
    emulator: EntraEmulator, cache_path: Path | str, **extra: str
) -> dict[str, str]:
    """:func:`emulator_environment` for a server whose kernels run Azure SDK code: no identity
    from outside (none of :data:`MANAGED_IDENTITY_VARIABLES`), IMDS moved to a closed loopback
    port were it ever tried, and the emulator's CA trusted by requests, azure-core and OpenSSL
    (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, ``SSL_CERT_FILE``). ``extra`` is added last."""
    env = emulator_environment(emulator, cache_path)
    for name in (*MANAGED_IDENTITY_VARIABLES, "AZURE_ADDITIONALLY_ALLOWED_TENANTS"):
        env.pop(name, None)
    env.update(
        AZURE_POD_IDENTITY_AUTHORITY_HOST="http://127.0.0.1:9",
        REQUESTS_CA_BUNDLE=emulator.ca_bundle_path,
        CURL_CA_BUNDLE=emulator.ca_bundle_path,
        SSL_CERT_FILE=emulator.ca_bundle_path,
    )
    env.update(extra)
    return env


class JupyterServerProcess(StartsAndStops):
    """``python -m jupyter_server`` with jupyter-msal (or, for comparison, without it);
    ``with JupyterServerProcess(env, workdir) as server:`` starts and stops it."""

    def __init__(
        self,
        env: dict[str, str],
        workdir: Path,
        *,
        base_url: str = "/",
        extension: bool = True,
        log_level: str | None = None,
    ) -> None:
        self.workdir = workdir
        self.base_url = base_url
        self.extension = extension
        self.token = secrets.token_hex(16)
        self.env = dict(env)
        for sub in ("config", "data", "runtime", "root"):
            (workdir / sub).mkdir(parents=True, exist_ok=True)
        self.env.update(
            JUPYTER_CONFIG_DIR=str(workdir / "config"),
            JUPYTER_DATA_DIR=str(workdir / "data"),
            JUPYTER_RUNTIME_DIR=str(workdir / "runtime"),
        )
        # kernels inherit it: debugpy's warning about frozen modules is noise on stderr
        self.env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        config: dict[str, Any] = {"ServerApp": {"jpserver_extensions": {"jupyter_msal": extension}}}
        if log_level:
            config["ServerApp"]["log_level"] = log_level
        (workdir / "config" / "jupyter_server_config.json").write_text(json.dumps(config))
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self._kernel_env: dict[str, str] | None = None

    @property
    def url(self) -> str:
        """The server's URL, base_url included, ending in "/"."""
        return f"http://127.0.0.1:{self.port}{self.base_url}"

    def start(self, timeout: float = 60) -> JupyterServerProcess:
        """Start the server and wait until it answers (the extension's status, if enabled).

        Raises :class:`RuntimeError`, with the end of its log, when it exits or does not answer
        within ``timeout`` seconds.
        """
        self.port = free_port()
        with open(self.workdir / "server.log", "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
                    f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                    "--ServerApp.ip=127.0.0.1", f"--ServerApp.base_url={self.base_url}",
                    f"--ServerApp.root_dir={self.workdir / 'root'}",
                    f"--IdentityProvider.token={self.token}",
                ],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=str(self.workdir / "root"),
            )  # fmt: skip
        self._kernel_env = None
        probe = "jupyter-msal/status" if self.extension else "api/status"
        try:
            wait_until(lambda: self._answers(probe), timeout, interval=0.1)
        except TimeoutError as exc:
            raise RuntimeError(f"jupyter server did not start:\n{self.log()}") from exc
        return self

    def _answers(self, path: str) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"jupyter server exited:\n{self.log()}")
        try:
            self.request("GET", path)
        except (OSError, urllib.error.HTTPError):
            return False
        return True

    def log(self, tail: int = 5000) -> str:
        """The end of the server's log."""
        return (self.workdir / "server.log").read_text(errors="replace")[-tail:]

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 20 s)."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def request(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        """Call the server with its Jupyter token; decoded JSON (raises HTTPError on 4xx/5xx)."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(  # noqa: S310 - our own http://127.0.0.1 URL
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback
            raw = resp.read()
        return json.loads(raw) if raw else None

    @contextmanager
    def open_kernel(self, kernel_name: str = "python3") -> Iterator[Kernel]:
        """A kernel started through this server (``POST /api/kernels``), so it inherits the
        server's environment as a user's kernel would; deleted afterwards."""
        from .kernels import server_kernel

        kid = self.request("POST", "api/kernels", {"name": kernel_name})["id"]
        connection_file = self.workdir / "runtime" / f"kernel-{kid}.json"
        with server_kernel(
            connection_file, kid, lambda: self.request("DELETE", f"api/kernels/{kid}")
        ) as kernel:
            yield kernel

    def sign_in(self, emulator: EntraEmulator, username: str | None = None) -> dict[str, Any]:
        """Sign ``username`` (the emulator's default user) in with a device code through the
        REST API, the emulator approving every code meanwhile; returns the finished flow."""
        emulator.auto_approve = username or emulator.default_username
        try:
            flow = self.request("POST", "jupyter-msal/sign-ins", {"method": "device_code"})
            while flow["state"] == "pending":
                flow = self.request("GET", f"jupyter-msal/sign-ins/{flow['id']}?wait=10")
        finally:
            emulator.auto_approve = None
        if flow["state"] != "succeeded":
            raise AssertionError(f"the sign-in ended {flow['state']}: {flow}")
        return dict(flow)

    def run_in_terminal(self, command: str, marker: str, timeout: float = 120) -> str:
        """Type ``command`` into a new Jupyter terminal of this server (its terminals API and
        websocket, as JupyterLab does) and return what the terminal printed until the regular
        expression ``marker`` matched (or ``timeout`` passed); the terminal is deleted after."""
        import websocket  # the test extra's websocket-client

        name = self.request("POST", "api/terminals")["name"]
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{self.port}/terminals/websocket/{name}",
            header=[f"Authorization: token {self.token}"],
            timeout=timeout,
        )
        output = ""
        try:
            ws.send(json.dumps(["stdin", command + "\r"]))
            deadline = time.monotonic() + timeout
            while not re.search(marker, output) and time.monotonic() < deadline:
                message = json.loads(ws.recv())
                if message[0] == "stdout":
                    output += message[1]
        finally:
            ws.close()
            self.request("DELETE", f"api/terminals/{name}")
        return output

    def interrupt_kernel(self, kernel: Kernel) -> None:
        """Interrupt a kernel of this server, as the notebook's stop button does."""
        self.request("POST", f"api/kernels/{kernel.kernel_id}/interrupt")

    def restart_kernel(self, kernel: Kernel) -> None:
        """Restart a kernel of this server and reconnect ``kernel`` to the new process."""
        self.request("POST", f"api/kernels/{kernel.kernel_id}/restart")
        kernel.reconnect()

    def kernel_environment(self) -> dict[str, str]:
        """The URL and secret the extension hands its kernels, read from a kernel it starts
        (once per server start)."""
        if self._kernel_env is None:
            names = (SERVER_URL_ENV, SERVER_SECRET_ENV)
            with self.open_kernel() as kernel:
                self._kernel_env = dict(
                    kernel.eval(f"{{k: __import__('os').environ[k] for k in {names!r}}}")
                )
        return dict(self._kernel_env)
