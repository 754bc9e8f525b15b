"""A Microsoft Entra ID emulator over real HTTPS, for offline tests and the offline demo.

Only the identity provider is fake: clients talk to it over real sockets and real TLS (a
throwaway CA made with ``trustme``), so msal runs its ordinary code paths::

    from jupyter_msal.testing import EntraEmulator

    with EntraEmulator(device_code_interval=1) as emu:
        app = emu.public_client_app()          # or build msal yourself, see docs/emulator.md
        flow = app.initiate_device_flow(["https://storage.azure.com/.default"])
        emu.approve(flow["user_code"])
        result = app.acquire_token_by_device_flow(flow)

The server runs on its own event loop in a daemon thread, so it serves synchronous code and
pytest tests whose own event loop runs a Jupyter server. Test controls exist both as methods
(approve, approve_next, decline, expire, inject_error, set_latency, revoke_refresh_tokens, ...)
and as JSON endpoints under ``{url}/_emulator/`` for subprocesses and browser tests.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import tempfile
import threading
from pathlib import Path
from typing import Any

from ..running import StartsAndStops
from .arm import EmulatorArm
from .connect import DEFAULT_CLIENT_ID, EmulatorConnections
from .core import COUNT_KEYS, FAULT_ENDPOINTS
from .tokens import DEFAULT_TENANT_ID, DEFAULT_USERNAME

__all__ = [
    "COUNT_KEYS",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_TENANT_ID",
    "DEFAULT_USERNAME",
    "FAULT_ENDPOINTS",
    "EntraEmulator",
]

_CERT_HOSTS = ("127.0.0.1", "localhost", "::1")
_ANY_ADDRESS = ("", "0.0.0.0", "::")  # noqa: S104 - only used to map to a loopback URL


class EntraEmulator(EmulatorArm, EmulatorConnections, StartsAndStops):
    """An Entra ID (Azure AD) v2.0 identity provider emulated over HTTPS on loopback.

    :param host: address to bind, ``127.0.0.1`` by default (the URL uses it too).
    :param port: port to bind; 0 picks a free one (see :attr:`port` after :meth:`start`).
    :param access_token_lifetime: seconds; also an attribute you may change at any time.
    :param default_username: who approve() and the sign-in pages sign in by default.
    :param default_tenant_id: home tenant of users created on demand.
    :param device_code_lifetime: ``expires_in`` of device codes (attribute too).
    :param device_code_interval: ``interval`` of device codes (attribute too); msal sleeps that
        many whole seconds between polls, so tests use 1.
    :param plain_http_sign_in_page: also serve the human sign-in page over plain HTTP on another
        loopback port, and hand that page out as ``verification_uri``, so a person's browser
        does not warn about the throwaway CA (the offline demo uses this; the identity
        endpoints stay HTTPS-only).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        access_token_lifetime: int = 3600,
        default_username: str = DEFAULT_USERNAME,
        default_tenant_id: str = DEFAULT_TENANT_ID,
        *,
        device_code_lifetime: int = 900,
        device_code_interval: int = 5,
        plain_http_sign_in_page: bool = False,
    ) -> None:
        super().__init__(
            access_token_lifetime=access_token_lifetime,
            default_username=default_username,
            default_tenant_id=default_tenant_id,
            device_code_lifetime=device_code_lifetime,
            device_code_interval=device_code_interval,
        )
        #: The address the server binds.
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._tmpdir: str | None = None
        self._ca_pem: bytes | None = None
        self._ca: Any = None
        self._plain_page = plain_http_sign_in_page
        self._page_port: int | None = None

    # ------------------------------------------------------------- lifecycle
    def start(self) -> EntraEmulator:
        """Bind the port, start serving in a background thread and return ``self``."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        import tornado.netutil
        import trustme

        ca = trustme.CA(organization_name="jupyter-msal Entra ID emulator")
        hosts = list(_CERT_HOSTS)
        if self.host not in hosts and self.host not in _ANY_ADDRESS:
            hosts.append(self.host)
        server_cert = ca.issue_cert(*hosts)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_cert.configure_cert(context)
        sockets = tornado.netutil.bind_sockets(self._requested_port, address=self.host or None)
        page_sockets = (
            tornado.netutil.bind_sockets(0, address=self.host or None) if self._plain_page else []
        )
        try:
            self._port = sockets[0].getsockname()[1]
            self._page_port = page_sockets[0].getsockname()[1] if page_sockets else None
            self._tmpdir = tempfile.mkdtemp(prefix="jupyter-msal-emulator-")
            ca.cert_pem.write_to_path(str(Path(self._tmpdir, "ca.pem")))
            self._ca_pem = ca.cert_pem.bytes()
            self._ca = ca
            ready = threading.Event()
            failure: list[BaseException] = []
            self._thread = threading.Thread(
                target=self._run,
                args=(sockets, page_sockets, context, ready, failure),
                name=f"EntraEmulator:{self._port}",
                daemon=True,
            )
            self._thread.start()
            if not ready.wait(30) or failure:
                self.stop()
                raise RuntimeError("the emulator failed to start") from (
                    failure[0] if failure else None
                )
        except BaseException:
            for sock in [*sockets, *page_sockets]:
                sock.close()
            self._cleanup()
            raise
        return self

    def _run(
        self,
        sockets: list[Any],
        page_sockets: list[Any],
        context: ssl.SSLContext,
        ready: threading.Event,
        failure: list[BaseException],
    ) -> None:
        try:
            asyncio.run(self._serve(sockets, page_sockets, context, ready))
        except BaseException as exc:  # pragma: no cover - reported to start()
            failure.append(exc)
            ready.set()

    async def _serve(
        self,
        sockets: list[Any],
        page_sockets: list[Any],
        context: ssl.SSLContext,
        ready: threading.Event,
    ) -> None:
        from tornado.httpserver import HTTPServer

        from .http import make_application, make_sign_in_page_application

        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        server = HTTPServer(make_application(self), ssl_options=context)
        server.add_sockets(sockets)
        page_server = None
        if page_sockets:
            page_server = HTTPServer(make_sign_in_page_application(self))
            page_server.add_sockets(page_sockets)
        ready.set()
        await self._stop_event.wait()
        if page_server is not None:
            page_server.stop()
        server.stop()
        try:
            await asyncio.wait_for(server.close_all_connections(), timeout=5)
        except asyncio.TimeoutError:  # pragma: no cover - a stuck client
            pass

    def stop(self) -> None:
        """Stop serving, close connections and delete the CA file. Safe to call twice."""
        thread, loop, stop_event = self._thread, self._loop, self._stop_event
        if thread is not None and loop is not None and stop_event is not None:
            try:
                loop.call_soon_threadsafe(stop_event.set)
            except RuntimeError:  # loop already closed
                pass
        if thread is not None:
            thread.join(timeout=10)
        self._cleanup()

    @property
    def device_login_url(self) -> str:
        """The page a user opens to enter a device code (plain HTTP when so configured)."""
        if self._page_port:
            host = "127.0.0.1" if self.host in _ANY_ADDRESS else self.host
            return f"http://{host}:{self._page_port}/devicelogin"
        return super().device_login_url

    def issue_certificate(
        self, directory: str | os.PathLike[str], *hosts: str
    ) -> tuple[Path, Path]:
        """A server certificate for ``hosts`` (loopback by default) from the emulator's CA.

        Writes ``cert.pem`` and ``key.pem`` (0600) into ``directory``; returns their paths.
        For emulators of Azure services (Azurite) that clients trusting :attr:`ca_bundle_path`
        reach over HTTPS.
        """
        if self._ca is None:
            raise RuntimeError("the emulator is not running; call start() first")
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        issued = self._ca.issue_cert(*(hosts or _CERT_HOSTS))
        cert, key = folder / "cert.pem", folder / "key.pem"
        issued.cert_chain_pems[0].write_to_path(str(cert))
        key.touch(mode=0o600)
        issued.private_key_pem.write_to_path(str(key))
        return cert, key

    def _cleanup(self) -> None:
        self._ca = None
        self._page_port = None
        self._thread = None
        self._loop = None
        self._stop_event = None
        self._port = None
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __repr__(self) -> str:
        where = self.url if self._port else "stopped"
        return f"<EntraEmulator {where}>"

    # ------------------------------------------------------------------ places
    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._port is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self._port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``https://127.0.0.1:54321``."""
        host = "127.0.0.1" if self.host in _ANY_ADDRESS else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"https://{host}:{self.port}"

    @property
    def ca_bundle_path(self) -> str:
        """Path of a PEM file holding the emulator's CA certificate (deleted on stop)."""
        if self._tmpdir is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return str(Path(self._tmpdir, "ca.pem"))

    @property
    def ca_pem(self) -> bytes:
        """The emulator's CA certificate in PEM form."""
        if self._ca_pem is None:
            raise RuntimeError("the emulator has not been started")
        return self._ca_pem
