"""``jupyter msal demo``: JupyterLab against the bundled Entra ID emulator, fully offline.

The emulator runs in this process; Jupyter runs as a child process whose environment points
jupyter-msal at it (authority, CA bundle, a throwaway cache). Sign in from the UI or a
notebook, then open the emulator's device-login page and approve the code.

Jupyter runs in a session (and so a process group) of its own. However this process ends
(Ctrl+C, SIGTERM, its terminal closing, an exception), the whole group is stopped before the
emulator is: nothing keeps running against an identity provider that is gone.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from ..testing import EntraEmulator

__all__ = ["demo_environment", "example_notebooks", "run_demo"]

#: The package each ``--app`` needs, and how to get it.
_APP_PACKAGES = {
    "lab": ("jupyterlab", "JupyterLab", "pip install jupyterlab"),
    "notebook": ("notebook", "Notebook 7", "pip install notebook"),
    "server": ("jupyter_server", "Jupyter Server", "pip install jupyter_server"),
}

#: JupyterLab settings that would otherwise make it fetch news and look for updates online.
_LAB_OFFLINE = (
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
)

#: Signals that end the demo; each stops Jupyter's process group first.
_STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def demo_environment(emulator: EntraEmulator, workdir: Path) -> dict[str, str]:
    """Environment variables that point a Jupyter server at ``emulator`` with a demo cache."""
    return emulator.jupyter_msal_env(cache_path=workdir / "cache" / "token_cache.bin")


def _quiet_lab_settings(workdir: Path) -> dict[str, str]:
    """JupyterLab user settings for the demo that keep it offline: no news prompt."""
    settings = workdir / "lab-settings"
    folder = settings / "@jupyterlab" / "apputils-extension"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    return {"JUPYTERLAB_SETTINGS_DIR": str(settings)}


def example_notebooks() -> list[Path]:
    """The example notebooks: shipped in the package (a wheel), or ``notebooks/`` of a source
    checkout (an editable install)."""
    shipped = resources.files("jupyter_msal").joinpath("notebooks")
    folders = [Path(str(shipped)), Path(__file__).resolve().parents[2] / "notebooks"]
    for folder in folders:
        found = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
        if found:
            return found
    return []


class JupyterProcessGroup:
    """A command started in a new session, stopped as a whole group: SIGTERM, then SIGKILL.

    :meth:`stop` is idempotent and safe to call from a signal handler, ``atexit`` and
    ``finally`` alike.
    """

    def __init__(
        self, command: Sequence[str], env: dict[str, str], cwd: Path, grace: float = 20
    ) -> None:
        self.command = list(command)
        self.env = env
        self.cwd = cwd
        #: Seconds the group gets to exit after SIGTERM before it is killed.
        self.grace = grace
        #: The signal that asked the demo to stop, if one did.
        self.stop_signal: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()

    @property
    def pgid(self) -> int | None:
        """The group's id (the leader's pid), once started."""
        return self.proc.pid if self.proc is not None else None

    def start(self) -> None:
        """Start the command as the leader of a new session and process group."""
        with self._lock:
            self.proc = subprocess.Popen(
                self.command, env=self.env, cwd=str(self.cwd), start_new_session=True
            )
            if self.stop_signal is not None:  # a signal came while it was starting
                self._signal_group(signal.SIGTERM)

    def wait(self) -> int:
        """Wait until the leader exits; its exit status."""
        assert self.proc is not None
        return self.proc.wait()

    def on_signal(self, signum: int, frame: FrameType | None = None) -> None:
        """A stop signal: ask the group to stop; a second one kills it."""
        first = self.stop_signal is None
        self.stop_signal = signum if first else self.stop_signal
        self._signal_group(signal.SIGTERM if first else signal.SIGKILL)

    def _signal_group(self, signum: int) -> bool:
        """Send ``signum`` to the group; False when nobody is left in it."""
        pgid = self.pgid
        if pgid is None:
            return False
        try:
            os.killpg(pgid, signum)
        except ProcessLookupError:
            return False
        except PermissionError:  # a member changed its user: it is not ours any more
            return False
        return True

    def _group_alive(self) -> bool:
        assert self.proc is not None
        self.proc.poll()  # reap the leader, so that a zombie does not count
        pgid = self.pgid
        try:
            os.killpg(pgid, 0)  # type: ignore[arg-type]
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def stop(self) -> None:
        """Stop every process of the group: SIGTERM, ``grace`` seconds, then SIGKILL."""
        with self._lock:
            if self.proc is None:
                return
            if not self._signal_group(signal.SIGTERM):
                self.proc.poll()
                return
            deadline = time.monotonic() + self.grace
            while self._group_alive() and time.monotonic() < deadline:
                time.sleep(0.1)
            if self._signal_group(signal.SIGKILL):
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(5)


def _missing_app(app: str) -> str | None:
    module, name, install = _APP_PACKAGES[app]
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # hidden or half-removed
        found = False
    if not found:
        return f"jupyter msal demo: {name} is not installed here: {install} (or use --app server)"
    return None


def _install_handlers(group: JupyterProcessGroup) -> dict[int, Any]:
    """Route the stop signals to ``group`` (only possible in the main thread)."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for signum in _STOP_SIGNALS:
        previous[signum] = signal.signal(signum, group.on_signal)
    return previous


def _restore_handlers(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def run_demo(
    app: str = "lab", port: int = 8888, extra: Sequence[str] = (), err: TextIO = sys.stderr
) -> int:
    """Start the emulator and ``jupyter <app>`` until Jupyter stops or this process is told to.

    The workspace (Jupyter's root folder) starts with a copy of the example notebooks.
    Returns Jupyter's exit status, 0 after Ctrl+C, or 128 + the signal after SIGTERM/SIGHUP.
    """
    from ..testing import EntraEmulator

    missing = _missing_app(app)
    if missing:
        err.write(missing + "\n")
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="jupyter-msal-demo-"))
    root = workdir / "notebooks"  # Jupyter's file browser; the cache stays outside it
    root.mkdir()
    for notebook in example_notebooks():
        shutil.copyfile(notebook, root / notebook.name)
    with EntraEmulator(device_code_interval=2, plain_http_sign_in_page=True) as emulator:
        env = os.environ | demo_environment(emulator, workdir) | _quiet_lab_settings(workdir)
        err.write(
            "jupyter-msal demo: an offline Entra ID emulator is running at "
            f"{emulator.url}\n"
            f"  Sign-in page (approve codes there): {emulator.device_login_url}\n"
            f"  Workspace, with the example notebooks: {root}\n"
            f"  Demo token cache: {workdir / 'cache'}\n"
            "  Stop with Ctrl+C.\n"
        )
        err.flush()
        extra = [a for a in extra if a != "--"]
        # The Jupyter of this Python (a venv need not be activated, nor first on PATH).
        module = {"lab": "jupyterlab", "notebook": "notebook", "server": "jupyter_server"}[app]
        command = [sys.executable, "-m", module, f"--ServerApp.port={port}", *extra]
        if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
            command.append("--allow-root")
        if app == "lab":  # offline means offline: no news feed, no update check
            command += [a for a in _LAB_OFFLINE if a.split("=")[0] not in " ".join(extra)]
        group = JupyterProcessGroup(command, env, root)
        previous = _install_handlers(group)
        atexit.register(group.stop)
        try:
            group.start()
            status = group.wait()
        finally:
            group.stop()
            atexit.unregister(group.stop)
            _restore_handlers(previous)
    if group.stop_signal is None:
        return status
    return 0 if group.stop_signal == signal.SIGINT else 128 + group.stop_signal
