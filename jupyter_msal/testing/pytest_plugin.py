"""pytest fixtures for offline tests against the Entra ID emulator.

Registered through the ``pytest11`` entry point, so it loads in every pytest run where
jupyter-msal is installed: it imports nothing heavy until a fixture is used.

* ``msal_emulator``: a fresh :class:`~jupyter_msal.testing.EntraEmulator` per test
  (``device_code_interval=1``), stopped afterwards.
* ``msal_emulator_module``: one emulator per test module.
* ``msal_emulator_session``: one emulator shared by the whole session; clearing faults and
  resetting counts between tests is up to the caller (``emu.clear_faults()``,
  ``emu.reset_counts()``, ``emu.auto_approve = None``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
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
