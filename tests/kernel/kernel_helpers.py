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
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_msal.testing.server import JupyterServerProcess, emulator_environment

REPO = Path(__file__).resolve().parents[2]
STORAGE = "https://storage.azure.com/.default"
GRAPH = "https://graph.microsoft.com/.default"
ADA = "ada@contoso.com"


def sha(text: str) -> str:
    """A token's fingerprint, so kernels never need to print tokens for tests to compare."""
    return hashlib.sha256(text.encode()).hexdigest()


def base_env(emulator: Any, cache_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment pointed at ``emulator`` (no server variables), able to
    import this checkout."""
    return emulator_environment(
        emulator,
        cache_path,
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
        **extra,
    )


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


class JupyterServer(JupyterServerProcess):
    """The shipped subprocess server, plus kernels started through it."""

    def __init__(self, env: dict[str, str], workdir: Path, base_url: str = "/") -> None:
        super().__init__(env, workdir, base_url=base_url)
        self._kernel_env: dict[str, str] | None = None

    def start(self, timeout: float = 60) -> JupyterServer:
        self._kernel_env = None
        super().start(timeout)
        return self

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
            self._kernel_env = self.kernel_environment()
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
