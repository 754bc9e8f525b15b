"""A sign-in for a guest tenant that demands its own, from a real kernel of a real server:
``%msal_token ... --tenant T`` shows the sign-in for that tenant when it is needed, and
``%msal_login --tenant T`` signs in to it."""

from __future__ import annotations

import pytest

from jupyter_msal.testing import DEFAULT_TENANT_ID as HOME
from jupyter_msal.testing import DEFAULT_USERNAME as ADA
from jupyter_msal.testing import EntraEmulator
from jupyter_msal.testing.server import JupyterServerProcess

MFA_TENANT = "f00dface-0000-4000-8000-0000000000fa"
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def mfa(signed_out: JupyterServerProcess, emulator: EntraEmulator) -> JupyterServerProcess:
    """Ada is a guest of MFA_TENANT, which wants its own sign-in."""
    emulator.add_guest(ADA, MFA_TENANT)
    emulator.require_mfa(MFA_TENANT)
    return signed_out


def test_the_kernel_signs_in_to_the_tenant_that_wants_it(
    mfa: JupyterServerProcess, emulator: EntraEmulator
) -> None:
    with mfa.open_kernel() as k:
        k.ok("%load_ext jupyter_msal")
        approval = emulator.approve_next(username=ADA)
        k.ok("home = %msal_token storage")
        approval.wait(5)
        assert k.eval("home.claims['tid']") == HOME

        # The tenant's demand shows a sign-in for that tenant, then the token.
        emulator.reset_counts()
        approval = emulator.approve_next(username=ADA)
        cell = k.ok(f"guest = %msal_token storage --tenant {MFA_TENANT}")
        approval.wait(5)
        assert k.eval("guest.claims['tid']") == MFA_TENANT
        assert emulator.token_requests_at(MFA_TENANT, DEVICE_CODE) >= 1
        assert emulator.counts["devicecode"] == 1
        shown = "\n".join(str(o) for o in cell.outputs)
        assert f"tenant {MFA_TENANT}" in shown

        # %msal_login --tenant signs in to it again, and its tokens come without a sign-in.
        emulator.reset_counts()
        approval = emulator.approve_next(username=ADA)
        login = k.ok(f"%msal_login vault --tenant {MFA_TENANT}")
        approval.wait(5)
        said = "\n".join(str(o) for o in login.outputs)
        assert f"Signed in as {ADA} to tenant {MFA_TENANT}." in said
        emulator.reset_counts()
        k.ok(f"v = %msal_token vault --tenant {MFA_TENANT}")
        assert k.eval("v.claims['tid']") == MFA_TENANT
        assert emulator.counts["devicecode"] == emulator.counts["token"] == 0
        assert k.eval("home.claims['tid']") == HOME
