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
import contextlib
import os
import shutil
import ssl
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from ._emulator_connect import DEFAULT_CLIENT_ID, EmulatorConnections
from ._emulator_core import COUNT_KEYS, FAULT_ENDPOINTS
from ._emulator_tokens import DEFAULT_TENANT_ID, DEFAULT_USERNAME

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


class EntraEmulator(EmulatorConnections):
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

        from ._emulator_http import make_application, make_sign_in_page_application

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

    def __enter__(self) -> EntraEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

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


def _write_ca_certificate(emulator: EntraEmulator, path: str | os.PathLike[str]) -> Path:
    """Write the emulator's CA certificate (PEM) to ``path``, readable by every user (0644).

    For other users' processes (JupyterHub's single-user servers, say), which cannot read
    :attr:`EntraEmulator.ca_bundle_path` in this user's private temporary folder. The file is
    replaced atomically and stays after the emulator stops (the certificate is then useless).
    """
    target = Path(path).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(emulator.ca_pem)
        os.chmod(tmp, 0o644)  # a public certificate; mkstemp made it 0600
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def main(argv: list[str] | None = None) -> None:
    """Run an emulator until interrupted: ``python -m jupyter_msal.testing.emulator``.

    Prints one JSON line (``url``, ``authority``, ``ca_bundle_path``, ``device_login_url``,
    ``control_url``, and ``ca_out`` with ``--ca-out``) so that a parent process or a browser
    test can find it. Serves until SIGINT, SIGTERM or SIGHUP.
    """
    import argparse
    import json
    import signal

    parser = argparse.ArgumentParser(
        prog="python -m jupyter_msal.testing.emulator",
        description="Run the jupyter-msal Entra ID emulator (offline testing only).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tenant", default="organizations", help="tenant of the printed authority")
    parser.add_argument("--auto-approve", metavar="USERNAME", default=None)
    parser.add_argument("--device-code-interval", type=int, default=5)
    parser.add_argument("--access-token-lifetime", type=int, default=3600)
    parser.add_argument(
        "--plain-http-sign-in-page",
        action="store_true",
        help="also serve the sign-in page for people over plain HTTP on loopback (as "
        "`jupyter msal demo` does), so browsers show no certificate warning; "
        "device_login_url and every verification_uri then point there",
    )
    parser.add_argument(
        "--ca-out",
        metavar="PATH",
        default=None,
        help="also write the CA certificate (PEM) to PATH with mode 0644, for processes of "
        "other users (ca_bundle_path is in this user's private temporary folder)",
    )
    args = parser.parse_args(argv)

    emulator = EntraEmulator(
        host=args.host,
        port=args.port,
        access_token_lifetime=args.access_token_lifetime,
        device_code_interval=args.device_code_interval,
        plain_http_sign_in_page=args.plain_http_sign_in_page,
    )
    emulator.auto_approve = args.auto_approve
    done = threading.Event()
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda *_: done.set())
    with emulator:
        info = {
            "url": emulator.url,
            "authority": emulator.authority(args.tenant),
            "ca_bundle_path": emulator.ca_bundle_path,
            "device_login_url": emulator.device_login_url,
            "control_url": f"{emulator.url}/_emulator",
        }
        if args.ca_out:
            info["ca_out"] = str(_write_ca_certificate(emulator, args.ca_out))
        print(json.dumps(info), flush=True)
        try:
            while not done.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
