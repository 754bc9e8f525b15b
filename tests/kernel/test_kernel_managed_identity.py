"""Unmodified Azure code in kernels, subprocesses and terminals of a real server, and Azurite.

The server and everything it starts get an explicit environment: no identity from outside,
IMDS moved to a closed loopback port, the emulator's CA trusted by the Azure SDK
(``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE``), and Azurite's URL for the notebook.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_msal.testing import DEFAULT_USERNAME as ADA
from jupyter_msal.testing import EntraEmulator
from jupyter_msal.testing.azurite import Azurite
from jupyter_msal.testing.server import JupyterServerProcess, azure_sdk_environment

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "05-existing-azure-code.ipynb"
SCOPE = "https://storage.azure.com/.default"
#: In a kernel: a fresh DefaultAzureCredential's token, as a digest (tokens are never printed).
DIGEST_OF_DEFAULT_CREDENTIAL = (
    "import hashlib; from azure.identity import DefaultAzureCredential; "
    f"print('SHA-' + hashlib.sha256(DefaultAzureCredential().get_token({SCOPE!r})"
    ".token.encode()).hexdigest() + '-')"
)


def _digests(emulator: EntraEmulator) -> set[str]:
    return {hashlib.sha256(t.encode()).hexdigest() for t in emulator.issued_access_tokens}


def _printed_digest(text: str) -> str:
    found = re.findall(r"SHA-([0-9a-f]{64})-", text)
    assert found, text
    return str(found[-1])


@pytest.fixture(scope="module")
def server(
    emulator: EntraEmulator, workdir: Path, azurite: Azurite
) -> Iterator[JupyterServerProcess]:
    """One server for the module, its kernels pointed at Azurite."""
    env = azure_sdk_environment(
        emulator, workdir / "cache" / "token_cache.bin", AZURE_STORAGE_BLOB_URL=azurite.blob_url
    )
    with JupyterServerProcess(env, workdir / "server") as srv:
        yield srv


@pytest.fixture
def signed_in(signed_out: JupyterServerProcess, emulator: EntraEmulator) -> JupyterServerProcess:
    """Ada signed in through the REST API; the emulator's counters at zero."""
    signed_out.sign_in(emulator, ADA)
    emulator.reset_counts()
    return signed_out


def _no_new_sign_in(emulator: EntraEmulator) -> None:
    counts = emulator.counts
    assert counts["devicecode"] == 0 and counts["grant:device_code"] == 0, counts


def test_default_credential_in_a_kernel(signed_in: JupyterServerProcess, emulator: Any) -> None:
    with signed_in.open_kernel() as kernel:
        env = kernel.eval(
            "{k: __import__('os').environ.get(k) for k in ('IDENTITY_ENDPOINT', 'IDENTITY_HEADER')}"
        )
        assert env["IDENTITY_ENDPOINT"] == signed_in.url + "jupyter-msal/managed-identity"
        first = _printed_digest(kernel.ok(DIGEST_OF_DEFAULT_CREDENTIAL).stdout)
        second = _printed_digest(kernel.ok(DIGEST_OF_DEFAULT_CREDENTIAL).stdout)
    assert first == second and first in _digests(emulator)
    _no_new_sign_in(emulator)
    assert emulator.counts["token"] <= 1  # at most one refresh for storage, then the cache
    assert env["IDENTITY_HEADER"] not in signed_in.log()


def test_managed_identity_clients_and_async_credential(
    signed_in: JupyterServerProcess, emulator: Any
) -> None:
    code = f"""
import hashlib, msal, requests
from azure.identity import ManagedIdentityCredential
from azure.identity.aio import DefaultAzureCredential as AsyncDefaultAzureCredential
tokens = [ManagedIdentityCredential().get_token({SCOPE!r}).token]
tokens.append(msal.ManagedIdentityClient(
    msal.SystemAssignedManagedIdentity(), http_client=requests.Session()
).acquire_token_for_client(resource="https://storage.azure.com")["access_token"])
async with AsyncDefaultAzureCredential() as credential:
    tokens.append((await credential.get_token({SCOPE!r})).token)
print(["SHA-" + hashlib.sha256(t.encode()).hexdigest() + "-" for t in tokens])
"""
    with signed_in.open_kernel() as kernel:
        out = kernel.ok(code).stdout
    digests = set(re.findall(r"SHA-([0-9a-f]{64})-", out))
    assert len(digests) == 1 and digests <= _digests(emulator), out
    _no_new_sign_in(emulator)


def test_subprocess_of_a_kernel(signed_in: JupyterServerProcess, emulator: Any) -> None:
    code = (
        "import subprocess, sys\n"
        f"done = subprocess.run([sys.executable, '-c', {DIGEST_OF_DEFAULT_CREDENTIAL!r}],"
        " capture_output=True, text=True, timeout=120)\n"
        "print(done.returncode, done.stdout, done.stderr[-2000:])"
    )
    with signed_in.open_kernel() as kernel:
        out = kernel.ok(code, timeout=150).stdout
    assert out.startswith("0 "), out
    assert _printed_digest(out) in _digests(emulator)
    _no_new_sign_in(emulator)


def test_terminal(signed_in: JupyterServerProcess, emulator: Any) -> None:
    script = signed_in.workdir / "default_credential.py"
    script.write_text(DIGEST_OF_DEFAULT_CREDENTIAL.replace("; ", "\n"))
    out = signed_in.run_in_terminal(f"{sys.executable} {script}", r"SHA-[0-9a-f]{64}-")
    assert _printed_digest(out) in _digests(emulator)
    _no_new_sign_in(emulator)


def test_signed_out_default_credential_names_the_way_to_sign_in(
    signed_out: JupyterServerProcess, emulator: Any
) -> None:
    code = f"""
from azure.identity import DefaultAzureCredential
try:
    DefaultAzureCredential().get_token({SCOPE!r})
except Exception as err:
    print(type(err).__name__, err)
"""
    flows_before = signed_out.request("GET", "jupyter-msal/sign-ins")["sign_ins"]
    with signed_out.open_kernel() as kernel:
        out = kernel.ok(code).stdout
        secret = kernel.eval("__import__('os').environ['IDENTITY_HEADER']")
    assert out.startswith("ClientAuthenticationError"), out
    assert "%msal_login" in out and "status bar" in out
    assert secret not in out
    assert emulator.counts["devicecode"] == 0 and emulator.counts["token"] == 0
    flows = signed_out.request("GET", "jupyter-msal/sign-ins")["sign_ins"]
    assert flows == flows_before  # no hidden sign-in started


def test_notebook_against_azurite(signed_in: JupyterServerProcess, emulator: Any) -> None:
    """notebooks/05: BlobServiceClient(url, credential=DefaultAzureCredential()), as written."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    printed = []
    with signed_in.open_kernel() as kernel:
        for cell in nb.cells:
            if cell.cell_type == "code":
                result = kernel.ok(cell.source, timeout=120)
                printed.append(json.dumps([o for o in result.outputs], default=str))
        secret = kernel.eval("__import__('os').environ['IDENTITY_HEADER']")
    everything = "\n".join(printed)
    assert "['hello.txt']" in everything and "Hello from unmodified Azure code" in everything
    assert not any(token in everything for token in emulator.issued_access_tokens)
    assert secret not in everything
    _no_new_sign_in(emulator)


def test_azurite_refuses_v2_tokens(
    signed_in: JupyterServerProcess, emulator: EntraEmulator, azurite: Azurite
) -> None:
    """The realism the notebook depends on: Azurite accepts only v1-shaped storage tokens."""
    code = f"""
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from azure.storage.blob import BlobServiceClient
service = BlobServiceClient({azurite.blob_url!r}, credential=DefaultAzureCredential())
try:
    print("OK", len(list(service.list_containers())))
except HttpResponseError as err:
    print("REFUSED", err.status_code, "issuer" in str(err))
"""
    emulator.access_token_version = "2.0"
    try:
        signed_in.request("DELETE", "jupyter-msal/accounts")
        signed_in.sign_in(emulator, ADA)
        with signed_in.open_kernel() as kernel:
            assert kernel.ok(code).stdout.startswith("REFUSED 403 True")
    finally:
        emulator.access_token_version = "auto"
        signed_in.request("DELETE", "jupyter-msal/accounts")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"JUPYTER_MSAL_MANAGED_IDENTITY_ENDPOINT": "false"}, {}),
        (
            {"IDENTITY_ENDPOINT": "http://127.0.0.1:9/msi/token", "IDENTITY_HEADER": "real-one"},
            {"IDENTITY_ENDPOINT": "http://127.0.0.1:9/msi/token", "IDENTITY_HEADER": "real-one"},
        ),
        ({"MSI_ENDPOINT": "http://127.0.0.1:9/msi/token", "MSI_SECRET": "s"}, {}),
    ],
    ids=["off", "real-app-service", "real-azure-ml"],
)
def test_kernels_of_a_server_that_does_not_serve_it(
    emulator: EntraEmulator, tmp_path: Path, extra: dict[str, str], expected: dict[str, str]
) -> None:
    env = azure_sdk_environment(emulator, tmp_path / "cache.bin", **extra)
    server = JupyterServerProcess(env, tmp_path / "server").start()
    try:
        with server.open_kernel() as kernel:
            seen = kernel.eval(
                "{k: v for k, v in __import__('os').environ.items() if k.startswith('IDENTITY_')}"
            )
        status = server.request("GET", "jupyter-msal/status")["managed_identity"]
    finally:
        server.stop()
    assert seen == expected
    assert status["enabled"] is False and status["endpoint"] is None
    if "JUPYTER_MSAL_MANAGED_IDENTITY_ENDPOINT" not in extra:
        assert "left alone" in status["note"] and "left alone" in server.log(20000)
