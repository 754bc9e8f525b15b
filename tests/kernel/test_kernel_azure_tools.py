"""The real Azure CLI and AzCopy in a real server's terminals and kernels, signed in as its user.

Offline: az asks the server's managed-identity endpoint for tokens and the emulator's Resource
Manager for subscriptions (the server lists them after a sign-in); storage is Azurite over
HTTPS with OAuth. az and azcopy are installed by scripts/ensure-azure-tools. Every process
gets ``HTTPS_PROXY``/``HTTP_PROXY`` pointing at a closed loopback port with ``NO_PROXY`` for
loopback, so a call az would make to a Microsoft host stops before DNS.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_msal.testing import DEFAULT_USERNAME as ADA
from jupyter_msal.testing import EntraEmulator
from jupyter_msal.testing.azurite import Azurite
from jupyter_msal.testing.server import JupyterServerProcess, azure_sdk_environment

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
AZ = REPO / "tools" / "azure-cli" / "bin" / "az"
AZCOPY = REPO / "tools" / "azcopy" / "azcopy"
CLOSED_PORT = "http://127.0.0.1:9"
STORAGE = "https://storage.azure.com/"


def _tools() -> None:
    for tool in (AZ, AZCOPY):
        if not os.access(tool, os.X_OK):
            pytest.fail(f"{tool} is missing: run scripts/ensure-azure-tools (scripts/test does)")


def server_environment(
    emulator: EntraEmulator, workdir: Path, home: Path, **extra: str
) -> dict[str, str]:
    """A server's environment: the emulator's, no identity from outside, the tools on PATH,
    a home of its own, every proxy a closed port except loopback."""
    _tools()
    env = azure_sdk_environment(emulator, workdir / "cache" / "token_cache.bin")
    for name in ("AZURE_CONFIG_DIR", "AZCOPY_AUTO_LOGIN_TYPE"):
        env.pop(name, None)
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        PATH=f"{AZ.parent}{os.pathsep}{AZCOPY.parent}{os.pathsep}{env.get('PATH', '')}",
        HTTPS_PROXY=CLOSED_PORT,
        HTTP_PROXY=CLOSED_PORT,
        NO_PROXY="127.0.0.1,localhost",
        AZURE_CORE_COLLECT_TELEMETRY="no",
    )
    env.update(extra)
    return env


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _issued_digests(emulator: EntraEmulator) -> set[str]:
    return {_digest(t) for t in emulator.issued_access_tokens}


def _profile(server: JupyterServerProcess) -> dict[str, Any]:
    folder = server.request("GET", "jupyter-msal/status")["azure_tools"]["az"]["config_dir"]
    return dict(json.loads(Path(folder, "azureProfile.json").read_text(encoding="utf-8-sig")))


def _wait_for_subscriptions(server: JupyterServerProcess) -> dict[str, Any]:
    """The profile once the server has listed the subscriptions after the sign-in."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listed = _profile(server)["subscriptions"]
        if any(s["name"] == "Emulated subscription" for s in listed):
            return listed[0]
        time.sleep(0.1)
    raise AssertionError(_profile(server))


@pytest.fixture(scope="module")
def server(emulator: EntraEmulator, workdir: Path) -> Iterator[JupyterServerProcess]:
    """One server for the module, with az and azcopy on its PATH and a home of its own."""
    env = server_environment(emulator, workdir, workdir / "home")
    with JupyterServerProcess(env, workdir / "server") as srv:
        yield srv


@pytest.fixture
def signed_in(server: JupyterServerProcess, emulator: EntraEmulator) -> JupyterServerProcess:
    """Ada signed in, the subscriptions listed into az's profile, the counters at zero."""
    if not server.request("GET", "jupyter-msal/accounts")["accounts"]:
        server.sign_in(emulator, ADA)
    _wait_for_subscriptions(server)
    emulator.reset_counts()
    return server


def _no_sign_in(emulator: EntraEmulator) -> None:
    counts = emulator.counts
    assert counts["devicecode"] == 0 and counts["grant:device_code"] == 0, counts


def test_az_in_a_terminal_acts_as_the_signed_in_user(
    signed_in: JupyterServerProcess, emulator: EntraEmulator
) -> None:
    # Jupyter's terminals run a login shell, and Debian's /etc/profile resets PATH: the tools
    # are named by their full path there; the variables the server set survive it.
    command = (
        "echo VARS-${AZURE_CONFIG_DIR:+dir}-${AZCOPY_AUTO_LOGIN_TYPE}-${IDENTITY_ENDPOINT:+mi}; "
        f"{AZ} account get-access-token --resource {STORAGE} --query accessToken -o tsv"
        " | tr -d '\\n' | sha256sum | sed 's/ .*//; s/^/SHA-/; s/$/-/'; "
        f"{AZ} account show --query '[tenantId, name, user.name]' -o tsv | tr '\\t\\n' '  '; echo; "
        f"{AZ} account list --query '[].[name, tenantId]' -o tsv | sed 's/^/LISTED /'; "
        "echo DONE-$?"
    )
    out = signed_in.run_in_terminal(command, r"DONE-\d")
    digests = re.findall(r"SHA-([0-9a-f]{64})-", out)
    assert digests and digests[0] in _issued_digests(emulator), out
    tenant = emulator.users[ADA]["tenant_id"]
    assert f"{tenant} Emulated subscription systemAssignedIdentity" in out, out
    assert re.findall(r"(?m)^LISTED (.*?)\r?$", out) == [f"Emulated subscription\t{tenant}"], out
    assert "DONE-0" in out and "VARS-dir-MSI-mi" in out, out
    # the scrollback holds what was printed (a digest), never a token or the header secret
    with signed_in.open_kernel() as kernel:
        header = kernel.eval("__import__('os').environ['IDENTITY_HEADER']")
    assert not any(t in out for t in [header, *emulator.issued_access_tokens])
    _no_sign_in(emulator)


def _storage_commands(az: str, azcopy: str, blob: str, source: Path, back: Path) -> list[list[str]]:
    """az uploads and lists with --auth-mode login, azcopy copies there and back."""
    port = blob.split(":")[2].split("/")[0]
    common = ["--auth-mode", "login", "--blob-endpoint", blob]
    trust = ["--trusted-microsoft-suffixes", f"127.0.0.1:{port}"]
    return [
        [az, "storage", "container", "create", "--name", "tools", *common],
        [
            az,
            "storage",
            "blob",
            "upload",
            "--container-name",
            "tools",
            "--name",
            "by-az.bin",
            "--file",
            str(source),
            "--overwrite",
            *common,
        ],
        [
            az,
            "storage",
            "blob",
            "list",
            "--container-name",
            "tools",
            "--query",
            "[].name",
            "-o",
            "tsv",
            *common,
        ],
        [
            azcopy,
            "copy",
            str(source),
            f"{blob}/tools/by-azcopy.bin",
            "--from-to",
            "LocalBlob",
            *trust,
        ],
        [
            azcopy,
            "copy",
            f"{blob}/tools/by-azcopy.bin",
            str(back),
            "--from-to",
            "BlobLocal",
            "--overwrite",
            "true",
            *trust,
        ],
    ]


@pytest.mark.parametrize("where", ["terminal", "kernel subprocess"])
def test_az_storage_and_azcopy(
    signed_in: JupyterServerProcess,
    emulator: EntraEmulator,
    azurite: Azurite,
    tmp_path: Path,
    where: str,
) -> None:
    data = os.urandom(300_000)
    source = tmp_path / "data.bin"
    source.write_bytes(data)
    back = tmp_path / "back.bin"
    if where == "terminal":  # a login shell: full paths (see the first test)
        commands = _storage_commands(str(AZ), str(AZCOPY), azurite.blob_url, source, back)
        line = " ; ".join(f"{shlex.join(c)} ; echo RC $?" for c in commands)
        out = signed_in.run_in_terminal(line + " ; echo ALL-DONE", r"\nALL-DONE", timeout=300)
    else:  # the kernel's PATH is the server's: the tools by name
        commands = _storage_commands("az", "azcopy", azurite.blob_url, source, back)
        code = (
            "import subprocess\n"
            f"for args in {commands!r}:\n"
            "    done = subprocess.run(args, capture_output=True, text=True, timeout=180)\n"
            "    print(done.stdout[-1500:], done.stderr[-1500:])\n"
            "    print('RC', done.returncode)\n"
        )
        with signed_in.open_kernel() as kernel:
            out = kernel.ok(code, timeout=400).stdout
    codes = re.findall(r"^RC (-?\d+)", out, re.MULTILINE)
    assert codes == ["0"] * 5, out
    assert "by-az.bin" in out, out
    assert back.read_bytes() == data
    _no_sign_in(emulator)


def test_private_folder_is_private_and_holds_no_secret(
    signed_in: JupyterServerProcess, emulator: EntraEmulator
) -> None:
    said = signed_in.run_in_terminal(
        f"{AZ} account get-access-token --resource {STORAGE} -o none; "
        f"{sys.executable} -m jupyter_msal.cli status; echo DONE-$?",
        r"DONE-\d",
    )
    assert "az:          jupyter-msal: signed in as the jupyter-msal user" in said, said
    status = signed_in.request("GET", "jupyter-msal/status")["azure_tools"]
    assert status["az"]["mode"] == "jupyter-msal" and status["azcopy"]["mode"] == "jupyter-msal"
    folder = Path(status["az"]["config_dir"])
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "azureProfile.json").stat().st_mode) == 0o600
    with signed_in.open_kernel() as kernel:
        header = kernel.eval("__import__('os').environ['IDENTITY_HEADER']")
        assert kernel.eval("__import__('os').environ['AZURE_CONFIG_DIR']") == str(folder)
    secrets = [header, *emulator.issued_access_tokens, *emulator.issued_refresh_tokens]
    for path in folder.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace")
            assert not any(s in text for s in secrets), path
    log = signed_in.log(tail=10**7)
    assert not any(s in log for s in secrets)


def test_signed_out_tools_fail_fast_naming_the_sign_in(
    server: JupyterServerProcess, emulator: EntraEmulator, azurite: Azurite
) -> None:
    server.request("DELETE", "jupyter-msal/accounts")
    deadline = time.monotonic() + 30
    while _profile(server)["subscriptions"][0]["name"] == "Emulated subscription":
        assert time.monotonic() < deadline, _profile(server)
        time.sleep(0.1)
    emulator.reset_counts()
    port = azurite.blob_url.split(":")[2].split("/")[0]
    command = (
        f"{AZ} account get-access-token --resource {STORAGE} -o none; echo AZ-$?; "
        f"{AZCOPY} copy {azurite.blob_url}/tools/by-azcopy.bin /tmp/never.bin --from-to BlobLocal"
        f" --trusted-microsoft-suffixes 127.0.0.1:{port}; echo AZCOPY-$?"
    )
    started = time.monotonic()
    out = server.run_in_terminal(command, r"AZCOPY-\d+")
    took = time.monotonic() - started
    assert re.search(r"AZ-[1-9]", out) and re.search(r"AZCOPY-[1-9]", out), out
    az_said, azcopy_said = re.split(r"\nAZ-\d+", out, maxsplit=1)
    for said in (az_said, azcopy_said):
        assert "%msal_login" in said and "jupyter msal login" in said, out
    assert emulator.counts["token"] == 0
    print(f"both tools failed in {took:.1f} s")  # az and azcopy start-up included


def _terminal_variables(server: JupyterServerProcess) -> list[str]:
    """The names of the variables a new terminal of ``server`` has (after its login shell)."""
    code = "import json, os; print('ENV=' + json.dumps(sorted(os.environ)) + '=END')"
    out = server.run_in_terminal(f'{sys.executable} -c "{code}"', r"ENV=\[.*\]=END")
    return list(json.loads(re.findall(r"ENV=(\[.*\])=END", out)[-1]))


@pytest.mark.parametrize("case", ["own-login", "off"])
def test_own_login_or_setting_off_leaves_the_tools_alone(
    server: JupyterServerProcess, emulator: EntraEmulator, tmp_path: Path, case: str
) -> None:
    home = tmp_path / "home"
    azure = home / ".azure"
    extra = {}
    if case == "own-login":
        azure.mkdir(parents=True)
        own = {"subscriptions": [{"id": "1", "name": "mine", "user": {"name": "me@contoso.com"}}]}
        (azure / "azureProfile.json").write_text(json.dumps(own))
        before = {p.name: p.read_bytes() for p in azure.iterdir()}
    else:
        extra["JUPYTER_MSAL_AZURE_TOOLS"] = "false"
    env = server_environment(emulator, tmp_path, home, **extra)
    with JupyterServerProcess(env, tmp_path / "server") as other:
        names = ("AZURE_CONFIG_DIR", "AZCOPY_AUTO_LOGIN_TYPE", "IDENTITY_ENDPOINT")
        with other.open_kernel() as kernel:
            seen = kernel.eval(f"{{k: __import__('os').environ.get(k) for k in {names!r}}}")
        status = other.request("GET", "jupyter-msal/status")["azure_tools"]
        variables = set(_terminal_variables(other))
    assert seen["IDENTITY_ENDPOINT"]  # the managed-identity endpoint itself stays
    if case == "own-login":
        assert seen["AZURE_CONFIG_DIR"] is None and seen["AZCOPY_AUTO_LOGIN_TYPE"] == "MSI"
        assert status["az"]["mode"] == "own" and "~/.azure" in status["az"]["note"]
        assert {p.name: p.read_bytes() for p in azure.iterdir()} == before
    else:
        assert seen["AZURE_CONFIG_DIR"] is None and seen["AZCOPY_AUTO_LOGIN_TYPE"] is None
        assert status["az"]["mode"] == "off" and status["azcopy"]["mode"] == "off"
        assert not azure.exists()
        # against a terminal of the module's server (feature on): its two variables are all
        # the difference, besides the variable that turned the feature off here
        on = set(_terminal_variables(server))
        assert on - variables == {"AZURE_CONFIG_DIR", "AZCOPY_AUTO_LOGIN_TYPE"}
        assert variables - on == {"JUPYTER_MSAL_AZURE_TOOLS"}


def test_private_folder_removed_when_the_server_stops(
    emulator: EntraEmulator, tmp_path: Path
) -> None:
    env = server_environment(emulator, tmp_path, tmp_path / "home")
    with JupyterServerProcess(env, tmp_path / "server") as other:
        status = other.request("GET", "jupyter-msal/status")["azure_tools"]
        folder = Path(status["az"]["config_dir"])
        assert (folder / "azureProfile.json").is_file()
    assert not folder.exists()
