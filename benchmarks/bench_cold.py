"""The first cached token of a new process, and of a restarted server: requests and time.

A token is cached (signed in, fetched once); then, with the identity provider up and then down
(every endpoint of the emulator answering 503), each client asks for it again from a fresh
process:

* jupyter-msal in direct mode: ``jupyter msal token`` in a plain shell;
* jupyter-msal behind a restarted ``jupyter server``: its start-up and its first token answer;
* raw msal on a persisted cache (``PersistedTokenCache``) and no ``http_cache``;
* azure-identity: ``DeviceCodeCredential`` from an ``AuthenticationRecord`` with
  ``TokenCachePersistenceOptions(allow_unencrypted_storage=True)`` (its own cache, under a
  temporary ``HOME``).

Requests are counted at the emulator (every endpoint, the OpenID metadata included). Run from
the repository root::

    python benchmarks/bench_cold.py            # about 1.5 minutes
    python benchmarks/bench_cold.py --runs 3   # fewer processes per figure

Figures are for reading, not for asserting (the counts are asserted in
tests/test_hardening_outage.py). Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from jupyter_msal.client import ServerClient
from jupyter_msal.errors import JupyterMsalError
from jupyter_msal.testing import DEFAULT_USERNAME, EntraEmulator
from jupyter_msal.testing.server import JupyterServerProcess, emulator_environment

STORAGE = "https://storage.azure.com/.default"
CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

#: A child process: build the client, get the cached token, print what it cost.
_RAW_MSAL = """
import json, os, sys, time
t0 = time.perf_counter()
import msal, requests
from msal_extensions import FilePersistence, PersistedTokenCache
cache = PersistedTokenCache(FilePersistence(os.environ["BENCH_CACHE"]))
session = requests.Session(); session.verify = os.environ["BENCH_CA"]
session.trust_env = False  # else REQUESTS_CA_BUNDLE overrides verify
t1 = time.perf_counter()
try:
    app = msal.PublicClientApplication(
        os.environ["BENCH_CLIENT_ID"], authority=os.environ["BENCH_AUTHORITY"],
        instance_discovery=False, token_cache=cache, http_client=session)
    result = app.acquire_token_silent([os.environ["BENCH_SCOPE"]], app.get_accounts()[0])
    ok = bool(result and "access_token" in result)
except Exception as exc:
    ok = False
print(json.dumps({"ok": ok, "call": time.perf_counter() - t1, "all": time.perf_counter() - t0}))
"""
_AZURE_IDENTITY = """
import json, os, sys, time
t0 = time.perf_counter()
from azure.identity import AuthenticationRecord, DeviceCodeCredential, TokenCachePersistenceOptions
t1 = time.perf_counter()
try:
    credential = DeviceCodeCredential(
        authentication_record=AuthenticationRecord.deserialize(os.environ["BENCH_RECORD"]),
        disable_instance_discovery=True, connection_verify=os.environ["BENCH_CA"],
        cache_persistence_options=TokenCachePersistenceOptions(
            name="jupyter-msal-bench", allow_unencrypted_storage=True),
        timeout=10)
    ok = bool(credential.get_token(os.environ["BENCH_SCOPE"]).token)
except Exception as exc:
    ok = False
print(json.dumps({"ok": ok, "call": time.perf_counter() - t1, "all": time.perf_counter() - t0}))
"""
_DIRECT_MODE = """
import json, os, sys, time
t0 = time.perf_counter()
from jupyter_msal.client import DirectClient
t1 = time.perf_counter()
try:
    ok = bool(DirectClient().token([os.environ["BENCH_SCOPE"]]))
except Exception as exc:
    ok = False
print(json.dumps({"ok": ok, "call": time.perf_counter() - t1, "all": time.perf_counter() - t0}))
"""


def fmt_ms(seconds: float) -> str:
    """Milliseconds, for figures of a process's life."""
    return f"{seconds * 1e3:.0f} ms"


def requests_at(emulator: EntraEmulator) -> int:
    """Requests that reached the emulator's identity endpoints since its last reset."""
    return sum(v for k, v in emulator.counts.items() if not k.startswith("grant:"))


class Bench:
    """Runs each client in fresh processes and keeps the figures."""

    def __init__(self, runs: int, workdir: Path) -> None:
        self.runs = runs
        self.workdir = workdir
        self.rows: list[tuple[str, str, str, str]] = []

    def child(self, emulator: EntraEmulator, script: str, env: dict[str, str]) -> dict[str, Any]:
        """Run ``script`` in ``runs`` new processes: median times, requests per process."""
        emulator.reset_counts()
        outcomes = []
        for _ in range(self.runs):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", script], env=env, capture_output=True, text=True,
                timeout=120, check=False,
            )  # fmt: skip
            wall = time.perf_counter() - started
            lines = done.stdout.strip().splitlines()
            outcome = json.loads(lines[-1]) if lines else {"ok": False, "call": 0.0}
            outcomes.append({**outcome, "wall": wall})
        return {
            "ok": all(o["ok"] for o in outcomes),
            "requests": requests_at(emulator) / self.runs,
            "call": statistics.median(o["call"] for o in outcomes),
            "wall": statistics.median(o["wall"] for o in outcomes),
        }

    def cli(self, emulator: EntraEmulator, env: dict[str, str]) -> dict[str, Any]:
        """``jupyter msal token`` in ``runs`` new processes."""
        emulator.reset_counts()
        walls, ok = [], True
        for _ in range(self.runs):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "jupyter_msal.cli", "token", "--scope", STORAGE],
                env=env, capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            walls.append(time.perf_counter() - started)
            ok = ok and done.returncode == 0
        return {
            "ok": ok,
            "requests": requests_at(emulator) / self.runs,
            "wall": statistics.median(walls),
        }

    def restarted_server(self, emulator: EntraEmulator, env: dict[str, str]) -> dict[str, Any]:
        """A server started on the cache: time to answer, first token, requests for both."""
        emulator.reset_counts()
        starts, firsts, ok = [], [], True
        for run in range(max(1, self.runs // 2)):
            server = JupyterServerProcess(env, self.workdir / f"server-{time.monotonic_ns()}")
            started = time.perf_counter()
            server.start()
            starts.append(time.perf_counter() - started)
            try:
                client = ServerClient(server.url, jupyter_token=server.token)
                began = time.perf_counter()
                try:
                    client.token([STORAGE])
                except JupyterMsalError:
                    ok = False
                firsts.append(time.perf_counter() - began)
            finally:
                server.stop()
            del run
        return {
            "ok": ok,
            "requests": requests_at(emulator) / len(starts),
            "start": statistics.median(starts),
            "first": statistics.median(firsts),
        }


def sign_in_everyone(emulator: EntraEmulator, env: dict[str, str], home: Path) -> str:
    """jupyter-msal (CLI) and azure-identity sign in and cache a token; the auth record."""
    emulator.auto_approve = DEFAULT_USERNAME
    for args in (["login", STORAGE], ["token", "--scope", STORAGE]):
        done = subprocess.run(
            [sys.executable, "-m", "jupyter_msal.cli", *args],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(done.stderr)
    from azure.identity import DeviceCodeCredential, TokenCachePersistenceOptions

    saved_home = os.environ.get("HOME")
    os.environ["HOME"] = str(home)
    try:
        credential = DeviceCodeCredential(
            tenant_id="organizations",
            authority=f"127.0.0.1:{emulator.port}",
            disable_instance_discovery=True,
            connection_verify=emulator.ca_bundle_path,
            prompt_callback=lambda uri, code, expires: None,
            cache_persistence_options=TokenCachePersistenceOptions(
                name="jupyter-msal-bench", allow_unencrypted_storage=True
            ),
            timeout=60,
        )
        record = credential.authenticate(scopes=[STORAGE])
        credential.get_token(STORAGE)
    finally:
        if saved_home is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = saved_home
    return str(record.serialize())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="new processes per figure")
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")

    with (
        tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp,
        EntraEmulator(device_code_interval=1) as emulator,
    ):
        work = Path(tmp)
        (work / "config").mkdir()
        (work / "home").mkdir()
        env = emulator_environment(
            emulator, work / "cache" / "token_cache.bin", JUPYTER_CONFIG_DIR=str(work / "config")
        )
        record = sign_in_everyone(emulator, env, work / "home")
        bench = Bench(args.runs, work)
        child_env = dict(
            env,
            HOME=str(work / "home"),
            BENCH_SCOPE=STORAGE,
            BENCH_CA=emulator.ca_bundle_path,
            BENCH_AUTHORITY=emulator.authority(),
            BENCH_CLIENT_ID=CLIENT_ID,
            BENCH_RECORD=record,
        )
        # raw msal reads a copy of jupyter-msal's (plaintext) cache file, as it would its own
        raw_cache = work / "raw" / "cache.json"
        raw_cache.parent.mkdir()
        raw_cache.write_bytes((work / "cache" / "token_cache.bin").read_bytes())
        child_env["BENCH_CACHE"] = str(raw_cache)

        figures: dict[str, dict[str, Any]] = {}
        for phase in ("up", "down"):
            if phase == "down":
                emulator.inject_error(503, endpoint="any", count=None)
            figures[f"cli {phase}"] = bench.cli(emulator, env)
            figures[f"direct {phase}"] = bench.child(emulator, _DIRECT_MODE, child_env)
            figures[f"server {phase}"] = bench.restarted_server(emulator, env)
            figures[f"msal {phase}"] = bench.child(emulator, _RAW_MSAL, child_env)
            figures[f"azure {phase}"] = bench.child(emulator, _AZURE_IDENTITY, child_env)
            for name, value in figures.items():
                if name.endswith(phase):
                    print(f"{name:12} {value}", flush=True)
        emulator.clear_faults()

    def cell(name: str, key: str = "wall") -> str:
        f = figures[name]
        shown = fmt_ms(f[key]) if f["ok"] else "fails"
        return f"{shown}, {round(f['requests'], 1):g} req"

    print()
    print(f"{'first cached token of a new process':46} {'IdP up':22} IdP down (503 everywhere)")
    for label, name, key in (
        ("jupyter-msal: `jupyter msal token` (process)", "cli", "wall"),
        ("jupyter-msal: direct mode, token call", "direct", "call"),
        ("jupyter-msal: direct mode, process", "direct", "wall"),
        ("jupyter-msal: restarted server, first token", "server", "first"),
        ("jupyter-msal: restarted server, start", "server", "start"),
        ("raw msal, persisted cache: token call", "msal", "call"),
        ("raw msal, persisted cache: process", "msal", "wall"),
        ("azure-identity persistent cache: token call", "azure", "call"),
        ("azure-identity persistent cache: process", "azure", "wall"),
    ):
        print(f"{label:46} {cell(f'{name} up', key):22} {cell(f'{name} down', key)}")
    print(
        f"\n{args.runs} processes per figure (server: {max(1, args.runs // 2)} starts), medians;"
        f" req = requests per process at the emulator (OpenID metadata included)."
        f"\n{os.cpu_count()} cores, Python {platform.python_version()}, load {load:.1f} at start"
    )


if __name__ == "__main__":
    main()
