"""JupyterHub benchmarks: the jupyter-msal hub service under 50 users, and a user server's cost.

Everything runs on this machine: the Entra ID emulator (real TLS on 127.0.0.1), a real
JupyterHub with configurable-http-proxy and the jupyter-msal service
(``jupyter_msal.testing.hub.JupyterHubProcess``), 50 simulated users who log in through
OAuthenticator's Entra ID login but never start a server (hub "guests": no Linux users), and
``jupyter server`` subprocesses in hub mode. No traffic leaves loopback. From the repository
root (``scripts/ensure-hub`` installs the proxy)::

    python benchmarks/bench_hub.py            # about 2.5 minutes
    python benchmarks/bench_hub.py --quick    # about 70 s: shorter rounds, fewer starts

It prints each figure as it is measured, then one table and the machine facts. Figures are
for reading, not for asserting (counts are checked exactly in tests/). See
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from _common import (
    children,
    cpu_seconds,
    fmt_s,
    load_average,
    machine_line,
    pct,
    report,
    rss_kib,
    say,
)

REPO = Path(__file__).resolve().parents[1]
STORAGE = "https://storage.azure.com/.default"
USERS = [f"bench-user-{i:02d}" for i in range(50)]
PER_USER = 5  # concurrent requests per user in the single-flight round
MSAL_MARGIN = 300  # msal treats an access token as expired 5 minutes before its expiry


# ---------------------------------------------------------------------------------- formatting


def columns(rows: list[tuple[str, ...]]) -> list[str]:
    """Rows of cells as left-aligned columns."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


# ---------------------------------------------------------------------------------- clients


class User:
    """One simulated hub user: their API token and a keep-alive session to the service."""

    def __init__(self, name: str, token: str, service_url: str) -> None:
        import requests

        self.name = name
        self.url = service_url + "api/token"
        self.headers = {"Authorization": f"token {token}"}
        self._requests = requests
        #: keep-alive sessions, one per concurrent slot, kept from one round to the next
        self.sessions: list[Any] = []

    def session(self, slot: int) -> Any:
        while len(self.sessions) <= slot:
            session = self._requests.Session()
            session.trust_env = False  # no proxies, no REQUESTS_CA_BUNDLE: plain loopback
            self.sessions.append(session)
        return self.sessions[slot]

    def token(self, slot: int = 0) -> float:
        """One ``POST api/token``; its latency in seconds (raises on anything but a token)."""
        start = time.perf_counter()
        answer = self.session(slot).post(
            self.url, json={"scopes": [STORAGE]}, headers=self.headers, timeout=60
        )
        elapsed = time.perf_counter() - start
        if answer.status_code != 200:
            raise RuntimeError(f"{self.name}: HTTP {answer.status_code} {answer.text[:300]}")
        data = answer.json()
        if data.get("account", {}).get("username") != self.name or not data.get("access_token"):
            raise RuntimeError(f"{self.name} got someone else's token or none: {data!r:.300}")
        return elapsed


def fire(users: list[User], per_user: int, duration: float = 0.0) -> dict[str, Any]:
    """``per_user`` threads for each user, released at once; each sends one request, or
    requests until ``duration`` seconds have passed. Wall time, latencies, errors."""
    jobs = [(user, slot) for user in users for slot in range(per_user)]
    for user, slot in jobs:
        user.session(slot)  # created before the start
    barrier = threading.Barrier(len(jobs) + 1)
    latencies: list[list[float]] = [[] for _ in jobs]
    errors: list[BaseException] = []
    done: list[float] = []

    def run(i: int) -> None:
        user, slot = jobs[i]
        barrier.wait()
        try:
            end = time.perf_counter() + duration
            while True:
                latencies[i].append(user.token(slot))
                if time.perf_counter() >= end:
                    break
        except BaseException as err:
            errors.append(err)
        done.append(time.perf_counter())

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = max(done) - start
    flat = [x for lat in latencies for x in lat]
    return {"wall": wall, "latencies": flat, "n": len(flat), "errors": errors}


# ---------------------------------------------------------------------------------- user servers


class TimedServer:
    """``python -m jupyter_server`` as ``JupyterServerProcess`` runs it, timed from the
    launch until ``GET api/status`` answers (polled every 10 ms)."""

    def __init__(
        self, env: dict[str, str], workdir: Path, *, extension: bool, importtime: bool = False
    ) -> None:
        from jupyter_msal.testing.server import JupyterServerProcess

        self.python = [sys.executable, "-X", "importtime"] if importtime else [sys.executable]

        # writes the config: jpserver_extensions {"jupyter_msal": extension} in
        # JUPYTER_CONFIG_DIR (above the sys-prefix file that enables it)
        self.server = JupyterServerProcess(env, workdir, extension=extension)

    def start(self, timeout: float = 60) -> tuple[float, float]:
        """Seconds until it answers, and the CPU seconds it used until then."""
        from jupyter_msal.testing.server import free_port

        server = self.server
        server.port = free_port()
        with open(server.workdir / "server.log", "ab") as log:
            started = time.perf_counter()
            server.proc = subprocess.Popen(
                [
                    *self.python, "-m", "jupyter_server", "--no-browser", "--allow-root",
                    f"--ServerApp.port={server.port}", "--ServerApp.port_retries=0",
                    "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={server.workdir / 'root'}",
                    f"--IdentityProvider.token={server.token}",
                ],
                env=server.env, stdout=log, stderr=subprocess.STDOUT,
                cwd=str(server.workdir / "root"),
            )  # fmt: skip
        deadline = started + timeout
        while True:
            if server.proc.poll() is not None:
                raise RuntimeError(f"jupyter server exited:\n{server.log()}")
            try:
                server.request("GET", "api/status", timeout=5)
                return time.perf_counter() - started, cpu_seconds(server.proc.pid)
            except (OSError, urllib.error.HTTPError):
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"jupyter server did not start:\n{server.log()}") from None
                time.sleep(0.01)

    def stop(self) -> None:
        self.server.stop()


#: Child process: an initialized ServerApp (no other extensions, no HTTP server), then the
#: extension's import and link + load timed, as jupyter_server does them at start.
LOAD_PROBE = """
import json, logging, sys, time
from jupyter_server.serverapp import ServerApp
logging.disable(logging.INFO)
app = ServerApp()
app.initialize(argv=["--allow-root", "--ServerApp.jpserver_extensions={'jupyter_msal': False}"],
               find_extensions=False, new_httpserver=False)
before = set(sys.modules)
t0 = time.perf_counter()
from jupyter_msal.server.app import JupyterMsalApp
t1 = time.perf_counter()
ext = JupyterMsalApp._load_jupyter_server_extension(app)
t2 = time.perf_counter()
assert ext.service is not None and ext.service.hub is not None, "not in hub mode"
print(json.dumps({"import": t1 - t0, "link_load": t2 - t1,
                  "modules": len(set(sys.modules) - before)}))
"""


# ---------------------------------------------------------------------------------- sections


class Bench:
    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.warm_duration = 2.0 if quick else 5.0
        self.starts = 2 if quick else 5
        self.r: dict[str, Any] = {}
        self.stack = contextlib.ExitStack()
        self.tmp = Path(self.stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-hub-")))

    def close(self) -> None:
        self.stack.close()

    # -- setup -----------------------------------------------------------------------------
    def start(self) -> None:
        from jupyter_msal.testing import EntraEmulator
        from jupyter_msal.testing.hub import JupyterHubProcess

        self.emu = EntraEmulator().start()
        self.stack.callback(self.emu.stop)
        # as Entra does: a refresh token is rotated at each use, and an old one refused
        self.emu.refresh_token_single_use = True
        started = time.perf_counter()
        self.hub = JupyterHubProcess(self.emu, self.tmp / "hub", users=[], guests=USERS)
        self.stack.callback(self.hub.close)
        self.hub.start()
        self.r["hub_start"] = time.perf_counter() - started
        say(f"hub, proxy and jupyter-msal service started in {fmt_s(self.r['hub_start'])}")
        assert self.hub._process is not None
        hub_pid = self.hub._process.pid
        self.pids = {"hub": hub_pid}
        for pid in children(hub_pid):
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            if b"jupyter_msal.hub" in cmd:
                self.pids["service"] = pid
            elif b"configurable-http-proxy" in cmd:
                self.pids["proxy"] = pid
        assert set(self.pids) == {"hub", "service", "proxy"}, self.pids
        started = time.perf_counter()
        for name in USERS:
            self.hub.login(name).close()  # OAuthenticator's Entra ID login at the emulator
        self.r["logins"] = time.perf_counter() - started
        with_rt = sum(
            bool(self.hub.user_model(n)["auth_state"].get("refresh_token")) for n in USERS
        )
        self.users = [User(n, self.hub.user_token(n), self.hub.service_url) for n in USERS]
        say(
            f"{len(USERS)} users logged in at the hub in {fmt_s(self.r['logins'])} "
            f"({with_rt} with a refresh token in auth_state), one API token each"
        )

    # -- rounds ----------------------------------------------------------------------------
    def _round(self, key: str, label: str, per_user: int, duration: float = 0.0) -> None:
        self.emu.reset_counts()
        cpu0 = {k: cpu_seconds(pid) for k, pid in self.pids.items()}
        out = fire(self.users, per_user, duration)
        out["cores"] = {
            k: (cpu_seconds(pid) - cpu0[k]) / out["wall"] for k, pid in self.pids.items()
        }
        counts = self.emu.counts
        out["refresh"] = counts["grant:refresh_token"]
        out["idp"] = counts["token"]
        out["rate"] = out["n"] / out["wall"]
        self.r[key] = out
        lat = out["latencies"]
        say(
            f"{label}: {out['n']} tokens in {fmt_s(out['wall'])}, {out['rate']:.0f} tokens/s, "
            f"p50 {fmt_s(pct(lat, 50))}, p95 {fmt_s(pct(lat, 95))}, max {fmt_s(max(lat))}; "
            f"IdP refresh-token grants {out['refresh']} (token endpoint {out['idp']}); "
            f"errors {len(out['errors'])}; CPU: service {out['cores']['service']:.2f} cores, hub "
            f"{out['cores']['hub']:.2f}, proxy {out['cores']['proxy']:.2f}"
        )
        for err in out["errors"][:3]:
            say(f"  error: {err}")

    def _wait_until_due(self, issued_by: float, lifetime: int) -> None:
        """Sleep until every token issued before ``issued_by`` (time.time()) is due in msal."""
        due = issued_by + (lifetime - MSAL_MARGIN) + 1.5
        pause = max(0.0, due - time.time())
        say(f"  waiting {pause:.1f} s until the cached tokens are due for refresh")
        time.sleep(pause)

    def rounds(self) -> None:
        emu = self.emu
        # Tokens of round 1 must stay good through round 2 and be due before round 3:
        # msal refreshes once fewer than 300 s are left.
        first_life = MSAL_MARGIN + int(self.warm_duration) + 10
        emu.access_token_lifetime = first_life
        self._round("cold", "round 1, cold (50 users, 1 request each at once)", 1)
        cold_end = time.time()
        self._round(
            "warm",
            f"round 2, warm (50 users, 1 thread each, {self.warm_duration:.0f} s)",
            1,
            self.warm_duration,
        )
        second_life = MSAL_MARGIN + 5
        emu.access_token_lifetime = second_life
        self._wait_until_due(cold_end, first_life)
        self._round("expired", "round 3, after expiry (50 users, 1 request each at once)", 1)
        expired_end = time.time()
        emu.access_token_lifetime = 3600
        self._wait_until_due(expired_end, second_life)
        self._round(
            "flight",
            f"round 4, after expiry (50 users x {PER_USER} requests at once = "
            f"{len(USERS) * PER_USER})",
            PER_USER,
        )
        self._round(
            "warm5",
            f"round 5, warm (50 users x {PER_USER} threads, {self.warm_duration:.0f} s)",
            PER_USER,
            self.warm_duration,
        )

    # -- user servers ----------------------------------------------------------------------
    def _service_requests(self) -> int:
        """Requests the jupyter-msal service has logged so far (its access log, in the hub's)."""
        return len(re.findall(r" (?:GET|POST) /services/jupyter-msal/api/", self.hub.log()))

    def servers(self) -> None:
        name = USERS[0]
        # what the hub gives its user servers (JupyterHubProcess's Spawner.environment and
        # enable(c)'s additions), JupyterHub's own token of the server: here a token of the user
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("JUPYTER_MSAL_", "JUPYTERHUB_", "JPY_"))
        }
        env.update(
            JUPYTER_MSAL_AUTHORITY=self.hub.authority,
            JUPYTER_MSAL_CA_BUNDLE=str(self.hub.ca_path),
            JUPYTER_MSAL_INSTANCE_DISCOVERY="false",
            JUPYTER_MSAL_ALLOWED_HOSTS="127.0.0.1,localhost",
            JUPYTER_MSAL_HTTP_TIMEOUT="8",
            # a per-user key as docs/jupyterhub.md derives it (a Fernet key: no scrypt)
            JUPYTER_MSAL_CACHE_KEY=base64.urlsafe_b64encode(
                hashlib.sha256(b"bench").digest()
            ).decode(),
            JUPYTER_MSAL_HUB_SERVICE_URL=self.hub.service_url,
            JUPYTERHUB_API_TOKEN=self.hub.user_token(name),
            IPYTHONDIR=str(self.tmp / "ipython"),
        )
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(self.bytecode_env())
        # one start, not counted, fills that bytecode cache
        warm = TimedServer(env, self.tmp / "server-warmup", extension=True)
        try:
            warm.start()
        finally:
            warm.stop()
        times: dict[bool, list[float]] = {True: [], False: []}
        cpus: dict[bool, list[float]] = {True: [], False: []}
        rss: dict[bool, list[int]] = {True: [], False: []}
        rss_token: list[int] = []
        calls_at_start = 0
        for i in range(self.starts):
            for extension in (False, True):  # alternate: load drifts hit both alike
                workdir = self.tmp / f"server-{int(extension)}-{i}"
                server = TimedServer(env, workdir, extension=extension)
                before = self._service_requests()
                try:
                    wall, cpu = server.start()
                    times[extension].append(wall)
                    cpus[extension].append(cpu)
                    time.sleep(1.0)
                    rss[extension].append(rss_kib(server.server.proc.pid))
                    calls_at_start += self._service_requests() - before
                    if extension:
                        status = server.server.request("GET", "jupyter-msal/status")
                        assert status["hub"]["account"] == name, status["hub"]
                        token = server.server.request(
                            "POST", "jupyter-msal/token", {"scopes": [STORAGE]}
                        )
                        assert token["account"]["username"] == name, token["account"]
                        rss_token.append(rss_kib(server.server.proc.pid))
                    else:
                        with contextlib.suppress(urllib.error.HTTPError):
                            server.server.request("GET", "jupyter-msal/status")
                            raise RuntimeError("jupyter_msal answered with the extension off")
                finally:
                    server.stop()
        self.r["start"] = {k: statistics.median(v) for k, v in times.items()}
        self.r["start_all"] = times
        self.r["start_cpu"] = {k: statistics.median(v) for k, v in cpus.items()}
        self.r["rss"] = {k: statistics.median(v) for k, v in rss.items()}
        self.r["rss_token"] = statistics.median(rss_token)
        self.r["calls_at_start"] = calls_at_start
        self.server_env = env
        say(
            f"user server start (until api/status answers), median of {self.starts}: "
            f"with {fmt_s(self.r['start'][True])}, without {fmt_s(self.r['start'][False])} "
            f"(all: with {[fmt_s(x) for x in times[True]]}, "
            f"without {[fmt_s(x) for x in times[False]]}); CPU time of the server until "
            f"then: with {fmt_s(self.r['start_cpu'][True])}, without "
            f"{fmt_s(self.r['start_cpu'][False])}"
        )
        say(
            f"user server RSS 1 s after start: with {self.r['rss'][True] / 1024:.1f} MB, "
            f"without {self.r['rss'][False] / 1024:.1f} MB; with, after status + one token "
            f"through the hub: {self.r['rss_token'] / 1024:.1f} MB; requests to the hub "
            f"service during the starts: {calls_at_start}"
        )

    def bytecode_env(self) -> dict[str, str]:
        """Child processes keep compiled bytecode (in a cache of ours), as an installed
        package has it: PYTHONDONTWRITEBYTECODE, set on some machines, would have every
        start compile jupyter_msal's modules again (about 30 ms here)."""
        return {"PYTHONPYCACHEPREFIX": str(self.tmp / "pycache")}

    def load_probe(self) -> None:
        """The extension's own part of a start, in-process: import, link + load (hub mode)."""
        env = dict(self.server_env)
        for sub in ("config", "data", "runtime"):
            (self.tmp / "probe" / sub).mkdir(parents=True, exist_ok=True)
            env[f"JUPYTER_{sub.upper()}_DIR"] = str(self.tmp / "probe" / sub)
        runs = []
        for _ in range(self.starts):
            out = subprocess.run(
                [sys.executable, "-c", LOAD_PROBE],
                env=env, capture_output=True, text=True, check=True, cwd=self.tmp,
            )  # fmt: skip
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        self.r["probe"] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        probe = self.r["probe"]
        say(
            f"extension in-process (ServerApp initialized, no other extensions), median of "
            f"{len(runs)}: import {fmt_s(probe['import'])} ({probe['modules']:.0f} new modules), "
            f"link + load {fmt_s(probe['link_load'])}"
        )

    def start_imports(self) -> None:
        """Modules a real start imports with the extension and not without (-X importtime
        of one start each, all the installed extensions loading): their self time."""
        seen: dict[bool, dict[str, int]] = {}
        for extension in (False, True):
            workdir = self.tmp / f"importtime-{int(extension)}"
            server = TimedServer(self.server_env, workdir, extension=extension, importtime=True)
            try:
                server.start()
            finally:
                server.stop()
            seen[extension] = _self_times(server.server.log(tail=10**8))
        extra = {m: us for m, us in seen[True].items() if m not in seen[False]}
        groups: dict[str, int] = {}
        for name, us in extra.items():
            groups[name.split(".")[0]] = groups.get(name.split(".")[0], 0) + us
        self.r["start_extra"] = (
            sum(extra.values()) / 1e6,
            len(extra),
            sum(seen[False].values()) / 1e6,
            sorted(groups.items(), key=lambda kv: -kv[1]),
        )
        total, count, base, ordered = self.r["start_extra"]
        top = ", ".join(f"{k} {v / 1e3:.0f} ms" for k, v in ordered[:8])
        say(
            f"-X importtime of a real start: the extension adds {count} modules, "
            f"{fmt_s(total)} of import self time (all imports without it: {fmt_s(base)}); "
            f"by package: {top}"
        )

    def import_time(self) -> None:
        """What importing the extension adds once jupyter_server is imported (-X importtime)."""
        code = "import jupyter_server.serverapp; import jupyter_msal.server.app"
        rows: list[tuple[int, int, str]] = []
        for _ in range(3 if not self.quick else 1):
            out = subprocess.run(
                [sys.executable, "-X", "importtime", "-c", code],
                capture_output=True, text=True, check=True, cwd=self.tmp, env=self.server_env,
            )  # fmt: skip
            rows.append(_extension_imports(out.stderr))
        # the run with the median total
        rows.sort(key=lambda row: row[0])
        total, groups = rows[len(rows) // 2]
        self.r["import_total"] = total / 1e6
        self.r["import_groups"] = groups
        top = ", ".join(f"{k} {v / 1e3:.0f} ms" for k, v in groups[:6])
        say(
            f"-X importtime: import jupyter_msal.server.app after jupyter_server.serverapp "
            f"adds {total / 1e3:.0f} ms (self time by package: {top})"
        )

    # -- report ----------------------------------------------------------------------------
    def table(self) -> str:
        r = self.r
        rows = [("round", "requests", "wall", "tokens/s", "p50", "p95", "IdP refreshes",
                 "expected")]  # fmt: skip
        for key, label, expected in (
            ("cold", "1 cold: 50 users x 1", "50 (1/user)"),
            ("warm", f"2 warm: 50 users x 1, {self.warm_duration:.0f} s", "0"),
            ("expired", "3 expired: 50 users x 1", "50 (1/user)"),
            ("flight", f"4 expired: 50 users x {PER_USER} at once", "50 (1/user)"),
            ("warm5", f"5 warm: 50 users x {PER_USER}, {self.warm_duration:.0f} s", "0"),
        ):
            out = r[key]
            lat = out["latencies"]
            errors = f" ({len(out['errors'])} errors)" if out["errors"] else ""
            rows.append(
                (
                    label,
                    f"{out['n']}{errors}",
                    fmt_s(out["wall"]),
                    f"{out['rate']:.0f}/s",
                    fmt_s(pct(lat, 50)),
                    fmt_s(pct(lat, 95)),
                    str(out["refresh"]),
                    expected,
                )
            )
        lines = columns(rows)
        start, rss = r["start"], r["rss"]
        d_start = start[True] - start[False]
        d_rss = (rss[True] - rss[False]) / 1024
        d_tok = (r["rss_token"] - rss[False]) / 1024
        server = [
            ("user server (hub mode)", "with jupyter_msal", "without", "extra", "target"),
            (
                f"start until it answers, median of {self.starts}",
                fmt_s(start[True]),
                fmt_s(start[False]),
                f"{d_start * 1e3:+.0f} ms",
                "<= +150 ms",
            ),
            (
                "  CPU time used until it answers, median",
                fmt_s(r["start_cpu"][True]),
                fmt_s(r["start_cpu"][False]),
                f"{(r['start_cpu'][True] - r['start_cpu'][False]) * 1e3:+.0f} ms",
                "",
            ),
            (
                "RSS 1 s after start, median",
                f"{rss[True] / 1024:.1f} MB",
                f"{rss[False] / 1024:.1f} MB",
                f"{d_rss:+.1f} MB",
                "<= +15 MB",
            ),
            (
                "RSS after status + 1 token via the hub",
                f"{r['rss_token'] / 1024:.1f} MB",
                "",
                f"{d_tok:+.1f} MB",
                "",
            ),
            ("hub service requests during starts", str(r["calls_at_start"]), "", "", "0"),
            (
                "extension import, in-process",
                fmt_s(r["probe"]["import"]),
                "",
                f"{r['probe']['modules']:.0f} modules",
                "",
            ),
            ("extension link + load, in-process", fmt_s(r["probe"]["link_load"]), "", "", ""),
            (
                "imports a real start adds (self time)",
                fmt_s(r["start_extra"][0]),
                "",
                f"{r['start_extra'][1]} modules",
                "",
            ),
            ("-X importtime after jupyter_server", fmt_s(r["import_total"]), "", "", ""),
        ]
        lines += ["", *columns(server)]
        top = ", ".join(f"{k} {v / 1e3:.0f} ms" for k, v in r["start_extra"][3][:8])
        lines.append(f"  (imports a real start adds, self time by package: {top})")
        return "\n".join(lines)


def _self_times(text: str) -> dict[str, int]:
    """Module -> self time (µs) from ``-X importtime`` lines anywhere in ``text``."""
    out: dict[str, int] = {}
    for match in re.finditer(r"import time:\s+(\d+) \|\s+\d+ \| \s*(\S+)", text):
        out[match.group(2)] = int(match.group(1))
    return out


def _extension_imports(stderr: str) -> tuple[int, list[tuple[str, int]]]:
    """From ``-X importtime`` of ``import jupyter_server.serverapp; import
    jupyter_msal.server.app``: µs the second import adds, and its self time by top package."""
    entries = []
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if match:
            self_us, cumulative, indent, name = match.groups()
            entries.append((int(self_us), int(cumulative), len(indent), name))
    # entries are printed when each import finishes: the last top-level one is the extension
    # (or its first top-level ancestor), and everything since the previous top-level entry is
    # its subtree
    tops = [i for i, e in enumerate(entries) if e[2] == 0]
    end = tops[-1]
    start = next((i for i in reversed(tops[:-1]) if "jupyter_server" in entries[i][3]), -1)
    subtree = entries[start + 1 : end + 1]
    total = sum(e[1] for e in subtree if e[2] == 0)
    groups: dict[str, int] = {}
    for self_us, _, _, name in subtree:
        root = name.split(".")[0]
        groups[root] = groups.get(root, 0) + self_us
    return total, sorted(groups.items(), key=lambda kv: -kv[1])


def machine_facts() -> str:
    import jupyter_server
    import jupyterhub
    import msal
    import oauthenticator
    import tornado

    from jupyter_msal import __version__

    return (
        f"{machine_line()}, "
        f"jupyter-msal {__version__}, msal {msal.__version__}, jupyterhub "
        f"{jupyterhub.__version__}, oauthenticator {oauthenticator.__version__}, "
        f"jupyter_server {jupyter_server.__version__}, tornado {tornado.version}; "
        f"load average {load_average()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter rounds, 2 server starts")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    say(f"machine: {machine_facts()}")
    bench = Bench(args.quick)
    try:
        bench.start()
        bench.rounds()
        bench.servers()
        bench.load_probe()
        bench.start_imports()
        bench.import_time()
    finally:
        bench.close()
    report(bench.table(), started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
