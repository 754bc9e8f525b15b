"""Unmodified Azure code in a kernel: a fresh ``DefaultAzureCredential`` per call, token cached.

Run:  python benchmarks/bench_managed_identity.py [--repeat N]

Offline, like every benchmark here: the bundled Entra ID emulator, a Jupyter server with the
extension in a subprocess (its managed-identity endpoint on), one kernel started through it,
signed in once. In that kernel, medians (and p95) of, per call:

* ``DefaultAzureCredential().get_token(scope)``: a new credential object each time, as user
  code does; the chain reaches ManagedIdentityCredential, which asks the server;
* ``ManagedIdentityCredential().get_token(scope)``, new each time;
* ``jupyter_msal.Credential().get_token(scope)``, new each time, and the same object again;
* ``AzureCliCredential().get_token(scope)``, new each time, only where ``az`` is installed;
* the client-side floor: the same two azure-identity calls against a minimal static endpoint
  (a few lines of ``http.server`` in another process answering a fixed token), so the part the
  Jupyter server adds can be read off.

The server holds the token in every case (one warm-up call first). Figures only: nothing is
asserted about them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_msal.client import ServerClient
from jupyter_msal.testing import EntraEmulator
from jupyter_msal.testing.server import JupyterServerProcess, emulator_environment, free_port

SCOPE = "https://storage.azure.com/.default"
USER = "ada@contoso.com"
IDENTITY_VARIABLES = ("IDENTITY_ENDPOINT", "IDENTITY_HEADER", "MSI_ENDPOINT", "MSI_SECRET")

KERNEL_CODE = """
import json, os, shutil, statistics, time
from azure.identity import AzureCliCredential, DefaultAzureCredential, ManagedIdentityCredential
import jupyter_msal

SCOPE, N = {scope!r}, {repeat}
def measure(fn):
    fn()  # warm-up: imports, first connection
    runs = []
    for _ in range(N):
        start = time.perf_counter_ns()
        fn()
        runs.append(time.perf_counter_ns() - start)
    runs.sort()
    return {{"median": statistics.median(runs) / 1e9, "p95": runs[int(0.95 * (N - 1))] / 1e9}}

same = jupyter_msal.Credential()
figures = {{
    "DefaultAzureCredential(), new per call": measure(
        lambda: DefaultAzureCredential().get_token(SCOPE)),
    "ManagedIdentityCredential(), new per call": measure(
        lambda: ManagedIdentityCredential().get_token(SCOPE)),
    "jupyter_msal.Credential(), new per call": measure(
        lambda: jupyter_msal.Credential().get_token(SCOPE)),
    "jupyter_msal.Credential(), same object": measure(lambda: same.get_token(SCOPE)),
}}
os.environ["IDENTITY_ENDPOINT"] = {static_url!r}
figures["floor: DefaultAzureCredential(), static endpoint"] = measure(
    lambda: DefaultAzureCredential().get_token(SCOPE))
figures["floor: ManagedIdentityCredential(), static endpoint"] = measure(
    lambda: ManagedIdentityCredential().get_token(SCOPE))
if shutil.which("az"):
    figures["AzureCliCredential(), new per call"] = measure(
        lambda: AzureCliCredential().get_token(SCOPE))
print("FIGURES" + json.dumps(figures))
"""


#: A managed-identity endpoint that answers a fixed token at once (HTTP/1.1, keep-alive).
STATIC_ENDPOINT = """
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
BODY = json.dumps({"access_token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJmbG9vciJ9.",
                   "expires_on": int(time.time()) + 3600,
                   "resource": "https://storage.azure.com", "token_type": "Bearer"}).encode()
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)
    def log_message(self, *args):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def fmt(seconds: float) -> str:
    """Seconds as µs or ms."""
    return f"{seconds * 1e6:.0f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=200, help="calls per figure")
    args = parser.parse_args(argv)
    load_start = os.getloadavg()[0]
    with (
        tempfile.TemporaryDirectory(prefix="bench-mi-") as tmp,
        EntraEmulator(device_code_interval=1) as emu,
    ):
        emu.auto_approve = USER
        env = emulator_environment(emu, Path(tmp) / "cache.bin")
        for name in IDENTITY_VARIABLES:
            env.pop(name, None)
        env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = "http://127.0.0.1:9"  # never IMDS
        server = JupyterServerProcess(env, Path(tmp) / "server").start()
        static_port = free_port()
        static = subprocess.Popen([sys.executable, "-c", STATIC_ENDPOINT, str(static_port)])
        try:
            client = ServerClient(server.url, jupyter_token=server.token)
            client.wait_for_sign_in(client.start_sign_in("device_code"))
            emu.reset_counts()
            with server.open_kernel() as kernel:
                code = KERNEL_CODE.format(
                    scope=SCOPE,
                    repeat=args.repeat,
                    static_url=f"http://127.0.0.1:{static_port}/msi/token",
                )
                out = kernel.ok(code, timeout=600).stdout
            counts = emu.counts
        finally:
            static.terminate()
            static.wait(10)
            server.stop()
    figures = json.loads(out.split("FIGURES", 1)[1])
    title = "per get_token(), in a kernel, token cached by the server"
    print(f"{title:58} {'median':>9} {'p95':>9}")
    for name, row in figures.items():
        print(f"{name:58} {fmt(row['median']):>9} {fmt(row['p95']):>9}")
    if not shutil.which("az"):
        print("(AzureCliCredential: az is not installed here)")
    print(
        f"identity-provider calls during the run: token {counts['token']}, "
        f"devicecode {counts['devicecode']}"
    )
    print(
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load_start:.1f} -> {os.getloadavg()[0]:.1f}, {sys.platform}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
