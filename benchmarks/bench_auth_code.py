"""Sign-in in the browser: from the redirect's arrival to the token in the cell.

Run:  python benchmarks/bench_auth_code.py [--repeat N]

Offline: the bundled Entra ID emulator (TLS on loopback), a Jupyter server with the extension
in a subprocess, one kernel started through it. Each round signs out, runs
``tok = %msal_token SCOPE`` with ``sign_in_method = auth_code``, and plays the browser: it
opens the cell's sign-in link at the emulator (which signs in at once) and follows the
redirect to the flow's loopback listener. The figure is the time from that request to the
loopback listener to the moment the cell holds the token (both clocks are this machine's).

Prints the median, min and max; asserts nothing about them.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from jupyter_msal.testing import EntraEmulator, wait_until
from jupyter_msal.testing.server import JupyterServerProcess, emulator_environment

SCOPE = "https://storage.azure.com/.default"


def play_browser(
    server: JupyterServerProcess, emulator: EntraEmulator, out: dict[str, float]
) -> None:
    """Wait for the cell's sign-in link, sign in at the emulator, hit the redirect."""

    def pending() -> dict[str, Any] | None:
        flows = server.request("GET", "jupyter-msal/sign-ins")["sign_ins"]
        found = [f for f in flows if f["state"] == "pending" and f["sign_in_url"]]
        return found[-1] if found else None

    flow = wait_until(pending, 30, interval=0.01)
    answer = emulator.http_session().get(flow["sign_in_url"], allow_redirects=False)
    location = answer.headers["Location"].replace("localhost", "127.0.0.1")
    with requests.Session() as browser:
        browser.trust_env = False
        out["arrival"] = time.time()
        browser.get(location, timeout=10).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with EntraEmulator() as emulator, tempfile.TemporaryDirectory() as tmp:
        env = emulator_environment(
            emulator, Path(tmp) / "cache.bin", JUPYTER_MSAL_SIGN_IN_METHOD="auth_code"
        )
        server = JupyterServerProcess(env, Path(tmp) / "server").start()
        figures: list[float] = []
        try:
            with server.open_kernel() as kernel:
                kernel.ok(
                    "%load_ext jupyter_msal\nimport time\n"
                    "from jupyter_msal.kernel.api import clear_cache"
                )
                for _ in range(args.repeat + 1):  # the first round warms up
                    server.request("DELETE", "jupyter-msal/accounts")
                    kernel.ok("clear_cache()")  # the kernel's own token cache too
                    out: dict[str, float] = {}
                    browser = threading.Thread(target=play_browser, args=(server, emulator, out))
                    browser.start()
                    kernel.ok(f"tok = %msal_token {SCOPE}\n_done = time.time()")
                    browser.join(30)
                    figures.append(float(kernel.eval("_done")) - out["arrival"])
        finally:
            server.stop()
    ms = [1000 * f for f in figures[1:]]
    print(f"redirect arrival -> token in the cell ({len(ms)} rounds, loopback, emulator)")
    median, low, high = statistics.median(ms), min(ms), max(ms)
    print(f"  median {median:7.1f} ms   min {low:7.1f} ms   max {high:7.1f} ms")


if __name__ == "__main__":
    main()
