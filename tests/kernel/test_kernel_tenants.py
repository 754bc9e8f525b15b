"""Guest-tenant tokens in a real kernel of a real server: ``Credential`` with azure-identity's
tenant rules and ``%msal_token ... --tenant``."""

from __future__ import annotations

import pytest

from jupyter_msal.testing import DEFAULT_TENANT_ID as HOME
from jupyter_msal.testing import DEFAULT_USERNAME as ADA
from jupyter_msal.testing import EntraEmulator
from jupyter_msal.testing.server import JupyterServerProcess

STORAGE = "https://storage.azure.com/.default"
GUEST = "f00dface-0000-4000-8000-00000000fab1"
GUEST_DOMAIN = "fabrikam.onmicrosoft.com"
REFRESH = "grant:refresh_token"


@pytest.fixture
def guest(signed_out: JupyterServerProcess, emulator: EntraEmulator) -> JupyterServerProcess:
    """Ada is a guest of GUEST (also named by its domain)."""
    emulator.add_guest(ADA, GUEST, domain=GUEST_DOMAIN)
    return signed_out


def test_credential_and_magic_get_guest_tokens(
    guest: JupyterServerProcess, emulator: EntraEmulator
) -> None:
    with guest.open_kernel() as k:
        k.ok("%load_ext jupyter_msal")
        approver = emulator.approve_next()
        k.ok("home = %msal_token storage")
        approver.wait(5)
        assert k.eval("home.claims['tid']") == HOME

        # Credential().get_token(scope, tenant_id=guest): one refresh, no sign-in.
        emulator.reset_counts()
        k.ok(
            "import jupyter_msal\n"
            "cred = jupyter_msal.Credential()\n"
            f"at = cred.get_token({STORAGE!r}, tenant_id={GUEST!r})"
        )
        assert k.eval("jupyter_msal.models.decode_jwt_claims(at.token)['tid']") == GUEST
        assert emulator.counts[REFRESH] == 1
        assert emulator.counts["devicecode"] == emulator.counts["grant:device_code"] == 0
        emulator.reset_counts()
        k.ok(f"again = cred.get_token_info({STORAGE!r}, options={{'tenant_id': {GUEST!r}}})")
        assert k.eval("again.token == at.token") is True
        assert sum(emulator.counts.values()) == 0

        # A credential of the home tenant refuses the guest tenant, before any request ...
        k.ok(
            f"strict = jupyter_msal.Credential(tenant_id={HOME!r})\n"
            "try:\n"
            f"    strict.get_token({STORAGE!r}, tenant_id={GUEST!r})\n"
            "except Exception as e:\n"
            "    err = e"
        )
        assert k.eval("type(err).__name__") == "ClientAuthenticationError"
        assert "additionally_allowed_tenants" in k.eval("str(err)")
        assert sum(emulator.counts.values()) == 0
        # ... unless it lists it.
        k.ok(
            f"listed = jupyter_msal.Credential(tenant_id={HOME!r}, "
            f"additionally_allowed_tenants=[{GUEST!r}])\n"
            f"ok = listed.get_token({STORAGE!r}, tenant_id={GUEST!r})"
        )
        assert k.eval("ok.token == at.token") is True

        # %msal_token ... --tenant, by the tenant's domain name.
        emulator.reset_counts()
        k.ok(f"vault = %msal_token vault --tenant {GUEST_DOMAIN}")
        assert k.eval("vault.claims['tid']") == GUEST
        assert k.eval("vault.claims['aud']") == "https://vault.azure.net"
        assert emulator.counts[REFRESH] == 1
        assert k.eval("(home.claims['tid'], home.claims['upn'])") == [HOME, ADA]
