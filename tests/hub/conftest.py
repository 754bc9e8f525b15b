"""Fixtures of the JupyterHub tests: a real hub, proxy, service and user servers.

Run as root (CI is), the users are real Linux users (``msal-*``, created when missing) whose
servers run as themselves from the environment ``scripts/ensure-hub`` builds; otherwise
every server runs as the current user with its own home (SimpleLocalProcessSpawner).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_msal.testing.hub import HUB_PYTHON_ENV, JupyterHubProcess


def _clean_homes(hub: JupyterHubProcess) -> None:
    """Start each test user without jupyter-msal state of an earlier run (its cache key was
    another run's), and with a home only its owner can enter."""
    for home in hub.homes.values():
        shutil.rmtree(home / ".local" / "share" / "jupyter", ignore_errors=True)
        if hub.as_root:
            home.chmod(0o700)


@pytest.fixture(scope="module")
def hub_factory(
    msal_emulator_module: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """Start hubs for this module (stopped, with their user servers, afterwards)."""
    if os.geteuid() == 0 and not (HUB_PYTHON_ENV / "bin" / "jupyterhub-singleuser").exists():
        pytest.fail(f"{HUB_PYTHON_ENV} is missing: run scripts/ensure-hub (the test command does)")
    started: list[JupyterHubProcess] = []

    def start(**kwargs: Any) -> JupyterHubProcess:
        hub = JupyterHubProcess(msal_emulator_module, tmp_path_factory.mktemp("hub"), **kwargs)
        hub.create_users()
        _clean_homes(hub)
        started.append(hub)
        return hub.start()

    yield start
    for hub in started:
        hub.close()
