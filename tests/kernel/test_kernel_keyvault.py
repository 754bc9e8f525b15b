"""Guest tenants for Azure SDK code in real kernels: Key Vault's tenant challenge,
``%msal_tenant`` and unmodified ``DefaultAzureCredential``.

Ada's home tenant is the emulator's default; she is a guest in GUEST, where the Key Vault
stand-in (``jupyter_msal.testing.keyvault``) lives. The vault answers a request without a
token with a challenge naming GUEST, and accepts only tokens whose ``tid`` is GUEST: the real
``azure-keyvault-secrets`` client must ask its credential for that tenant. Tokens never leave
the kernel: cells print the ``tid`` they carry, or what the vault answered.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_msal.testing import DEFAULT_TENANT_ID as HOME
from jupyter_msal.testing import DEFAULT_USERNAME as ADA
from jupyter_msal.testing import EntraEmulator
from jupyter_msal.testing.keyvault import KeyVault
from jupyter_msal.testing.server import JupyterServerProcess, azure_sdk_environment

GUEST = "b2b0b2b0-0000-4000-8000-00000000b0b0"
GUEST_DOMAIN = "fabrikam.onmicrosoft.com"
SECRET = ("db-password", "correct horse battery staple")
VAULT_SCOPE = "https://vault.azure.net/.default"


@pytest.fixture(scope="module")
def vault(emulator: EntraEmulator) -> Iterator[KeyVault]:
    """A vault in the guest tenant, holding SECRET."""
    with KeyVault(emulator, GUEST) as kv:
        kv.set_secret(*SECRET)
        yield kv


@pytest.fixture(scope="module")
def server(emulator: EntraEmulator, workdir: Path) -> Iterator[JupyterServerProcess]:
    """A server whose kernels trust the emulator's CA (the vault's too) and have no identity
    from outside; IMDS, were it tried, is a closed loopback port."""
    env = azure_sdk_environment(emulator, workdir / "cache" / "token_cache.bin")
    with JupyterServerProcess(env, workdir / "server") as srv:
        yield srv


@pytest.fixture
def guest(
    signed_out: JupyterServerProcess, emulator: EntraEmulator, vault: KeyVault
) -> JupyterServerProcess:
    """Ada, a guest of GUEST, signed in with a device code at home; counters at zero."""
    emulator.add_guest(ADA, GUEST, domain=GUEST_DOMAIN)
    signed_out.sign_in(emulator, ADA)
    emulator.reset_counts()
    vault.reset()
    return signed_out


def _no_sign_in(emulator: EntraEmulator) -> None:
    counts = emulator.counts
    assert counts["devicecode"] == 0 and counts["grant:device_code"] == 0, counts
    assert counts["authorize"] == 0, counts


def _read_secret(vault: KeyVault, credential: str) -> str:
    """A cell: read SECRET through ``credential``; print the value or the error's first line."""
    return f"""
import jupyter_msal
from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient
client = SecretClient({vault.url!r}, {credential}, verify_challenge_resource=False)
try:
    print("VALUE", client.get_secret({SECRET[0]!r}).value)
except Exception as err:
    print("FAILED", type(err).__name__, str(err).splitlines()[0])
"""


TID_OF_DEFAULT_CREDENTIAL = f"""
from azure.identity import DefaultAzureCredential
from jupyter_msal.testing import decode_jwt
print("TID", decode_jwt(DefaultAzureCredential().get_token({VAULT_SCOPE!r}).token)["tid"])
"""


def _tid(text: str) -> str:
    found = re.findall(r"\bTID (\S+)", text)
    assert found, text
    return str(found[-1])


# -- Key Vault's challenge with jupyter_msal.Credential --------------------------------------


def test_key_vault_in_a_guest_tenant(
    guest: JupyterServerProcess, emulator: EntraEmulator, vault: KeyVault
) -> None:
    credential = 'jupyter_msal.Credential(additionally_allowed_tenants=["*"])'
    with guest.open_kernel() as kernel:
        out = kernel.ok(_read_secret(vault, credential), timeout=120).stdout
    assert out.strip() == f"VALUE {SECRET[1]}", out
    assert emulator.token_requests_at(GUEST, "refresh_token") == 1
    assert emulator.counts["token"] == 1  # no home-tenant token on the way
    _no_sign_in(emulator)
    # the challenge (no token), then the request with a token of the vault's tenant
    assert [(r["status"], r["tid"]) for r in vault.requests] == [(401, None), (200, GUEST)]
    assert not any(t in out for t in emulator.issued_access_tokens)


def test_key_vault_without_additionally_allowed_tenants(
    guest: JupyterServerProcess, emulator: EntraEmulator, vault: KeyVault
) -> None:
    """azure-identity's rules: a credential with no tenant of its own (as
    InteractiveBrowserCredential and DefaultAzureCredential's developer credentials have by
    default) uses the challenge's tenant; one with a tenant of its own refuses another tenant
    that ``additionally_allowed_tenants`` does not list, before any request."""
    with guest.open_kernel() as kernel:
        read = kernel.ok(_read_secret(vault, "jupyter_msal.Credential()"), timeout=120).stdout
        vault.reset()
        own = f"jupyter_msal.Credential(tenant_id={HOME!r})"
        refused = kernel.ok(_read_secret(vault, own), timeout=120).stdout
    assert read.strip() == f"VALUE {SECRET[1]}", read
    assert emulator.token_requests_at(GUEST, "refresh_token") == 1
    assert emulator.counts["token"] == 1
    assert refused.startswith("FAILED ClientAuthenticationError"), refused
    assert "additionally_allowed_tenants" in refused and GUEST in refused
    # the client remembers the vault's challenge, so the refusal needs no request at all
    assert all(r["tid"] is None for r in vault.requests), vault.requests
    _no_sign_in(emulator)


def test_key_vault_with_default_credential_and_msal_tenant(
    guest: JupyterServerProcess, emulator: EntraEmulator, vault: KeyVault
) -> None:
    """Managed identity ignores the challenge's tenant (azure-identity: "tenant_id: not used
    by this credential"): the home tenant's token is refused with AKV10032 until
    ``%msal_tenant`` points IDENTITY_ENDPOINT at the vault's tenant."""
    with guest.open_kernel() as kernel:
        refused = kernel.ok(_read_secret(vault, "DefaultAzureCredential()"), timeout=120).stdout
        kernel.ok("%load_ext jupyter_msal")
        kernel.ok(f"%msal_tenant {GUEST_DOMAIN}")
        read = kernel.ok(_read_secret(vault, "DefaultAzureCredential()"), timeout=120).stdout
    assert refused.startswith("FAILED ClientAuthenticationError") and "AKV10032" in refused
    assert read.strip() == f"VALUE {SECRET[1]}", read
    assert (401, HOME) in [(r["status"], r["tid"]) for r in vault.requests]
    assert emulator.token_requests_at(GUEST_DOMAIN, "refresh_token") == 1
    _no_sign_in(emulator)


# -- %msal_tenant and the tenant endpoint ------------------------------------------------------


def test_msal_tenant_switches_default_credential(
    guest: JupyterServerProcess, emulator: EntraEmulator
) -> None:
    with guest.open_kernel() as kernel:
        kernel.ok("%load_ext jupyter_msal")
        home = _tid(kernel.ok(TID_OF_DEFAULT_CREDENTIAL).stdout)
        shown = kernel.ok(f"%msal_tenant {GUEST}").stdout
        endpoint = kernel.eval("__import__('os').environ['IDENTITY_ENDPOINT']")
        guest_tid = _tid(kernel.ok(TID_OF_DEFAULT_CREDENTIAL).stdout)
        current = kernel.ok("%msal_tenant").stdout
        again = _tid(kernel.ok(TID_OF_DEFAULT_CREDENTIAL).stdout)
        kernel.ok("%msal_tenant --home")
        back = _tid(kernel.ok(TID_OF_DEFAULT_CREDENTIAL).stdout)
        refused = kernel.execute("%msal_tenant organizations")
    assert home == back == HOME
    assert guest_tid == again == GUEST
    assert endpoint == f"{guest.url}jupyter-msal/managed-identity/tenants/{GUEST}"
    assert f"tokens of {GUEST}" in shown and f"tokens of {GUEST}" in current
    assert f"IDENTITY_ENDPOINT={endpoint}" in current
    assert "names no one tenant" in json.dumps(refused.outputs)
    # one refresh for the vault at home, one at the guest tenant; then the server's cache
    assert emulator.token_requests_at(GUEST, "refresh_token") == 1
    assert emulator.counts["grant:refresh_token"] == 2
    _no_sign_in(emulator)


def test_terminal_exports_the_tenant_endpoint(
    guest: JupyterServerProcess, emulator: EntraEmulator
) -> None:
    """What a terminal of the server does (it inherits the kernels' environment):
    ``export IDENTITY_ENDPOINT=$(jupyter msal endpoint --tenant T)``, then unmodified code."""
    script = guest.workdir / "tid_of_default_credential.py"
    script.write_text(TID_OF_DEFAULT_CREDENTIAL)
    python = sys.executable  # the kernel's too
    shell = (
        f"export IDENTITY_ENDPOINT=$({python} -m jupyter_msal.cli endpoint --tenant {GUEST})"
        f" && {python} {script}"
    )
    code = (
        "import subprocess\n"
        f"done = subprocess.run(['bash', '-c', {shell!r}], capture_output=True, text=True,"
        " timeout=120)\n"
        "print(done.returncode, done.stdout, done.stderr[-2000:])"
    )
    with guest.open_kernel() as kernel:
        out = kernel.ok(code, timeout=150).stdout
    assert out.startswith("0 "), out
    assert _tid(out) == GUEST
    assert emulator.token_requests_at(GUEST, "refresh_token") == 1
    _no_sign_in(emulator)
