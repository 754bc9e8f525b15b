"""Kernel-side figures of jupyter-msal next to raw msal and azure-identity, on the emulator.

Run:  python benchmarks/bench_kernel.py [--repeat N]

Everything runs offline: the bundled Entra ID emulator (TLS on loopback), a Jupyter server
with the extension in a subprocess, kernels started through it. Printed as a plain table:

* hot path: ``get_token()`` again in the same kernel/process (jupyter-msal: kernel-side cache;
  msal: ``acquire_token_silent`` on an app that already holds the token; azure-identity:
  ``DeviceCodeCredential.get_token`` again on the same credential);
* first call for a scope that is already cached elsewhere (jupyter-msal: a kernel asking the
  server over its keep-alive connection; msal: a new app on the persisted cache file;
  azure-identity: a new ``DeviceCodeCredential`` with ``TokenCachePersistenceOptions``);
* import cost (jupyter-msal: ``import jupyter_msal`` + ``%load_ext jupyter_msal`` in a fresh
  kernel, which must not import msal; the others: ``import msal`` / ``import azure.identity``
  in a fresh interpreter).

Timings are medians; this script prints figures and asserts nothing about them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from jupyter_msal.client import ServerClient
from jupyter_msal.testing.server import JupyterServerProcess, emulator_environment

REPO = Path(__file__).resolve().parents[1]
SCOPE = "https://storage.azure.com/.default"
USER = "ada@contoso.com"
CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


class Server(JupyterServerProcess):
    """The shipped subprocess server, plus what this benchmark does with it."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        super().__init__(env, workdir)
        self.start()

    def sign_in(self) -> None:
        client = ServerClient(self.url, jupyter_token=self.token)
        client.wait_for_sign_in(client.start_sign_in())

    def kernel(self, kid: str | None = None) -> Any:
        from jupyter_client import BlockingKernelClient

        kid = kid or self.request("POST", "api/kernels", {"name": "python3"})["id"]
        path = self.workdir / "runtime" / f"kernel-{kid}.json"
        while not path.exists():
            time.sleep(0.05)
        kc = BlockingKernelClient(connection_file=str(path))
        kc.load_connection_file()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        kc.kernel_id = kid
        return kc

    def restart(self, kc: Any) -> Any:
        """Restart the kernel; a new client (the old heartbeat may report a missed beat)."""
        self.request("POST", f"api/kernels/{kc.kernel_id}/restart")
        kc.stop_channels()
        return self.kernel(kc.kernel_id)


def run_in_kernel(kc: Any, code: str) -> Any:
    """Run ``code``, which prints one JSON line; return it decoded."""
    lines: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream":
            lines.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            raise RuntimeError("\n".join(msg["content"]["traceback"]))

    reply = kc.execute_interactive(code, output_hook=hook, timeout=300)
    assert reply["content"]["status"] == "ok", reply
    return json.loads("".join(lines).strip().splitlines()[-1])


KERNEL_IMPORT = """
import json, sys, time
t0 = time.perf_counter()
import jupyter_msal
get_ipython().run_line_magic("load_ext", "jupyter_msal")
t1 = time.perf_counter()
print(json.dumps({"seconds": t1 - t0, "msal": "msal" in sys.modules}))
"""

KERNEL_TIMINGS = """
import json, sys, time
from jupyter_msal.kernel import api, get_token
t0 = time.perf_counter()
get_token(%(scope)r, sign_in=False)
first = time.perf_counter() - t0
uncached = []
for _ in range(%(n_server)d):
    api.clear_cache()
    t0 = time.perf_counter_ns()
    get_token(%(scope)r, sign_in=False)
    uncached.append(time.perf_counter_ns() - t0)
hot = []
for _ in range(%(n_hot)d):
    t0 = time.perf_counter_ns(); get_token(%(scope)r); hot.append(time.perf_counter_ns() - t0)
hot.sort(); uncached.sort()
print(json.dumps({"first": first, "uncached": uncached[len(uncached) // 2] / 1e9,
                  "hot": hot[len(hot) // 2] / 1e9, "msal": "msal" in sys.modules}))
"""


def fresh_import_seconds(module: str, repeat: int) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    runs = [
        float(subprocess.check_output([sys.executable, "-c", code], text=True))
        for _ in range(repeat)
    ]
    return statistics.median(runs)


def median_seconds(fn: Any, n: int) -> float:
    runs = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        fn()
        runs.append(time.perf_counter_ns() - t0)
    return statistics.median(runs) / 1e9


def bench_msal(emu: Any, cache_path: Path, repeat: int) -> dict[str, float]:
    import msal
    import requests
    from msal_extensions import FilePersistence, PersistedTokenCache

    def session() -> requests.Session:
        s = requests.Session()
        s.verify, s.trust_env = emu.ca_bundle_path, False
        return s

    def app() -> msal.PublicClientApplication:
        return msal.PublicClientApplication(
            CLIENT_ID,
            authority=emu.authority("organizations"),
            instance_discovery=False,
            http_client=session(),
            token_cache=PersistedTokenCache(FilePersistence(str(cache_path))),
        )

    first_app = app()
    flow = first_app.initiate_device_flow([SCOPE])
    assert "access_token" in first_app.acquire_token_by_device_flow(flow)
    account = first_app.get_accounts()[0]
    hot = median_seconds(lambda: first_app.acquire_token_silent([SCOPE], account), repeat * 50)

    def new_process() -> None:
        fresh = app()
        assert fresh.acquire_token_silent([SCOPE], fresh.get_accounts()[0])

    return {"hot": hot, "first": median_seconds(new_process, repeat)}


def bench_azure_identity(emu: Any, repeat: int) -> dict[str, float]:
    from azure.identity import DeviceCodeCredential, TokenCachePersistenceOptions

    def credential() -> DeviceCodeCredential:
        return DeviceCodeCredential(
            CLIENT_ID,
            authority=emu.url,
            tenant_id="organizations",
            disable_instance_discovery=True,
            connection_verify=emu.ca_bundle_path,
            cache_persistence_options=TokenCachePersistenceOptions(
                name="jupyter-msal-bench", allow_unencrypted_storage=True
            ),
            prompt_callback=lambda *a: None,
        )

    cred = credential()
    cred.get_token(SCOPE)  # device code, auto-approved by the emulator
    hot = median_seconds(lambda: cred.get_token(SCOPE), repeat * 50)
    first = median_seconds(lambda: credential().get_token(SCOPE), repeat)
    return {"hot": hot, "first": first}


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.2f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="samples per slow figure")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from jupyter_msal.testing import EntraEmulator

    tmp = Path(tempfile.mkdtemp(prefix="jupyter-msal-bench-"))
    os.environ["HOME"] = str(tmp / "home")  # azure-identity's persistent cache goes under ~
    with EntraEmulator(device_code_interval=1) as emu:
        emu.auto_approve = USER
        env = emulator_environment(
            emu,
            tmp / "cache" / "token_cache.bin",
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        )
        server = Server(env, tmp / "server")
        try:
            server.sign_in()
            server.request("POST", "jupyter-msal/token", {"scopes": [SCOPE]})  # server-cached
            kc = server.kernel()
            imports = []
            for i in range(max(3, args.repeat // 4)):
                if i:
                    kc = server.restart(kc)
                imports.append(run_in_kernel(kc, KERNEL_IMPORT))
            timings = run_in_kernel(
                kc, KERNEL_TIMINGS % {"scope": SCOPE, "n_server": args.repeat * 10, "n_hot": 20000}
            )
            kc.stop_channels()
        finally:
            server.stop()
        msal_figures = bench_msal(emu, tmp / "msal-cache.bin", args.repeat)
        identity_figures = bench_azure_identity(emu, args.repeat)

    jm_import = statistics.median(r["seconds"] for r in imports)
    rows = [
        (
            "get_token again (hot path)",
            timings["hot"],
            msal_figures["hot"],
            identity_figures["hot"],
        ),
        (
            "first get_token, scope cached elsewhere",
            timings["uncached"],
            msal_figures["first"],
            identity_figures["first"],
        ),
        ("  (a kernel's very first call, incl. connect)", timings["first"], None, None),
        (
            "import (+ %load_ext for jupyter-msal)",
            jm_import,
            fresh_import_seconds("msal", 5),
            fresh_import_seconds("azure.identity", 5),
        ),
    ]
    headers = ("median", "jupyter-msal (server mode)", "raw msal", "azure-identity DeviceCode")
    table = [headers] + [(r[0], fmt(r[1]), fmt(r[2]), fmt(r[3])) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    print()
    for n, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print()
    imported = any(r["msal"] for r in imports) or timings["msal"]
    print(f"msal imported in server-mode kernels: {imported}")
    print("targets: hot <= 20 µs, first via server <= 5 ms, import + %load_ext <= 50 ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
