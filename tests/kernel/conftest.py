"""Fixtures for the notebook-surface tests: real servers, real kernels, the TLS emulator.

The kernel tests are synchronous and block while a kernel waits on the server, so the Jupyter
server runs as a subprocess (``jupyter_msal.testing.server``), shared per test module. Kernels
are started through that server (``server.open_kernel()``) and so inherit its environment,
including the kernel secret and URL the extension publishes. One test
(test_kernel_pytest_jupyter.py) drives the same path with pytest-jupyter's in-process
``jp_serverapp`` instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_msal.constants import SERVER_SECRET_ENV, SERVER_URL_ENV
from jupyter_msal.testing import EntraEmulator
from jupyter_msal.testing.azurite import Azurite
from jupyter_msal.testing.server import JupyterServerProcess, emulator_environment


@pytest.fixture(scope="module")
def emulator(msal_emulator_module: EntraEmulator) -> EntraEmulator:
    """One Entra ID emulator per test module (device-code interval 1 s)."""
    return msal_emulator_module


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the module's server and cache."""
    return tmp_path_factory.mktemp("kernel-tests")


@pytest.fixture(scope="module")
def azurite(msal_azurite_module: Azurite) -> Azurite:
    """Azurite for one module, trusting the module emulator's tokens (the plugin's fixture)."""
    # Nothing may leave the machine: Azurite sends telemetry unless told not to.
    assert "--disableTelemetry" in msal_azurite_module.command()
    return msal_azurite_module


@pytest.fixture(scope="module")
def server_extra_env() -> dict[str, str]:
    """Override in a module to add JUPYTER_MSAL_* settings to its server."""
    return {}


@pytest.fixture(scope="module")
def server(
    emulator: EntraEmulator, workdir: Path, server_extra_env: dict[str, str]
) -> Iterator[JupyterServerProcess]:
    """One Jupyter server with the extension per test module, on a fresh cache."""
    env = emulator_environment(emulator, workdir / "cache" / "token_cache.bin", **server_extra_env)
    with JupyterServerProcess(env, workdir / "server") as srv:
        yield srv


@pytest.fixture
def signed_out(server: JupyterServerProcess, emulator: EntraEmulator) -> JupyterServerProcess:
    """The module's server with nobody signed in, and the emulator back to its defaults."""
    server.request("DELETE", "jupyter-msal/accounts")
    emulator.auto_approve = None
    emulator.clear_faults()
    emulator.reset_counts()
    return server


@pytest.fixture
def in_process_client(server: JupyterServerProcess) -> Iterator[Any]:
    """This test process acts as a kernel of ``server`` (same URL and secret)."""
    from jupyter_msal import client
    from jupyter_msal.kernel import api

    env = server.kernel_environment()
    kernel_client = client.ServerClient(env[SERVER_URL_ENV], env[SERVER_SECRET_ENV])
    client.reset_client(kernel_client)
    api.clear_cache()
    try:
        yield kernel_client
    finally:
        client.reset_client(None)
        api.clear_cache()
