"""``max_pending_sign_ins`` holds when many sign-ins start at once against a slow identity
provider: a start takes its slot before it asks the identity provider for a code."""

from __future__ import annotations

import threading

import pytest

from jupyter_msal.errors import TooManySignIns
from jupyter_msal.flows import SignInFlow
from jupyter_msal.service import TokenService
from jupyter_msal.testing import EntraEmulator

LIMIT, STARTS = 8, 20


@pytest.fixture
def msal_extra_env() -> dict[str, str]:
    """A limit of 8 pending sign-ins."""
    return {"JUPYTER_MSAL_MAX_PENDING_SIGN_INS": str(LIMIT)}


def test_concurrent_starts_keep_to_the_limit(
    service: TokenService, msal_emulator: EntraEmulator
) -> None:
    msal_emulator.set_latency(1.0, "devicecode")
    started: list[SignInFlow] = []
    refused: list[TooManySignIns] = []
    others: list[BaseException] = []
    gate = threading.Barrier(STARTS)

    def start() -> None:
        gate.wait()
        try:
            started.append(service.flows.start("device_code"))
        except TooManySignIns as err:
            refused.append(err)
        except BaseException as err:  # reported by the assertion below
            others.append(err)

    threads = [threading.Thread(target=start) for _ in range(STARTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not others, others
    assert len(started) == LIMIT and len(refused) == STARTS - LIMIT
    assert service.flows.pending() == LIMIT
    assert msal_emulator.counts["devicecode"] == LIMIT
    assert all(err.code == "too_many_sign_ins" for err in refused)
