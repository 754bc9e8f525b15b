"""The Azure CLI and AzCopy signed in through jupyter-msal: what a token costs them end to end.

Offline, like every benchmark here: the bundled Entra ID emulator, Azurite (HTTPS, OAuth) for
storage, and a real ``jupyter server`` subprocess with the extension, whose kernels and
terminals get az and azcopy signed in as its user (``AZURE_CONFIG_DIR`` with a managed-identity
profile, ``AZCOPY_AUTO_LOGIN_TYPE=MSI``, ``IDENTITY_ENDPOINT`` + ``IDENTITY_HEADER``). The
tools come from ``scripts/ensure-azure-tools`` (``tools/azure-cli``, ``tools/azcopy``) and
Azurite from ``scripts/ensure-azurite``. Every process gets ``HTTPS_PROXY``/``HTTP_PROXY``
pointing at a closed loopback port with ``NO_PROXY`` for loopback: nothing leaves the machine.

Run it from the repository root::

    python benchmarks/bench_azure_tools.py              # about 2 minutes
    python benchmarks/bench_azure_tools.py --runs 5     # fewer runs per command

The commands run as subprocesses with the environment of a kernel the server started, as a
notebook's ``!az ...`` does. Medians of ``--runs`` runs each (after one warm-up run):

* ``az --version`` and ``az account show`` (no token): az's own start-up;
* ``az account get-access-token --resource https://storage.azure.com/`` (one request to the
  managed-identity endpoint, token cached by the server), and what ``--debug`` says it spent;
* the managed-identity GET itself, with the same header, on a new connection each time as a new
  process makes it, and the handler time from the server's log;
* ``azcopy --version``, and ``azcopy list`` / ``azcopy copy`` of a small blob from Azurite,
  which each ask the endpoint for a storage token.

Figures only: nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

from _common import fmt_delta, fmt_s, load_average, machine_line, pct, report, say

from jupyter_msal.testing import DEFAULT_USERNAME as ADA
from jupyter_msal.testing import EntraEmulator
from jupyter_msal.testing.azurite import Azurite, find_azurite
from jupyter_msal.testing.server import (
    MANAGED_IDENTITY_VARIABLES,
    JupyterServerProcess,
    emulator_environment,
    free_port,
)
from jupyter_msal.testing.waiting import wait_until

REPO = Path(__file__).resolve().parents[1]
AZ = REPO / "tools" / "azure-cli" / "bin" / "az"
AZCOPY = REPO / "tools" / "azcopy" / "azcopy"
CLOSED_PORT = "http://127.0.0.1:9"
RESOURCE = "https://storage.azure.com/"
CONTAINER = "bench"
TARGET_S = 0.010  # the endpoint adds at most this to az's own start-up
#: The tornado access-log line of a managed-identity request (jupyter_server logs 2xx at DEBUG).
MI_LOG_LINE = re.compile(r"200 GET /jupyter-msal/managed-identity\S* \([^)]*\) ([\d.]+)ms")


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def server_environment(emulator: EntraEmulator, tmp: Path) -> dict[str, str]:
    """The server's environment: the emulator's, no identity from outside, the tools on PATH, a
    home of its own, every proxy a closed port except loopback, the emulator's CA trusted."""
    env = emulator_environment(emulator, tmp / "cache" / "token_cache.bin")
    for name in (*MANAGED_IDENTITY_VARIABLES, "AZURE_CONFIG_DIR", "AZCOPY_AUTO_LOGIN_TYPE"):
        env.pop(name, None)
    (tmp / "home").mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(tmp / "home"),
        PATH=f"{AZ.parent}{os.pathsep}{AZCOPY.parent}{os.pathsep}{env.get('PATH', '')}",
        JUPYTER_MSAL_RESOURCE_MANAGER_URL=emulator.url,
        AZURE_POD_IDENTITY_AUTHORITY_HOST=CLOSED_PORT,  # IMDS, were it tried: refused
        HTTPS_PROXY=CLOSED_PORT,
        HTTP_PROXY=CLOSED_PORT,
        NO_PROXY="127.0.0.1,localhost",
        AZURE_CORE_COLLECT_TELEMETRY="no",
        REQUESTS_CA_BUNDLE=emulator.ca_bundle_path,
        SSL_CERT_FILE=emulator.ca_bundle_path,
    )
    return env


def sign_in(server: JupyterServerProcess, emulator: EntraEmulator) -> None:
    """A device-code sign-in through the REST API, then wait until the server has written the
    subscriptions into az's profile."""
    emulator.auto_approve = ADA
    flow = server.request("POST", "jupyter-msal/sign-ins", {"method": "device_code"})
    while flow["state"] == "pending":
        flow = server.request("GET", f"jupyter-msal/sign-ins/{flow['id']}?wait=10")
    if flow["state"] != "succeeded":
        raise RuntimeError(f"sign-in: {flow['state']}")
    folder = server.request("GET", "jupyter-msal/status")["azure_tools"]["az"]["config_dir"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = Path(folder, "azureProfile.json").read_text(encoding="utf-8-sig")
        if "Emulated subscription" in text:
            return
        time.sleep(0.1)
    raise RuntimeError("the server did not list the subscriptions into az's profile")


class ToolsBench:
    """The emulator, Azurite, one server, and the kernel environment the tools run with."""

    def __init__(self, runs: int) -> None:
        self.runs = runs
        self.stack = contextlib.ExitStack()
        self.tmp = Path(self.stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-az-")))
        self.rows: list[tuple[str, list[float], str]] = []
        self.r: dict[str, Any] = {}

    def start(self) -> None:
        """Start everything; read a kernel's environment; make a container and a small blob."""
        self.emu = self.stack.enter_context(EntraEmulator(device_code_interval=1))
        self.azurite = self.stack.enter_context(Azurite(self.emu, self.tmp / "azurite"))
        env = server_environment(self.emu, self.tmp)
        self.server = JupyterServerProcess(env, self.tmp / "server", log_level="DEBUG").start()
        self.stack.callback(self.server.stop)
        sign_in(self.server, self.emu)
        with self.server.open_kernel() as kernel:
            self.env = dict(kernel.eval("dict(__import__('os').environ)"))
        self.port = self.azurite.blob_url.split(":")[2].split("/")[0]
        self.trust = ["--trusted-microsoft-suffixes", f"127.0.0.1:{self.port}"]
        self.blob = self.tmp / "small.bin"
        self.blob.write_bytes(os.urandom(1024))
        common = ["--auth-mode", "login", "--blob-endpoint", self.azurite.blob_url, "-o", "none"]
        self.run(["az", "storage", "container", "create", "--name", CONTAINER, *common])
        url = f"{self.azurite.blob_url}/{CONTAINER}/small.bin"
        self.run(["azcopy", "copy", str(self.blob), url, "--from-to", "LocalBlob", *self.trust])

    def close(self) -> None:
        """Stop everything started."""
        self.stack.close()

    def run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        """``args`` with the kernel's environment; RuntimeError with its output if it fails."""
        done = subprocess.run(
            args,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
            cwd=str(self.tmp),
            stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0:
            said = (done.stdout + done.stderr)[-1500:]
            raise RuntimeError(f"{args[:4]} -> {done.returncode}: {said}")
        return done

    def _mi_log_times(self) -> list[float]:
        """Handler times (seconds) of the managed-identity requests in the server's log."""
        log = (self.server.workdir / "server.log").read_text(errors="replace")
        return [float(ms) / 1000 for ms in MI_LOG_LINE.findall(log)]

    def command(self, label: str, args: list[str], *, count: bool = True) -> list[float]:
        """Wall time of ``args`` per run (one warm-up run first); prints the median. ``count``:
        note the requests to the server's managed-identity endpoint per run."""
        self.run(args)
        calls_before = len(self._mi_log_times())
        samples = []
        for _ in range(self.runs):
            started = time.perf_counter()
            self.run(args)
            samples.append(time.perf_counter() - started)
        calls = (len(self._mi_log_times()) - calls_before) / self.runs
        note = f"{calls:g} endpoint request(s) per run" if count else "not our endpoint"
        self.rows.append((label, samples, note))
        say(f"{label}: median {fmt_s(statistics.median(samples))} ({note})")
        return samples

    def az_debug(self) -> None:
        """What ``az --debug`` reports for get-access-token: init and invoke time."""
        args = ["az", "account", "get-access-token", "--resource", RESOURCE, "-o", "none"]
        ran = re.compile(r"Command ran in ([\d.]+) seconds \(init: ([\d.]+), invoke: ([\d.]+)\)")
        found = []
        for _ in range(self.runs):
            match = ran.search(self.run([*args, "--debug"]).stderr)
            if match:
                found.append(tuple(float(x) for x in match.groups()))
        if found:
            self.r["debug"] = [statistics.median(f[i] for f in found) for i in range(3)]
            total, init, invoke = self.r["debug"]
            say(
                f"az --debug, get-access-token: command ran in {fmt_s(total)} "
                f"(init {fmt_s(init)}, invoke {fmt_s(invoke)}), median of {len(found)}"
            )

    def static_floor(self) -> None:
        """get-access-token against a minimal static endpoint in another process (the floor
        bench_managed_identity.py uses): what az costs with an endpoint that does no work."""
        from bench_managed_identity import STATIC_ENDPOINT

        port = free_port()
        static = subprocess.Popen([sys.executable, "-c", STATIC_ENDPOINT, str(port)])
        saved = self.env
        try:
            wait_until(lambda: _listening(port), 30, interval=0.05)
            self.env = dict(saved, IDENTITY_ENDPOINT=f"http://127.0.0.1:{port}/msi/token")
            self.command(
                "floor: get-access-token, static endpoint",
                ["az", "account", "get-access-token", "--resource", RESOURCE, "-o", "none"],
                count=False,
            )
        finally:
            self.env = saved
            static.terminate()
            static.wait(10)

    def endpoint(self, n: int = 200) -> None:
        """The managed-identity GET az and azcopy make, on a new connection each time."""
        parts = urllib.parse.urlsplit(self.env["IDENTITY_ENDPOINT"])
        query = urllib.parse.urlencode({"api-version": "2019-08-01", "resource": RESOURCE})
        path = f"{parts.path}?{query}"
        headers = {"X-IDENTITY-HEADER": self.env["IDENTITY_HEADER"]}

        def get() -> None:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            conn.close()
            if response.status != 200 or b"access_token" not in body:
                raise RuntimeError(f"managed-identity GET -> {response.status}")

        for _ in range(20):
            get()
        before = len(self._mi_log_times())
        self.emu.reset_counts()
        samples = []
        for _ in range(n):
            started = time.perf_counter()
            get()
            samples.append(time.perf_counter() - started)
        time.sleep(0.5)  # the log is written by another process
        handler = self._mi_log_times()[before:]
        self.r["endpoint"] = samples
        self.r["handler"] = handler
        self.r["endpoint_idp"] = self.emu.counts["token"]
        say(
            f"managed-identity GET, new connection each: median {fmt_s(pct(samples, 50))}, "
            f"p95 {fmt_s(pct(samples, 95))}; handler time in the server's log: median "
            f"{fmt_s(statistics.median(handler)) if handler else 'n/a'} "
            f"({len(handler)} lines); identity-provider token requests: "
            f"{self.r['endpoint_idp']}"
        )

    def measure(self) -> None:
        """Every figure, the endpoint first (while nothing else runs)."""
        self.endpoint()
        self.emu.reset_counts()
        self.command("az --version", ["az", "--version"])
        self.command("az account show (no token)", ["az", "account", "show", "-o", "none"])
        self.command(
            "az account get-access-token (storage)",
            ["az", "account", "get-access-token", "--resource", RESOURCE, "-o", "none"],
        )
        self.az_debug()
        self.static_floor()
        url = f"{self.azurite.blob_url}/{CONTAINER}"
        self.command("azcopy --version", ["azcopy", "--version"])
        self.command(
            "azcopy list (container, 1 blob)",
            ["azcopy", "list", url, "--location", "Blob", *self.trust],
        )
        self.command(
            "azcopy copy (1 KiB blob down)",
            [
                "azcopy", "copy", f"{url}/small.bin", str(self.tmp / "back.bin"),
                "--from-to", "BlobLocal", "--overwrite", "true", *self.trust,
            ],
        )  # fmt: skip
        counts = self.emu.counts
        self.r["idp"] = (counts["token"], counts["devicecode"])
        say(f"identity-provider requests during the tool runs: token {counts['token']}, "
            f"devicecode {counts['devicecode']}")  # fmt: skip

    def table(self) -> str:
        """The commands' medians, the endpoint's share and the target."""
        med = {label: statistics.median(s) for label, s, _ in self.rows}
        lines = [f"{'command (subprocess, kernel environment)':44} {'median':>9} {'min':>9}  note"]
        for label, samples, note in self.rows:
            lines.append(f"{label:44} {fmt_s(med[label]):>9} {fmt_s(min(samples)):>9}  {note}")
        endpoint, handler = self.r["endpoint"], self.r["handler"]
        lines += [
            "",
            f"{'managed-identity GET (new connection), median':50} {fmt_s(pct(endpoint, 50))}",
            f"{'managed-identity GET (new connection), p95':50} {fmt_s(pct(endpoint, 95))}",
            f"{'  of which the handler (server log), median':50} "
            + (fmt_s(statistics.median(handler)) if handler else "n/a"),
        ]
        if "debug" in self.r:
            total, init, invoke = self.r["debug"]
            lines.append(
                f"{'az --debug get-access-token: ran / init / invoke':50} "
                f"{fmt_s(total)} / {fmt_s(init)} / {fmt_s(invoke)}"
            )
        token = med["az account get-access-token (storage)"]
        floor = med["floor: get-access-token, static endpoint"]
        lines += [
            f"{'get-access-token minus the static-endpoint floor':50} {fmt_delta(token - floor)}",
            f"{'get-access-token minus az --version':50} {fmt_delta(token - med['az --version'])}",
            f"{'get-access-token minus az account show':50} "
            f"{fmt_delta(token - med['az account show (no token)'])}",
            f"{'target: the endpoint adds <= 10 ms to az':50} "
            f"{'met' if pct(endpoint, 50) <= TARGET_S else 'missed'} "
            f"({fmt_s(pct(endpoint, 50))} per token request, 1 request per az run)",
            "az with a classic user login (az login): not measurable offline; it signs in",
            "  at login.microsoftonline.com, which this benchmark never reaches.",
        ]
        return "\n".join(lines)


def versions() -> str:
    """The tools' versions (az's from its own venv, without starting az)."""
    az_python = AZ.parent / "python"
    az = subprocess.run(
        [str(az_python), "-c", "import importlib.metadata as m; print(m.version('azure-cli'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    azcopy = subprocess.run([str(AZCOPY), "--version"], capture_output=True, text=True).stdout
    return f"azure-cli {az}, {azcopy.strip()}"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per command")
    args = parser.parse_args(argv)
    missing = [str(t) for t in (AZ, AZCOPY) if not os.access(t, os.X_OK)]
    if missing or find_azurite() is None:
        say(f"missing {missing or 'Azurite'}: run scripts/ensure-azure-tools, ensure-azurite")
        return 0
    started = time.perf_counter()
    say(f"machine: {machine_line()}; {versions()}; load average {load_average()}")
    bench = ToolsBench(args.runs)
    try:
        bench.start()
        bench.measure()
    finally:
        bench.close()
    report(bench.table(), started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
