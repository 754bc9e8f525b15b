"""A second tenant: a cached guest-tenant token beside the home tenant's, and the first one's cost.

Offline, like every benchmark here: the bundled Entra ID emulator (real TLS on 127.0.0.1),
where Ada (home tenant: the emulator's default) is a guest of other tenants
(``emulator.add_guest``), and a real ``jupyter server`` subprocess with the extension. Run it
from the repository root::

    python benchmarks/bench_tenants.py             # about 30 s
    python benchmarks/bench_tenants.py --quick     # fewer samples

Side by side, home tenant and guest tenant, median and p95 of a cached token:

* REST ``POST jupyter-msal/token`` (``{"scopes": [...], "tenant": "<guest id>"}`` for the
  guest), authenticated as a kernel, one keep-alive connection;
* in-process ``TokenService.acquire_token(scopes, tenant=...)`` on the server's cache file;
* raw msal ``acquire_token_silent`` on the same cache file, with an application whose
  authority is ``organizations`` (home) or the guest tenant;
* azure-identity ``DeviceCodeCredential.get_token(scope, tenant_id=...)`` (its own persistent
  cache, ``additionally_allowed_tenants=["*"]``).

And the first token of a guest tenant per client (one refresh-token grant at that tenant,
counted at the emulator; a tenant of its own per client, so each pays its own first token).
Figures only: nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import azure_identity_home, fmt_s, pct, report, say
from bench_server import CLIENT_ID, TokenClient, machine_facts, sign_in, timed

from jupyter_msal.testing import DEFAULT_TENANT_ID as HOME
from jupyter_msal.testing import DEFAULT_USERNAME as ADA
from jupyter_msal.testing import EntraEmulator
from jupyter_msal.testing.server import JupyterServerProcess, emulator_environment

STORAGE = "https://storage.azure.com/.default"
REFRESH = "grant:refresh_token"
#: Guest tenants of Ada: one for the hot paths, one per client for its first token.
GUESTS = {
    "hot": "f00dface-0000-4000-8000-00000000fab1",
    "rest": "f00dface-0000-4000-8000-00000000fab2",
    "service": "f00dface-0000-4000-8000-00000000fab3",
    "msal": "f00dface-0000-4000-8000-00000000fab4",
    "azure": "f00dface-0000-4000-8000-00000000fab5",
}
GUEST = GUESTS["hot"]
CLIENTS = ("rest", "service", "msal", "azure")
TITLES = {
    "rest": "jupyter-msal REST (server)",
    "service": "jupyter-msal in-process",
    "msal": "raw msal",
    "azure": "azure-identity",
}


def tenant_client(server: JupyterServerProcess, secret: str, tenant: str | None) -> TokenClient:
    """A kernel-authenticated REST client whose requests name ``tenant`` (None: the home one)."""
    client = TokenClient(server.port, "/", secret, [STORAGE])
    if tenant is not None:
        client.body = json.dumps({"scopes": [STORAGE], "tenant": tenant}).encode()
    return client


class TenantBench:
    """The emulator, one server, and a token getter per client and tenant."""

    def __init__(self, samples: int) -> None:
        self.samples = samples
        self.stack = contextlib.ExitStack()
        self.tmp = Path(self.stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-tn-")))
        self.hot: dict[tuple[str, str], list[float]] = {}
        self.first: dict[str, tuple[float, int, int]] = {}

    def start(self) -> None:
        """The emulator with Ada's guest memberships, a server, a device-code sign-in."""
        self.emu = self.stack.enter_context(EntraEmulator(device_code_interval=1))
        self.emu.auto_approve = ADA
        for tenant in GUESTS.values():
            self.emu.add_guest(ADA, tenant)
        self.cache = self.tmp / "cache" / "token_cache.json"
        env = emulator_environment(self.emu, self.cache, IPYTHONDIR=str(self.tmp / "ipython"))
        self.server = JupyterServerProcess(env, self.tmp / "server").start()
        self.stack.callback(self.server.stop)
        sign_in(self.server)
        self.secret = self.server.kernel_environment()["JUPYTER_MSAL_SERVER_SECRET"]

    def close(self) -> None:
        """Stop everything started."""
        self.stack.close()

    # -- the getters -----------------------------------------------------------------------
    def getters(self) -> dict[str, Callable[[str | None], Callable[[], Any]]]:
        """Per client: tenant (None: home) -> a call that returns a token."""
        return {
            "rest": self._rest,
            "service": self._service,
            "msal": self._msal,
            "azure": self._azure,
        }

    def _rest(self, tenant: str | None) -> Callable[[], Any]:
        client = tenant_client(self.server, self.secret, tenant)
        self.stack.callback(client.close)
        return client.token

    def _service(self, tenant: str | None) -> Callable[[], Any]:
        if not hasattr(self, "service"):
            from jupyter_msal.config.settings import JupyterMsal
            from jupyter_msal.service import TokenService

            settings = JupyterMsal(
                authority=self.emu.authority(),
                instance_discovery=False,
                ca_bundle=self.emu.ca_bundle_path,
                cache_path=str(self.cache),
                cache_encryption="none",
                allowed_hosts=["127.0.0.1"],
            )
            self.service = TokenService(settings)
            self.stack.callback(self.service.close)
        return lambda: self.service.acquire_token([STORAGE], tenant=tenant)

    def _msal(self, tenant: str | None) -> Callable[[], Any]:
        import msal
        from msal_extensions import FilePersistence, PersistedTokenCache

        app = msal.PublicClientApplication(
            CLIENT_ID,
            authority=self.emu.authority(tenant or "organizations"),
            instance_discovery=False,
            http_client=self.emu.http_session(),
            token_cache=PersistedTokenCache(FilePersistence(str(self.cache))),
        )
        (account,) = app.get_accounts(username=ADA)

        def call() -> Any:
            result = app.acquire_token_silent([STORAGE], account=account)
            if not result or "access_token" not in result:
                raise RuntimeError(f"raw msal: {result and result.get('error')}")
            return result

        return call

    def _azure(self, tenant: str | None) -> Callable[[], Any]:
        if not hasattr(self, "azure"):
            self._azure_sign_in()
        if tenant is None:
            return lambda: self.azure.get_token(STORAGE)
        return lambda: self.azure.get_token(STORAGE, tenant_id=tenant)

    def _azure_sign_in(self) -> None:
        """A persistent-cache DeviceCodeCredential (HOME in our folder), signed in once, then
        a new one from the AuthenticationRecord, as a restarted process would build it."""
        from azure.identity import DeviceCodeCredential, TokenCachePersistenceOptions

        def prompt(verification_uri: str, user_code: str, expires_on: Any) -> None:
            self.emu.approve(user_code, username=ADA)

        def credential(record: Any = None) -> Any:
            where = {} if record else {"authority": f"127.0.0.1:{self.emu.port}"}
            return DeviceCodeCredential(
                tenant_id="organizations",
                **where,
                additionally_allowed_tenants=["*"],
                disable_instance_discovery=True,
                connection_verify=self.emu.ca_bundle_path,
                prompt_callback=prompt,
                authentication_record=record,
                cache_persistence_options=TokenCachePersistenceOptions(
                    name="jupyter-msal-bench-tenants", allow_unencrypted_storage=True
                ),
                timeout=60,
            )

        self.emu.auto_approve = None
        try:
            record = credential().authenticate(scopes=[STORAGE])
        finally:
            self.emu.auto_approve = ADA
        self.azure = credential(record)

    # -- the measurements ------------------------------------------------------------------
    def first_tokens(self, getters: dict[str, Callable[[str | None], Callable[[], Any]]]) -> None:
        """Each client's first token of a guest tenant of its own: time, refresh grants at that
        tenant, all token requests. The home token is cached first (built outside the timing)."""
        for name in CLIENTS:
            getters[name](None)()
            self.emu.reset_counts()
            started = time.perf_counter()
            getters[name](GUESTS[name])()  # raw msal: its application for that authority too
            took = time.perf_counter() - started
            at_guest = self.emu.token_requests_at(GUESTS[name], "refresh_token")
            paths = [str(entry.get("path")) for entry in self.emu.requests]
            self.first[name] = (took, at_guest, len(paths))
            say(
                f"first guest token, {TITLES[name]}: {fmt_s(took)}; refresh grants at the guest "
                f"tenant {at_guest}; requests to the identity provider {len(paths)}: "
                + ", ".join(sorted(set(paths)))
            )

    def hot_paths(self, getters: dict[str, Callable[[str | None], Callable[[], Any]]]) -> None:
        """Median and p95 of a cached token, home then guest, for each client."""
        for name in CLIENTS:
            for label, tenant in (("home", None), ("guest", GUEST)):
                call = getters[name](tenant)
                call()  # a guest's first token for this client's tenant: one refresh at most
                self.emu.reset_counts()
                samples = timed(call, self.samples, warmup=50)
                sent = self.emu.counts["token"]
                self.hot[(name, label)] = samples
                say(
                    f"{TITLES[name]}, {label}: median {fmt_s(pct(samples, 50))}, p95 "
                    f"{fmt_s(pct(samples, 95))} (token requests during: {sent})"
                )

    def check_tenants(self, getters: dict[str, Callable[[str | None], Callable[[], Any]]]) -> None:
        """The tokens are what they claim: the home tenant's and the guest's ``tid``."""
        from jupyter_msal.models import decode_jwt_claims

        for tenant, want in ((None, HOME), (GUEST, GUEST)):
            answer = getters["rest"](tenant)()
            tid = decode_jwt_claims(answer["access_token"])["tid"]
            if tid != want:
                raise RuntimeError(f"REST token for tenant {tenant}: tid {tid}, expected {want}")

    def table(self) -> str:
        """The hot-path table, then the first-token table."""
        rows = [("cached token", "home median", "home p95", "guest median", "guest p95")]
        for name in CLIENTS:
            home, guest = self.hot[(name, "home")], self.hot[(name, "guest")]
            rows.append(
                (
                    TITLES[name],
                    fmt_s(pct(home, 50)),
                    fmt_s(pct(home, 95)),
                    fmt_s(pct(guest, 50)),
                    fmt_s(pct(guest, 95)),
                )
            )
        rows.append(("first guest token", "time", "refresh grants", "IdP requests", ""))
        for name in CLIENTS:
            took, at_guest, sent = self.first[name]
            rows.append((TITLES[name], fmt_s(took), str(at_guest), str(sent), ""))
        widths = [max(len(row[i]) for row in rows) + 3 for i in range(5)]
        lines = [
            "".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows
        ]
        lines.insert(len(CLIENTS) + 1, "")
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 samples instead of 2000")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    say(f"machine: {machine_facts()}")
    bench = TenantBench(500 if args.quick else 2000)
    try:
        bench.start()
        with azure_identity_home(bench.tmp):
            getters = bench.getters()
            bench.first_tokens(getters)
            bench.check_tenants(getters)
            bench.hot_paths(getters)
    finally:
        bench.close()
    report(bench.table(), started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
