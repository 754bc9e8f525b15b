"""The reliability figures, with the numbers of trials the test suite cannot afford.

::

    python benchmarks/reliability.py kill9 --trials 1000   # writers killed at random points
    python benchmarks/reliability.py fuzz --examples 300   # schemathesis on the REST API

``kill9``: each trial starts a writer process that adds accounts to the token cache as fast
as it can and prints each one once its save is on disk, kills it with SIGKILL at a random
moment (0 to 250 ms after it is ready; half the trials with a ``cache_key``), then opens the
cache: it must open without a warning or a file moved aside (0 corrupt) and hold every
account the writer reported saved (0 lost). The next trial's writer starts on the lock file
the killed one left behind.

``fuzz``: a Jupyter server with the extension on the emulator, one account signed in, and
schemathesis generating ``--examples`` requests per operation from the served OpenAPI document,
checking that no answer is a 5xx and that each conforms to the document; the server log must
hold no 500 and no traceback. The identity provider (the emulator) is up, so a 5xx is a bug.

Everything runs on 127.0.0.1 in temporary folders. Prints the figures; exits 1 on a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]

_WRITER = r"""
import base64, json, sys, time
sys.path[:0] = [sys.argv[1]]
from jupyter_msal.cache import open_token_cache

path, key, name = sys.argv[2], sys.argv[3] or None, sys.argv[4]
tenant, host = "00000000-0000-4000-8000-0000000000aa", "login.microsoftonline.com"

def b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

def event(user):
    claims = {"oid": user, "tid": tenant, "preferred_username": f"{user}@example.com"}
    return {
        "client_id": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        "scope": ["https://storage.azure.com/user_impersonation"],
        "token_endpoint": f"https://{host}/{tenant}/oauth2/v2.0/token",
        "environment": host, "grant_type": "refresh_token", "data": {},
        "response": {
            "token_type": "Bearer", "scope": "https://storage.azure.com/user_impersonation",
            "expires_in": 3600, "access_token": f"AT-{user}", "refresh_token": f"RT-{user}",
            "id_token": ".".join([b64({"alg": "none"}), b64(claims), "c2ln"]),
            "client_info": b64({"uid": user, "utid": tenant}),
        },
    }

handle = open_token_cache(path, encryption="none" if key is None else "auto", key=key)
print("ready", flush=True)
n = 0
while True:
    user = f"{name}-{n}"
    handle.cache.add(event(user))
    if handle.cache.unsaved_changes == 0:  # on disk (not waiting in memory for the lock)
        print(user, flush=True)
    n += 1
"""


def kill9(trials: int, seed: int) -> bool:
    """Writers killed at random points; True when nothing was corrupt or lost."""
    sys.path.insert(0, str(REPO))
    import msal

    from jupyter_msal.cache import open_token_cache

    rng = random.Random(seed)
    corrupt = lost = stale_locks = 0
    saved_total = 0
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kill9-") as tmp:
        script = Path(tmp, "writer.py")
        script.write_text(_WRITER)
        for trial in range(trials):
            key = "kill-9 trials" if trial % 2 else None
            folder = Path(tmp, f"c{trial % 2}")
            path = folder / "token_cache.bin"
            child = subprocess.Popen(
                [sys.executable, str(script), str(REPO), str(path), key or "", f"t{trial}"],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,  # "Removed a stale token cache lock", once a trial
                text=True,
            )
            assert child.stdout is not None
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError("the writer did not start")
            time.sleep(rng.uniform(0.0, 0.25))
            child.send_signal(signal.SIGKILL)
            child.wait(10)
            saved = {line.strip() + "@example.com" for line in child.stdout if line.strip()}
            stale_locks += Path(f"{path}.lockfile").exists()
            reader = open_token_cache(path, encryption="none" if key is None else "auto", key=key)
            accounts = {
                a["username"] for a in reader.cache.search(msal.TokenCache.CredentialType.ACCOUNT)
            }
            corrupt += bool(reader.warnings) or bool(list(folder.glob("*.corrupt-*")))
            lost += len(saved - accounts)
            saved_total += len(saved)
            if trial % 100 == 99:
                print(
                    f"  {trial + 1} trials: corrupt {corrupt}, lost {lost}, "
                    f"{time.monotonic() - started:.0f} s",
                    flush=True,
                )
    print(
        f"kill -9 trials: {trials} ({trials // 2} with a cache_key), corrupt {corrupt}, "
        f"lost {lost} of {saved_total} saved accounts, kills that left a lock file: "
        f"{stale_locks}, {time.monotonic() - started:.0f} s"
    )
    return corrupt == 0 and lost == 0


def fuzz(examples: int, seed: int) -> bool:
    """schemathesis against a real server; True when every operation passed."""
    from jupyter_msal.client import ServerClient
    from jupyter_msal.constants import SERVER_SECRET_ENV
    from jupyter_msal.testing import DEFAULT_USERNAME, EntraEmulator
    from jupyter_msal.testing.server import JupyterServerProcess, emulator_environment

    with (
        tempfile.TemporaryDirectory(prefix="fuzz-") as tmp,
        EntraEmulator(device_code_interval=1) as emulator,
    ):
        work = Path(tmp)
        env = emulator_environment(emulator, work / "cache" / "token_cache.bin")
        server = JupyterServerProcess(env, work / "server").start()
        try:
            client = ServerClient(server.url, jupyter_token=server.token)
            flow = client.start_sign_in("device_code")
            emulator.approve(flow["user_code"])
            client.wait_for_sign_in(flow)
            emulator.auto_approve = DEFAULT_USERNAME
            secret = server.kernel_environment()[SERVER_SECRET_ENV]
            report = work / "schemathesis.xml"
            executable = shutil.which("schemathesis") or shutil.which("st")
            command = [executable] if executable else [sys.executable, "-m", "schemathesis.cli"]
            started = time.monotonic()
            result = subprocess.run(
                [
                    *command, "run", f"{server.url}jupyter-msal/openapi.json",
                    "-H", f"Authorization: token {server.token}",
                    "-H", f"X-Jupyter-Msal-Secret: {secret}",
                    "--checks",
                    "not_a_server_error,status_code_conformance,content_type_conformance",
                    "--max-examples", str(examples), "--seed", str(seed),
                    "--request-timeout", "40", "--max-response-time", "35",
                    "--suppress-health-check", "all",
                    "--report", "junit,har", "--report-junit-path", str(report),
                    "--report-har-path", str(work / "schemathesis.har"),
                ],
                capture_output=True, text=True, timeout=7200, cwd=work,
            )  # fmt: skip
            elapsed = time.monotonic() - started
            log = server.log(tail=5_000_000)
        finally:
            server.stop()
        output = result.stdout + result.stderr
        suite = ET.parse(report).getroot()
        if suite.tag == "testsuites":
            (suite,) = suite.findall("testsuite")
        cases = suite.findall("testcase")
        bad = [
            c.get("name")
            for c in cases
            if c.find("failure") is not None or c.find("error") is not None
        ]
        tail = [line for line in output.strip().splitlines() if line.strip()][-12:]
        print("\n".join(tail))
        per_operation, five_xx = _answers_per_operation(work / "schemathesis.har")
        others: Counter[int] = Counter()
        for operation, statuses in sorted(per_operation.items()):
            if operation.split()[0] not in {"GET", "POST", "DELETE"}:
                others.update(statuses)  # schemathesis probes undocumented methods too
                continue
            shown = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
            print(f"  {operation:42} {sum(statuses.values()):5} requests ({shown})")
        print(f"  other methods {sum(others.values())} requests ({dict(sorted(others.items()))})")
        print(f"5xx answers: {five_xx}")
        server_errors = log.count(" 500 ") + log.count("Traceback")
        print(
            f"schemathesis: {len(cases)} operations (incl. the stateful phase), "
            f"--max-examples {examples}, failed or errored: {bad or 0}, "
            f"500s or tracebacks in the server log: {server_errors}, "
            f"exit {result.returncode}, {elapsed:.0f} s"
        )
        summary = {
            "operations": len(cases),
            "failed": bad,
            "server_errors": server_errors,
            "5xx": five_xx,
        }
        print(json.dumps(summary))
        return result.returncode == 0 and not bad and server_errors == 0 and five_xx == 0


_OPERATIONS = (
    (re.compile(r"/sign-ins/[^/]+/response$"), "/sign-ins/{flow_id}/response"),
    (re.compile(r"/sign-ins/[^/]+$"), "/sign-ins/{flow_id}"),
    (re.compile(r"/accounts/[^/]+$"), "/accounts/{account}"),
)


def _answers_per_operation(har: Path) -> tuple[dict[str, Counter[int]], int]:
    """``METHOD /path-template`` -> statuses answered, and how many answers were 5xx."""
    entries = json.loads(har.read_text())["log"]["entries"]
    per_operation: dict[str, Counter[int]] = defaultdict(Counter)
    for entry in entries:
        path = urlsplit(entry["request"]["url"]).path.split("/jupyter-msal", 1)[-1] or "/"
        for pattern, template in _OPERATIONS:
            if pattern.search(path):
                path = template
                break
        status = int(entry["response"]["status"])
        per_operation[f"{entry['request']['method']} {path}"][status] += 1
    five_xx = sum(n for c in per_operation.values() for code, n in c.items() if code >= 500)
    return per_operation, five_xx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    k = sub.add_parser("kill9", help="writers killed at random points")
    k.add_argument("--trials", type=int, default=1000)
    k.add_argument("--seed", type=int, default=1234)
    f = sub.add_parser("fuzz", help="schemathesis on the REST API")
    f.add_argument("--examples", type=int, default=300)
    f.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if os.name == "nt" and args.what == "kill9":
        sys.exit("kill9 needs POSIX signals")
    ok = kill9(args.trials, args.seed) if args.what == "kill9" else fuzz(args.examples, args.seed)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
