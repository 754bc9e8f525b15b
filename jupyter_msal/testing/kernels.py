"""Real IPython kernels driven from a test: run a cell, collect what it showed.

A :class:`Kernel` wraps a ``jupyter_client`` blocking client on a connection file: one a
Jupyter server wrote (see :meth:`JupyterServerProcess.open_kernel
<jupyter_msal.testing.server.JupyterServerProcess.open_kernel>`), or one of a kernel started
without a server (:func:`direct_kernel`, as VS Code or papermill would)::

    with server.open_kernel() as kernel:
        result = kernel.ok("%load_ext jupyter_msal")
        assert kernel.eval("1 + 1") == 2

``jupyter_client`` is imported on first use.
"""

from __future__ import annotations

import json
import queue
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CellResult", "Kernel", "direct_kernel", "server_kernel"]

#: An output as :class:`CellResult` holds it; the callback of :meth:`Kernel.execute` gets each.
Output = dict[str, Any]


@dataclass
class CellResult:
    """What one cell produced: its reply status and every output, in order.

    An output is a dict with ``type`` (``stream``, ``display_data``, ``update_display_data``,
    ``execute_result`` or ``error``) and, by type, ``name`` + ``text``, ``data`` +
    ``display_id``, or ``ename`` + ``evalue`` + ``traceback``.
    """

    status: str
    outputs: list[Output] = field(default_factory=list)

    @property
    def stdout(self) -> str:
        """Everything printed to stdout."""
        return "".join(o["text"] for o in self.outputs if o.get("name") == "stdout")

    @property
    def stderr(self) -> str:
        """Everything printed to stderr."""
        return "".join(o["text"] for o in self.outputs if o.get("name") == "stderr")

    @property
    def errors(self) -> list[Output]:
        """The error outputs (an exception the cell raised)."""
        return [o for o in self.outputs if o["type"] == "error"]

    @property
    def value(self) -> dict[str, Any] | None:
        """The execute_result's data (mime bundle), if any."""
        for o in self.outputs:
            if o["type"] == "execute_result":
                return o["data"]
        return None

    def text(self) -> str:
        """Everything the cell showed, as one string (for "a token is never shown" checks)."""
        return json.dumps(self.outputs)


def _output(kind: str, content: dict[str, Any]) -> Output | None:
    if kind == "stream":
        return {"type": kind, "name": content["name"], "text": content["text"]}
    if kind in {"display_data", "update_display_data", "execute_result"}:
        return {
            "type": kind,
            "data": content["data"],
            "display_id": content.get("transient", {}).get("display_id"),
        }
    if kind == "error":
        return {
            "type": kind,
            "ename": content["ename"],
            "evalue": content["evalue"],
            "traceback": content["traceback"],
        }
    return None


class Kernel:
    """A running kernel and a blocking client on it.

    :param connection_file: the kernel's connection file.
    :param kernel_id: the id a Jupyter server gave the kernel, if a server started it.
    """

    def __init__(self, connection_file: str | Path, kernel_id: str | None = None) -> None:
        self.connection_file = str(connection_file)
        #: The server's id for this kernel (None for a kernel started without a server).
        self.kernel_id = kernel_id
        self.client = self._connect()

    def _connect(self) -> Any:
        from jupyter_client import BlockingKernelClient

        client = BlockingKernelClient(connection_file=self.connection_file)
        client.load_connection_file()
        # No heartbeat: whoever started the kernel watches its process. A heartbeat missed
        # while a busy machine starts the kernel would make wait_for_ready call it dead.
        client.start_channels(hb=False)
        client.wait_for_ready(timeout=60)
        return client

    def reconnect(self) -> None:
        """New channels (after a restart the old heartbeat may still report a missed beat)."""
        self.client.stop_channels()
        self.client = self._connect()

    def execute(
        self,
        code: str,
        timeout: float = 60,
        *,
        on_output: Callable[[Output], None] | None = None,
    ) -> CellResult:
        """Run ``code``; collect every output (display updates included) until idle.

        ``on_output`` is called with each output as it arrives, while the cell still runs
        (e.g. to interrupt the kernel once a prompt is shown).
        """
        msg_id = self.client.execute(code, store_history=True)
        outputs: list[Output] = []
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
            output = _output(kind, content)
            if output is not None:
                outputs.append(output)
                if on_output is not None:
                    on_output(output)
        reply = self.client.get_shell_msg(timeout=30)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.client.get_shell_msg(timeout=30)
        return CellResult(reply["content"]["status"], outputs)

    def ok(self, code: str, timeout: float = 60) -> CellResult:
        """Run ``code`` and raise :class:`AssertionError` if it failed."""
        result = self.execute(code, timeout)
        assert result.status == "ok", result.outputs
        return result

    def eval(self, expr: str) -> Any:
        """The value of a JSON-serialisable expression in the kernel."""
        out = self.ok(f"import json as _j; print(_j.dumps({expr}))").stdout
        return json.loads(out.strip().splitlines()[-1])

    def close(self) -> None:
        """Stop the client's channels (the kernel keeps running)."""
        self.client.stop_channels()


@contextmanager
def server_kernel(
    connection_file: Path, kernel_id: str, delete: Callable[[], None], timeout: float = 30
) -> Iterator[Kernel]:
    """A client of the kernel a Jupyter server started (once its connection file exists);
    ``delete`` (the server's ``DELETE api/kernels/<id>``) runs afterwards, its errors ignored."""
    from .waiting import wait_until

    try:
        wait_until(connection_file.exists, timeout, message=f"no connection file for {kernel_id}")
        kernel = Kernel(connection_file, kernel_id=kernel_id)
        try:
            yield kernel
        finally:
            kernel.close()
    finally:
        try:
            delete()
        except OSError:  # urllib's HTTPError is one
            pass


@contextmanager
def direct_kernel(env: dict[str, str], cwd: Path) -> Iterator[Kernel]:
    """A kernel started without a Jupyter server (direct mode), shut down afterwards."""
    from jupyter_client import KernelManager

    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env={"PYDEVD_DISABLE_FILE_VALIDATION": "1", **env}, cwd=str(cwd))
    kernel = Kernel(manager.connection_file)
    try:
        yield kernel
    finally:
        kernel.close()
        manager.shutdown_kernel(now=True)
