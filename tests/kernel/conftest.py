"""Fixtures for the notebook-surface tests (helpers live in ``kernel_helpers``)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kernel_helpers import JupyterServer, base_env

# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def emulator(msal_emulator_module: Any) -> Any:
    """One Entra ID emulator per test module (device-code interval 1 s)."""
    return msal_emulator_module


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="jupyter-msal-kernel-tests-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def server_extra_env() -> dict[str, str]:
    """Override in a module to add JUPYTER_MSAL_* settings to its server."""
    return {}


@pytest.fixture(scope="module")
def server(
    emulator: Any, workdir: Path, server_extra_env: dict[str, str]
) -> Iterator[JupyterServer]:
    """One Jupyter server with the extension per test module, on a fresh cache."""
    env = base_env(emulator, workdir / "cache" / "token_cache.bin", **server_extra_env)
    srv = JupyterServer(env, workdir / "server").start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def signed_out(server: JupyterServer, emulator: Any) -> JupyterServer:
    """The module's server with nobody signed in, and emulator counters at zero."""
    server.sign_out_all()
    emulator.auto_approve = None
    emulator.clear_faults()
    emulator.reset_counts()
    return server


@pytest.fixture
def in_process_client(server: JupyterServer) -> Iterator[Any]:
    """This test process acts as a kernel of ``server`` (same URL and secret)."""
    from jupyter_msal.kernel import api, client

    env = server.kernel_env()
    kernel_client = client.ServerClient(
        env["JUPYTER_MSAL_SERVER_URL"], env["JUPYTER_MSAL_SERVER_SECRET"]
    )
    client.reset_client(kernel_client)
    api.clear_cache()
    try:
        yield kernel_client
    finally:
        client.reset_client(None)
        api.clear_cache()
