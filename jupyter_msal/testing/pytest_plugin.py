"""pytest fixtures for offline tests against the Entra ID emulator.

Opt-in, as jupyter_server's plugin is: a ``conftest.py`` names it with
``pytest_plugins = ["jupyter_msal.testing.pytest_plugin"]``. It imports nothing heavy until a
fixture is used.

* ``msal_emulator``: a fresh :class:`~jupyter_msal.testing.EntraEmulator` per test
  (``device_code_interval=1``), stopped afterwards.
* ``msal_emulator_module``: one emulator per test module.
* ``msal_emulator_session``: one emulator shared by the whole session; resetting it between
  tests is up to the caller (``emu.reset()`` returns it to a fresh start: settings, users,
  codes, tokens, faults and counts; or just ``emu.clear_faults()``, ``emu.reset_counts()``).
* ``msal_azurite_module``: Azurite (:class:`~jupyter_msal.testing.azurite.Azurite`) for one
  test module, trusting ``msal_emulator_module``'s tokens, always with ``--disableTelemetry``;
  the test fails, naming the fix, when Azurite is not installed (``scripts/ensure-azurite``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .azurite import Azurite
    from .emulator import EntraEmulator


def _running_emulator() -> Iterator[EntraEmulator]:
    from .emulator import EntraEmulator

    with EntraEmulator(device_code_interval=1) as emulator:
        yield emulator


@pytest.fixture
def msal_emulator() -> Iterator[EntraEmulator]:
    """A freshly started Entra ID emulator for one test (device-code interval 1 s)."""
    yield from _running_emulator()


@pytest.fixture(scope="module")
def msal_emulator_module() -> Iterator[EntraEmulator]:
    """One Entra ID emulator shared by the tests of a module (device-code interval 1 s)."""
    yield from _running_emulator()


@pytest.fixture(scope="session")
def msal_emulator_session() -> Iterator[EntraEmulator]:
    """One Entra ID emulator shared by the whole test session (device-code interval 1 s)."""
    yield from _running_emulator()


@pytest.fixture(scope="module")
def msal_azurite_module(
    msal_emulator_module: EntraEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Azurite]:
    """Azurite on a free loopback port for one test module, accepting the module emulator's
    tokens; fails the test, saying how to install it, when Azurite is not installed."""
    from .azurite import Azurite, find_azurite

    if find_azurite() is None:
        pytest.fail("Azurite is not installed: run scripts/ensure-azurite", pytrace=False)
    with Azurite(msal_emulator_module, tmp_path_factory.mktemp("azurite")) as azurite:
        yield azurite
