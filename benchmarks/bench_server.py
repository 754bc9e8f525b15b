"""Server benchmarks: jupyter-msal's REST API beside raw msal and azure-identity.

Everything runs on this machine: the Entra ID emulator (real TLS on 127.0.0.1), a real
``jupyter server`` subprocess with the extension, and clients in this process or in worker
processes. No traffic leaves loopback. Run it from the repository root::

    python benchmarks/bench_server.py            # about 1 minute
    python benchmarks/bench_server.py --quick    # about 25 s, fewer samples and starts

It prints each figure as it is measured, then one table. Figures are for reading, not for
asserting (counts are checked exactly in tests/). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from _common import (
    azure_identity_home,
    cpu_seconds,
    fmt_s,
    load_average,
    machine_line,
    pct,
    report,
    rss_kib,
    say,
)

from jupyter_msal.client import ServerClient
from jupyter_msal.testing.server import JupyterServerProcess, emulator_environment

REPO = Path(__file__).resolve().parents[1]
STORAGE = "https://storage.azure.com/.default"
ADA = "ada@contoso.com"
TOKEN_PATH = "jupyter-msal/token"
SECRET_HEADER = "X-Jupyter-Msal-Secret"
CLIENTS = 8
CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"  # jupyter-msal's and azure-identity's default
BURST = 50


# ---------------------------------------------------------------------------------- formatting


def fmt_mb(kib: float) -> str:
    return f"{kib / 1024:.1f} MB"


def timed(fn: Callable[[], Any], n: int, warmup: int) -> list[float]:
    """Seconds taken by each of ``n`` calls of ``fn``, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    clock = time.perf_counter
    samples = []
    for _ in range(n):
        start = clock()
        fn()
        samples.append(clock() - start)
    return samples


def lat_s(samples: list[float]) -> str:
    return fmt_s(pct(samples, 50))


# ---------------------------------------------------------------------------------- processes


# ---------------------------------------------------------------------------------- REST clients


class TokenClient:
    """A kernel-authenticated keep-alive connection to ``POST jupyter-msal/token``."""

    def __init__(self, port: int, base_url: str, secret: str, scopes: list[str]) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.path = base_url + TOKEN_PATH
        self.body = json.dumps({"scopes": scopes}).encode()
        self.headers = {SECRET_HEADER: secret, "Content-Type": "application/json"}

    def token(self) -> dict[str, Any]:
        self.conn.request("POST", self.path, self.body, self.headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"POST {self.path} -> {response.status}: {data[:300]!r}")
        return json.loads(data)

    def close(self) -> None:
        self.conn.close()


def _load_worker(
    port: int, base_url: str, secret: str, duration: float, barrier: Any, results: Any
) -> None:
    """One client process of the throughput test (module level: used by ``spawn``)."""
    client = TokenClient(port, base_url, secret, [STORAGE])
    for _ in range(50):
        client.token()
    barrier.wait()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < duration:
        client.token()
        count += 1
    results.put((count, time.perf_counter() - start))
    client.close()


def throughput_threads(
    server_pid: int, port: int, secret: str, duration: float
) -> tuple[float, float]:
    """Tokens/s with CLIENTS threads in this process; and the server's CPU use (cores)."""
    clients = [TokenClient(port, "/", secret, [STORAGE]) for _ in range(CLIENTS)]
    for client in clients:
        for _ in range(20):
            client.token()
    barrier = threading.Barrier(CLIENTS + 1)
    counts = [0] * CLIENTS
    failures: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            end = time.perf_counter() + duration
            while time.perf_counter() < end:
                clients[i].token()
                counts[i] += 1
        except BaseException as err:
            failures.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    cpu0 = cpu_seconds(server_pid)
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    cpu = cpu_seconds(server_pid) - cpu0
    for client in clients:
        client.close()
    if failures:
        raise failures[0]
    return sum(counts) / elapsed, cpu / elapsed


def throughput_processes(
    server_pid: int, port: int, secret: str, duration: float
) -> tuple[float, float]:
    """Tokens/s with CLIENTS worker processes; and the server's CPU use (cores)."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(CLIENTS + 1)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_load_worker, args=(port, "/", secret, duration, barrier, results))
        for _ in range(CLIENTS)
    ]
    for proc in procs:
        proc.start()
    barrier.wait(timeout=120)
    cpu0, wall0 = cpu_seconds(server_pid), time.perf_counter()
    got = [results.get(timeout=duration + 60) for _ in procs]
    wall = time.perf_counter() - wall0
    cpu = cpu_seconds(server_pid) - cpu0
    for proc in procs:
        proc.join(30)
        if proc.exitcode != 0:
            raise RuntimeError(f"a load worker failed (exit code {proc.exitcode})")
    total = sum(count for count, _ in got)
    return total / statistics.mean(elapsed for _, elapsed in got), cpu / wall


# ---------------------------------------------------------------------------------- servers


def make_server(
    env: dict[str, str], workdir: Path, *, extension: bool = True, debug: bool = False
) -> JupyterServerProcess:
    """The shipped subprocess server, optionally without jupyter_msal or logging at DEBUG."""
    return JupyterServerProcess(
        env, workdir, extension=extension, log_level="DEBUG" if debug else None
    )


def sign_in(server: Any) -> dict[str, Any]:
    """A device-code sign-in through the REST API (the emulator auto-approves)."""
    client = ServerClient(server.url, jupyter_token=server.token)
    flow = client.start_sign_in("device_code", [STORAGE])
    client.wait_for_sign_in(flow)  # raises the typed error when it did not succeed
    return flow


# ---------------------------------------------------------------------------------- sections


class Bench:
    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.samples = 500 if quick else 2000
        self.duration = 2.0 if quick else 5.0
        self.starts = 1 if quick else 3
        self.rounds = 1 if quick else 2
        self.r: dict[str, Any] = {}
        self.notes: list[str] = []
        self.stack = contextlib.ExitStack()
        self.tmp = Path(self.stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-srv-")))

    # -- setup -----------------------------------------------------------------------------
    def start(self) -> None:
        from jupyter_msal.testing import EntraEmulator

        self.emu = EntraEmulator(device_code_interval=1).start()
        self.stack.callback(self.emu.stop)
        self.emu.auto_approve = ADA
        self.cache = self.tmp / "cache" / "token_cache.json"
        # IPYTHONDIR: the kernel that reads the secret must not create ~/.ipython.
        self.env = emulator_environment(self.emu, self.cache, IPYTHONDIR=str(self.tmp / "ipython"))
        self.server = make_server(self.env, self.tmp / "server").start()
        self.stack.callback(self.server.stop)
        started = time.perf_counter()
        sign_in(self.server)
        say(f"signed in through the REST API in {fmt_s(time.perf_counter() - started)}")
        self.secret = self.server.kernel_environment()["JUPYTER_MSAL_SERVER_SECRET"]
        self.pid = self.server.proc.pid

    def close(self) -> None:
        self.stack.close()

    # -- 1. latency ------------------------------------------------------------------------
    def rest_latency(self) -> None:
        client = TokenClient(self.server.port, "/", self.secret, [STORAGE])
        self.emu.reset_counts()
        client.token()  # the first token after a sign-in that asked for this very scope
        self.r["first_idp"] = self.emu.counts["token"]
        say(f"first REST token after the sign-in: {self.r['first_idp']} IdP token call(s)")
        self.emu.reset_counts()
        cpu0 = cpu_seconds(self.pid)
        samples = timed(client.token, self.samples, warmup=200)
        cpu = cpu_seconds(self.pid) - cpu0
        client.close()
        idp = self.emu.counts["token"]
        self.r["rest"] = samples
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        headers = {"Authorization": f"token {self.server.token}"}

        def status() -> None:
            conn.request("GET", "/api/status", headers=headers)
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status

        self.r["floor"] = timed(status, self.samples // 2, warmup=100)
        conn.close()
        self.r["rest_cpu"] = cpu / (self.samples + 200)
        say(
            f"REST cached token: median {fmt_s(pct(samples, 50))}, p95 {fmt_s(pct(samples, 95))}, "
            f"p99 {fmt_s(pct(samples, 99))} ({len(samples)} samples; server CPU "
            f"{fmt_s(self.r['rest_cpu'])}/request; IdP token calls during: {idp})"
        )
        say(f"for scale, jupyter_server's own GET api/status: median {lat_s(self.r['floor'])}")

    # -- 2. throughput ---------------------------------------------------------------------
    def throughput(self) -> None:
        rate, cores = throughput_threads(self.pid, self.server.port, self.secret, self.duration)
        self.r["tput_threads"] = (rate, cores)
        say(f"throughput, {CLIENTS} client threads: {rate:.0f} tokens/s (server {cores:.2f} cores)")
        rate, cores = throughput_processes(self.pid, self.server.port, self.secret, self.duration)
        self.r["tput_procs"] = (rate, cores)
        say(
            f"throughput, {CLIENTS} client processes: {rate:.0f} tokens/s "
            f"(server {cores:.2f} cores)"
        )

    # -- 3. side by side -------------------------------------------------------------------
    def raw_msal(self) -> None:
        import msal
        from msal_extensions import FilePersistence, PersistedTokenCache

        cache = PersistedTokenCache(FilePersistence(str(self.cache)))
        self.msal_app = msal.PublicClientApplication(
            CLIENT_ID,
            authority=self.emu.authority(),
            instance_discovery=False,
            http_client=self.emu.http_session(),
            token_cache=cache,
        )
        (self.msal_account,) = self.msal_app.get_accounts(username=ADA)

        def call() -> None:
            result = self.msal_app.acquire_token_silent([STORAGE], account=self.msal_account)
            if not result or "access_token" not in result:
                raise RuntimeError(f"raw msal: {result}")

        self.emu.reset_counts()
        self.r["msal"] = timed(call, self.samples, warmup=50)
        idp = self.emu.counts["token"]
        say(
            f"raw msal acquire_token_silent (same cache file): median "
            f"{fmt_s(pct(self.r['msal'], 50))}, p95 {fmt_s(pct(self.r['msal'], 95))} "
            f"(IdP token calls during: {idp})"
        )

    def token_service_on(self, cache_path: Path | str) -> Any:
        from jupyter_msal.config.settings import JupyterMsal
        from jupyter_msal.service import TokenService

        settings = JupyterMsal(
            authority=self.emu.authority(),
            instance_discovery=False,
            ca_bundle=self.emu.ca_bundle_path,
            cache_path=str(cache_path),
            cache_encryption="none",
            allowed_hosts=["127.0.0.1"],
        )
        service = TokenService(settings)
        self.stack.callback(service.close)
        return service

    def token_service(self) -> None:
        self.service = self.token_service_on(self.cache)
        self.emu.reset_counts()
        self.r["service"] = timed(lambda: self.service.acquire_token([STORAGE]), self.samples, 50)
        idp = self.emu.counts["token"]
        say(
            f"in-process TokenService.acquire_token: median {fmt_s(pct(self.r['service'], 50))}, "
            f"p95 {fmt_s(pct(self.r['service'], 95))} (IdP token calls during: {idp})"
        )

    def azure_credential(self, record: Any = None, *, persist: bool = True) -> Any:
        from azure.identity import DeviceCodeCredential, TokenCachePersistenceOptions

        def prompt(verification_uri: str, user_code: str, expires_on: Any) -> None:
            self.emu.approve(user_code, username=ADA)

        # With a record, the authority and tenant come from it (passing both is an error).
        where = {} if record else {"authority": f"127.0.0.1:{self.emu.port}"}
        return DeviceCodeCredential(
            tenant_id="organizations",
            **where,
            disable_instance_discovery=True,
            connection_verify=self.emu.ca_bundle_path,
            prompt_callback=prompt,
            authentication_record=record,
            cache_persistence_options=TokenCachePersistenceOptions(
                name="jupyter-msal-bench", allow_unencrypted_storage=True
            )
            if persist
            else None,
            timeout=60,
        )

    def _azure_sign_in(self, credential: Any) -> Any:
        """Device-code sign-in; prompt_callback approves the code with the emulator."""
        self.emu.auto_approve = None
        try:
            return credential.authenticate(scopes=[STORAGE])
        finally:
            self.emu.auto_approve = ADA

    def azure_identity(self) -> None:
        with azure_identity_home(self.tmp):
            started = time.perf_counter()
            record = self._azure_sign_in(self.azure_credential())
            say(f"azure-identity device-code sign-in: {fmt_s(time.perf_counter() - started)}")
            # A new credential from the record, as a restarted process would build it.
            self.azure = self.azure_credential(record)
            self.emu.reset_counts()
            self.azure.get_token(STORAGE)
            self.r["azure_first_idp"] = self.emu.counts["token"]
            self.emu.reset_counts()
            self.r["azure"] = timed(lambda: self.azure.get_token(STORAGE), self.samples, 50)
        idp = self.emu.counts["token"]
        say(
            f"azure-identity DeviceCodeCredential.get_token: median "
            f"{fmt_s(pct(self.r['azure'], 50))}, p95 {fmt_s(pct(self.r['azure'], 95))} "
            f"(IdP token calls during: {idp})"
        )

    # -- 4. IdP calls per burst -------------------------------------------------------------
    def burst(self) -> None:
        """BURST concurrent requests for a token that has just expired: refresh-token grants.

        Each round primes a scope nobody asked for yet with a token that lives 2 s longer than
        the 300 s refresh margin (so it is stale 2 s later), then fires BURST requests at once
        (threads in this process): through the REST API, at an in-process TokenService, at raw
        msal and at azure-identity. The last two use in-memory caches: with msal-extensions'
        PersistedTokenCache, threads of one process that write at once contend for its lock
        file (0.25 s polling, 5 s timeout) and fail with AlreadyLocked after minutes.
        """
        import msal

        memory_cache = msal.SerializableTokenCache()
        memory_cache.deserialize(self.cache.read_text())
        app = msal.PublicClientApplication(
            CLIENT_ID,
            authority=self.emu.authority(),
            instance_discovery=False,
            http_client=self.emu.http_session(),
            token_cache=memory_cache,
        )
        (account,) = app.get_accounts(username=ADA)
        with azure_identity_home(self.tmp):
            azure = self.azure_credential(persist=False)
            self._azure_sign_in(azure)
        # Its own copy of the cache: on the server's file it would just pick up the token the
        # server refreshed a moment earlier (as it should).
        service = self.token_service_on(shutil.copy(self.cache, self.tmp / "burst-cache.json"))
        callers: dict[str, Callable[[str], Callable[[], Any]]] = {
            "rest": self._rest_caller,
            "service": lambda scope: partial(service.acquire_token, [scope]),
            "msal": lambda scope: partial(app.acquire_token_silent, [scope], account=account),
            "azure": lambda scope: partial(azure.get_token, scope),
        }
        results: dict[str, list[int]] = {name: [] for name in callers}
        for round_no in range(self.rounds):
            scope = f"https://burst-{round_no}.example.com/.default"
            calls = {name: [make(scope) for _ in range(BURST)] for name, make in callers.items()}
            self.emu.access_token_lifetime = 302
            for batch in calls.values():
                with azure_identity_home(self.tmp):
                    batch[0]()
            self.emu.access_token_lifetime = 3600
            time.sleep(2.5)
            for name, batch in calls.items():
                with azure_identity_home(self.tmp):
                    results[name].append(self._fire(self.emu, batch))
        self.r["burst"] = results
        say(
            f"refresh-token grants per {BURST} concurrent requests for an expired token: "
            + ", ".join(f"{name} {counts}" for name, counts in results.items())
        )

    def _rest_caller(self, scope: str) -> Callable[[], Any]:
        client = TokenClient(self.server.port, "/", self.secret, [scope])
        client.conn.connect()
        self.stack.callback(client.close)
        return client.token

    @staticmethod
    def _fire(emu: Any, calls: list[Callable[[], Any]]) -> int:
        barrier = threading.Barrier(len(calls))
        failures: list[BaseException] = []

        def run(call: Callable[[], Any]) -> None:
            barrier.wait()
            try:
                call()
            except BaseException as err:
                failures.append(err)

        before = emu.counts["grant:refresh_token"]
        threads = [threading.Thread(target=run, args=(call,)) for call in calls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        if failures:
            raise failures[0]
        return emu.counts["grant:refresh_token"] - before

    # -- 5. memory -------------------------------------------------------------------------
    def memory(self) -> None:
        rows: dict[str, list[int]] = {"with": [], "with_used": [], "without": []}
        loads: list[float] = []
        for i in range(self.starts):
            for extension in (False, True):
                workdir = self.tmp / f"mem-{i}-{int(extension)}"
                env = dict(self.env, JUPYTER_MSAL_CACHE_PATH=str(workdir / "cache.json"))
                server = make_server(env, workdir, extension=extension, debug=True).start()
                try:
                    time.sleep(1.0)  # let start-up work (extension start hooks, GC) settle
                    server.request("GET", "api/status")
                    if not extension:
                        rows["without"].append(rss_kib(server.proc.pid))
                        continue
                    rows["with"].append(rss_kib(server.proc.pid))
                    sign_in(server)
                    server.request("POST", TOKEN_PATH, {"scopes": [STORAGE]})
                    time.sleep(0.3)
                    rows["with_used"].append(rss_kib(server.proc.pid))
                finally:
                    server.stop()
                if extension:
                    loads.append(self._load_from_log(server.workdir / "server.log"))
        self.r["rss"] = {k: statistics.median(v) for k, v in rows.items()}
        self.r["load_log"] = loads
        rss = self.r["rss"]
        say(
            f"RSS (median of {self.starts}): without extension {fmt_mb(rss['without'])}, with "
            f"{fmt_mb(rss['with'])} (+{fmt_mb(rss['with'] - rss['without'])}), after sign-in + "
            f"token {fmt_mb(rss['with_used'])} (+{fmt_mb(rss['with_used'] - rss['without'])})"
        )
        say(f"extension link + load from the server log: {[fmt_s(x) for x in loads]}")

    @staticmethod
    def _load_from_log(path: Path) -> float:
        """Seconds jupyter_msal's link and load steps take, from the server log's timestamps.

        Extensions are linked, then loaded, one after the other (sorted by name); each step ends
        with "<name> | extension was successfully linked." (or "loaded."). A step of
        jupyter_msal lasts from the end of the step before it (any extension's, or the last
        line before) to its own end line. Timestamps have ms resolution.
        """
        stamp = re.compile(r"^\[\w (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})")
        step = re.compile(r"(\S+) \| extension was successfully (linked|loaded)\.")
        last_line: datetime | None = None
        last_step: dict[str, datetime] = {}
        total = 0.0
        for line in path.read_text(errors="replace").splitlines():
            match = stamp.match(line)
            if not match:
                continue
            when = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S.%f")
            done = step.search(line)
            if done:
                name, kind = done.groups()
                if name == "jupyter_msal":
                    begin = last_step.get(kind, last_line)
                    assert begin is not None, line
                    total += (when - begin).total_seconds()
                last_step[kind] = when
            last_line = when
        return total

    # -- 6. load time ----------------------------------------------------------------------
    def load_time(self) -> None:
        script = REPO / "benchmarks" / "bench_server.py"
        runs = []
        for _ in range(self.starts):
            out = subprocess.run(
                [sys.executable, str(script), "--_load-probe"],
                env=dict(
                    self.env,
                    **{
                        f"JUPYTER_{kind}_DIR": str(self.tmp / "probe" / kind.lower())
                        for kind in ("CONFIG", "DATA", "RUNTIME")
                    },
                ),
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
                cwd=str(self.tmp),
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        self.r["load"] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        load = self.r["load"]
        say(
            f"in-process (median of {len(runs)}): import jupyter_msal.server.app after "
            f"jupyter_server {fmt_s(load['import'])}, link + load {fmt_s(load['link_load'])}"
        )
        imports = []
        for _ in range(self.starts):
            out = subprocess.run(
                [sys.executable, "-X", "importtime", "-c", "import jupyter_msal.server.app"],
                env=self.env,
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
                cwd=str(self.tmp),
            )
            imports.append(_importtime(out.stderr))
        self.r["importtime"] = {
            k: statistics.median(r[k] for r in imports) if k != "largest" else imports[0][k]
            for k in imports[0]
        }
        it = self.r["importtime"]
        say(
            "python -X importtime -c 'import jupyter_msal.server.app': cumulative "
            f"{fmt_s(it['total'])}; self time by package: "
            + ", ".join(f"{group} {fmt_s(it[group])}" for group in IMPORT_GROUPS)
            + f", jupyter_server + its deps + stdlib {fmt_s(it['other'])} (largest: "
            f"{it['largest']} {fmt_s(it['largest_s'])})"
        )

    # -- report ----------------------------------------------------------------------------
    def table(self) -> str:
        r = self.r

        def lat(key: str, p: float) -> str:
            return fmt_s(pct(r[key], p)) if key in r else "n/a"

        tt, tp = r["tput_threads"], r["tput_procs"]
        rss, load, it = r["rss"], r["load"], r["importtime"]
        burst = r["burst"]
        rows = [
            ("metric", "jupyter-msal", "raw msal", "azure-identity", "target"),
            (
                "cached token, median",
                f"{lat('rest', 50)} (REST)",
                lat("msal", 50),
                lat("azure", 50),
                "<= 3 ms",
            ),
            (
                "cached token, p95",
                f"{lat('rest', 95)} (REST)",
                lat("msal", 95),
                lat("azure", 95),
                "",
            ),
            (
                "cached token, in-process, median",
                lat("service", 50),
                lat("msal", 50),
                lat("azure", 50),
                "",
            ),
            ("server CPU per REST token", fmt_s(r["rest_cpu"]), "", "", ""),
            ("(GET api/status of jupyter_server)", f"{lat('floor', 50)} median", "", "", ""),
            (
                f"tokens/s, {CLIENTS} client processes",
                f"{tp[0]:.0f}/s (server {tp[1]:.2f} cores)",
                "",
                "",
                ">= 1000/s",
            ),
            (
                f"tokens/s, {CLIENTS} client threads, 1 proc",
                f"{tt[0]:.0f}/s (server {tt[1]:.2f} cores)",
                "",
                "",
                ">= 1000/s",
            ),
            (
                f"IdP refreshes per {BURST} concurrent",
                f"{', '.join(map(str, burst['rest']))} (REST), "
                f"{', '.join(map(str, burst['service']))} (in-process)",
                ", ".join(map(str, burst["msal"])),
                ", ".join(map(str, burst["azure"])),
                "1 (report only)",
            ),
            (
                "IdP calls, 1st token after sign-in",
                str(r["first_idp"]),
                "",
                str(r["azure_first_idp"]),
                "0",
            ),
            (
                "server RSS extra, after start",
                f"+{fmt_mb(rss['with'] - rss['without'])}",
                "",
                "",
                "<= 40 MB",
            ),
            (
                "server RSS extra, after sign-in + token",
                f"+{fmt_mb(rss['with_used'] - rss['without'])}",
                "",
                "",
                "<= 40 MB",
            ),
            (
                "extension import + link + load",
                fmt_s(load["import"] + load["link_load"]),
                "",
                "",
                "<= 300 ms",
            ),
            ("  of which import (jupyter_server loaded)", fmt_s(load["import"]), "", "", ""),
            ("  of which link + load (in-process)", fmt_s(load["link_load"]), "", "", ""),
            (
                "  of which link + load (server log)",
                fmt_s(statistics.median(r["load_log"])),
                "",
                "",
                "",
            ),
            ("-X importtime jupyter_msal.server.app", fmt_s(it["total"]), "", "", ""),
            ("  of which jupyter_msal's own modules", fmt_s(it["jupyter_msal"]), "", "", ""),
        ]
        widths = [max(len(row[i]) for row in rows) + 3 for i in range(5)]
        return "\n".join(
            "".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
        )


IMPORT_GROUPS = {
    "msal": ("msal", "msal_extensions", "portalocker"),
    "requests": ("requests", "urllib3", "charset_normalizer", "idna", "certifi"),
    "cryptography": ("cryptography", "cffi", "_cffi_backend"),
    "jupyter_msal": ("jupyter_msal",),
}  # fmt: skip


def _importtime(stderr: str) -> dict[str, float]:
    """Seconds of ``-X importtime`` output: the total, and self time grouped by package."""
    out = dict.fromkeys(IMPORT_GROUPS, 0.0) | {"total": 0.0}
    others: dict[str, float] = {}
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if not match:
            continue
        self_us, cumulative, indent, name = match.groups()
        if not indent:
            out["total"] += int(cumulative) / 1e6
        root = name.split(".")[0]
        group = next((g for g, roots in IMPORT_GROUPS.items() if root in roots), None)
        if group:
            out[group] += int(self_us) / 1e6
        else:
            others[root] = others.get(root, 0.0) + int(self_us) / 1e6
    out["other"] = sum(others.values())
    out["largest"] = max(others, key=others.__getitem__)  # type: ignore[assignment]
    out["largest_s"] = others[str(out["largest"])]
    return out


def _load_probe() -> None:
    """Child process: time importing and loading the extension into an initialized ServerApp."""
    import logging

    from jupyter_server.serverapp import ServerApp

    logging.disable(logging.INFO)
    serverapp = ServerApp()
    serverapp.initialize(
        argv=["--allow-root", "--ServerApp.jpserver_extensions={'jupyter_msal': False}"],
        find_extensions=False,
        new_httpserver=False,
    )
    start = time.perf_counter()
    from jupyter_msal.server.app import JupyterMsalApp

    imported = time.perf_counter()
    extension = JupyterMsalApp._load_jupyter_server_extension(serverapp)
    loaded = time.perf_counter()
    assert extension.service is not None
    assert any("jupyter-msal/token" in route[0] for route in extension.handlers)
    print(json.dumps({"import": imported - start, "link_load": loaded - imported}))


def machine_facts() -> str:
    import msal
    import msal_extensions

    try:
        import azure.identity

        azure_version = azure.identity.__version__
    except ImportError:
        azure_version = "not installed"
    import jupyter_server

    from jupyter_msal import __version__

    return (
        f"{machine_line()}, "
        f"jupyter-msal {__version__}, msal {msal.__version__}, msal-extensions "
        f"{msal_extensions.__version__}, azure-identity {azure_version}, "
        f"jupyter_server {jupyter_server.__version__}; load average {load_average()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples (about 30 s)")
    parser.add_argument("--_load-probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._load_probe:
        _load_probe()
        return 0
    started = time.perf_counter()
    say(f"machine: {machine_facts()}")
    bench = Bench(args.quick)
    try:
        bench.start()
        bench.rest_latency()
        bench.throughput()
        bench.raw_msal()
        bench.token_service()
        bench.azure_identity()
        bench.burst()
        bench.memory()
        bench.load_time()
    finally:
        bench.close()
    report(bench.table(), started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
