"""Helpers for the notebook-surface tests: real servers, real kernels, the TLS emulator.

The kernel tests are synchronous and block while a kernel waits on the server, so the Jupyter
server runs as a subprocess (``python -m jupyter_server``) with its own configuration, data and
runtime folders, shared per test module. Kernels are started THROUGH that server
(``POST /api/kernels``) and so inherit its environment, including the kernel secret and URL
the extension publishes; tests talk to them with a ``jupyter_client`` client on the connection
file the server wrote. One test (test_pytest_jupyter.py) drives the same path with
pytest-jupyter's in-process ``jp_serverapp`` instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
STORAGE = "https://storage.azure.com/.default"
GRAPH = "https://graph.microsoft.com/.default"
ADA = "ada@contoso.com"


def sha(text: str) -> str:
    """A token's fingerprint, so kernels never need to print tokens for tests to compare."""
    return hashlib.sha256(text.encode()).hexdigest()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(emulator: Any, cache_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment pointed at ``emulator`` (no server variables)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("JUPYTER_MSAL_") and k not in {"JPY_PARENT_PID", "JPY_SESSION_NAME"}
    }
    env.update(emulator.jupyter_msal_env())
    env.update(
        JUPYTER_MSAL_CACHE_PATH=str(cache_path),
        JUPYTER_MSAL_CACHE_ENCRYPTION="none",
        JUPYTER_MSAL_ALLOWED_HOSTS="127.0.0.1,localhost",
        JUPYTER_MSAL_HTTP_TIMEOUT="8",
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    env.update(extra)
    return env


# ---------------------------------------------------------------------------------------------
# Kernels


@dataclass
class Result:
    """What one cell produced."""

    status: str
    outputs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def stdout(self) -> str:
        return "".join(o["text"] for o in self.outputs if o.get("name") == "stdout")

    @property
    def stderr(self) -> str:
        return "".join(o["text"] for o in self.outputs if o.get("name") == "stderr")

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [o for o in self.outputs if o["type"] == "error"]

    @property
    def value(self) -> dict[str, Any] | None:
        """The execute_result's data (mime bundle), if any."""
        for o in self.outputs:
            if o["type"] == "execute_result":
                return o["data"]
        return None

    def text(self) -> str:
        """Everything the cell showed, as one string (for 'token never shown' checks)."""
        return json.dumps(self.outputs)


class Kernel:
    """A kernel (started by a server or directly) and a blocking client on it."""

    def __init__(self, connection_file: str, *, on_shutdown: Any = None) -> None:
        self.connection_file = connection_file
        self.client = self._connect()
        self._on_shutdown = on_shutdown

    def _connect(self) -> Any:
        from jupyter_client import BlockingKernelClient

        client = BlockingKernelClient(connection_file=self.connection_file)
        client.load_connection_file()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        return client

    def reconnect(self) -> None:
        """New channels (after a restart the old heartbeat may still report a missed beat)."""
        self.client.stop_channels()
        self.client = self._connect()

    def execute(self, code: str, timeout: float = 60) -> Result:
        """Run ``code``; collect every output (display updates included) until idle."""
        msg_id = self.client.execute(code, store_history=True)
        outputs: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"cell did not finish in {timeout} s: {code!r} {outputs}")
            try:
                msg = self.client.get_iopub_msg(timeout=left)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "status" and content["execution_state"] == "idle":
                break
            if kind == "stream":
                outputs.append({"type": kind, "name": content["name"], "text": content["text"]})
            elif kind in {"display_data", "update_display_data", "execute_result"}:
                outputs.append(
                    {
                        "type": kind,
                        "data": content["data"],
                        "display_id": content.get("transient", {}).get("display_id"),
                    }
                )
            elif kind == "error":
                outputs.append(
                    {
                        "type": "error",
                        "ename": content["ename"],
                        "evalue": content["evalue"],
                        "traceback": content["traceback"],
                    }
                )
        reply = self.client.get_shell_msg(timeout=30)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.client.get_shell_msg(timeout=30)
        return Result(reply["content"]["status"], outputs)

    def ok(self, code: str, timeout: float = 60) -> Result:
        """Run ``code`` and fail the test if it raised."""
        result = self.execute(code, timeout)
        assert result.status == "ok", result.outputs
        return result

    def eval(self, expr: str) -> Any:
        """The value of a JSON-serialisable expression in the kernel."""
        out = self.ok(f"import json as _j; print(_j.dumps({expr}))").stdout
        return json.loads(out.strip().splitlines()[-1])

    def close(self) -> None:
        self.client.stop_channels()
        if self._on_shutdown:
            self._on_shutdown()


def wait_for_new_code(emulator: Any, known: set[str], timeout: float = 30) -> str:
    """The first device code that becomes pending and is not in ``known``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fresh = [c for c in emulator.pending_user_codes() if c not in known]
        if fresh:
            return fresh[-1]
        time.sleep(0.05)
    raise TimeoutError("no new device code")


def approve_when_pending(
    emulator: Any, username: str = ADA, timeout: float = 30
) -> threading.Thread:
    """Approve the next NEW device code from a helper thread; ``.code`` holds it."""
    known = set(emulator.pending_user_codes())

    def run() -> None:
        code = wait_for_new_code(emulator, known, timeout)
        thread.code = code  # type: ignore[attr-defined]
        emulator.approve(code, username=username)

    thread = threading.Thread(target=run, daemon=True)
    thread.code = None  # type: ignore[attr-defined]
    thread.start()
    return thread


# ---------------------------------------------------------------------------------------------
# Servers


class JupyterServer:
    """``python -m jupyter_server`` with jupyter-msal, in its own folders, token-authenticated."""

    def __init__(self, env: dict[str, str], workdir: Path, base_url: str = "/") -> None:
        self.workdir = workdir
        self.base_url = base_url
        self.token = secrets.token_hex(16)
        self.env = dict(env)
        for sub in ("config", "data", "runtime", "root"):
            (workdir / sub).mkdir(parents=True, exist_ok=True)
        self.env.update(
            JUPYTER_CONFIG_DIR=str(workdir / "config"),
            JUPYTER_DATA_DIR=str(workdir / "data"),
            JUPYTER_RUNTIME_DIR=str(workdir / "runtime"),
        )
        (workdir / "config" / "jupyter_server_config.json").write_text(
            json.dumps({"ServerApp": {"jpserver_extensions": {"jupyter_msal": True}}})
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self._kernel_env: dict[str, str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.base_url}"

    def start(self, timeout: float = 60) -> JupyterServer:
        self.port = _free_port()
        self._kernel_env = None
        log = open(self.workdir / "server.log", "ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                "--no-browser",
                "--allow-root",
                f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.base_url={self.base_url}",
                f"--ServerApp.root_dir={self.workdir / 'root'}",
                f"--IdentityProvider.token={self.token}",
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(self.workdir / "root"),
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter server exited:\n{self.log()}")
            try:
                self.request("GET", "jupyter-msal/status")
                return self
            except (OSError, urllib.error.HTTPError):
                time.sleep(0.1)
        raise RuntimeError(f"jupyter server did not start:\n{self.log()}")

    def log(self) -> str:
        return (self.workdir / "server.log").read_text(errors="replace")[-5000:]

    def stop(self) -> None:
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
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    @contextmanager
    def kernel(self) -> Iterator[Kernel]:
        """A kernel started through this server (``POST /api/kernels``)."""
        model = self.request("POST", "api/kernels", {"name": "python3"})
        kid = model["id"]
        connection_file = self.workdir / "runtime" / f"kernel-{kid}.json"
        deadline = time.monotonic() + 30
        while not connection_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        kernel = Kernel(str(connection_file))
        kernel.id = kid  # type: ignore[attr-defined]
        try:
            yield kernel
        finally:
            kernel.close()
            try:
                self.request("DELETE", f"api/kernels/{kid}")
            except (OSError, urllib.error.HTTPError):
                pass

    def interrupt(self, kernel: Kernel) -> None:
        self.request("POST", f"api/kernels/{kernel.id}/interrupt")  # type: ignore[attr-defined]

    def restart(self, kernel: Kernel) -> None:
        self.request("POST", f"api/kernels/{kernel.id}/restart")  # type: ignore[attr-defined]
        kernel.reconnect()

    def kernel_env(self) -> dict[str, str]:
        """The URL and secret the extension hands to its kernels (read from one kernel)."""
        if self._kernel_env is None:
            with self.kernel() as k:
                self._kernel_env = k.eval(
                    "{k: __import__('os').environ[k] for k in "
                    "('JUPYTER_MSAL_SERVER_URL', 'JUPYTER_MSAL_SERVER_SECRET')}"
                )
        return dict(self._kernel_env)

    def sign_out_all(self) -> None:
        self.request("DELETE", "jupyter-msal/accounts")


@contextmanager
def direct_kernel(env: dict[str, str], cwd: Path) -> Iterator[Kernel]:
    """A kernel started WITHOUT a server (direct mode), like VS Code or papermill would."""
    from jupyter_client import KernelManager

    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=env, cwd=str(cwd))
    kernel = Kernel(km.connection_file)
    try:
        yield kernel
    finally:
        kernel.close()
        km.shutdown_kernel(now=True)
