"""``jupyter msal demo``: JupyterLab against the bundled Entra ID emulator, fully offline.

The emulator runs in this process; Jupyter runs as a child process whose environment points
jupyter-msal at it (authority, CA bundle, a throwaway cache). Sign in from the UI or a
notebook, then open the emulator's device-login page and approve the code.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

__all__ = ["demo_environment", "run_demo"]


def demo_environment(emulator: object, workdir: Path) -> dict[str, str]:
    """Environment variables that point a Jupyter server at ``emulator`` with a demo cache."""
    env = dict(emulator.jupyter_msal_env())  # type: ignore[attr-defined]
    env.update(
        JUPYTER_MSAL_CACHE_PATH=str(workdir / "cache" / "token_cache.bin"),
        JUPYTER_MSAL_CACHE_ENCRYPTION="none",
        JUPYTER_MSAL_ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    return env


def run_demo(
    app: str = "lab", port: int = 8888, extra: Sequence[str] = (), err: TextIO = sys.stderr
) -> int:
    """Start the emulator and ``jupyter <app>`` until the user stops Jupyter (Ctrl+C)."""
    from .testing import EntraEmulator

    workdir = Path(tempfile.mkdtemp(prefix="jupyter-msal-demo-"))
    root = workdir / "notebooks"  # Jupyter's file browser; the cache stays outside it
    root.mkdir()
    with EntraEmulator(device_code_interval=2, plain_http_sign_in_page=True) as emulator:
        env = os.environ | demo_environment(emulator, workdir)
        err.write(
            "jupyter-msal demo: an offline Entra ID emulator is running at "
            f"{emulator.url}\n"
            f"  Sign-in page (approve codes there): {emulator.device_login_url}\n"
            f"  Demo token cache: {workdir}\n"
            "  Stop with Ctrl+C.\n"
        )
        err.flush()
        extra = [a for a in extra if a != "--"]
        command = [sys.executable, "-m", "jupyter", app, f"--ServerApp.port={port}", *extra]
        if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
            command.append("--allow-root")
        try:
            return subprocess.call(command, env=env, cwd=str(root))
        except KeyboardInterrupt:
            return 0
