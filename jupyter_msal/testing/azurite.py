"""Azurite, Microsoft's Azure Storage emulator, in a subprocess that accepts the emulator's tokens.

Azure Storage clients authenticated with Entra ID tokens can then be tested offline::

    with EntraEmulator() as emu, Azurite(emu, tmp_path / "azurite") as azurite:
        client = BlobServiceClient(azurite.blob_url, credential=credential)

Azurite runs with ``--oauth basic`` over HTTPS (a certificate from the Entra ID emulator's CA,
so whoever trusts :attr:`EntraEmulator.ca_bundle_path
<jupyter_msal.testing.EntraEmulator.ca_bundle_path>` trusts Azurite too), with
``--skipApiVersionCheck --loose`` and always ``--disableTelemetry`` (otherwise it sends
telemetry off the machine). It checks a bearer token's issuer, audience and lifetime, not its
signature: the emulator's v1 storage tokens (``iss https://sts.windows.net/<tenant>/``) pass.

Azurite comes from npm; ``scripts/ensure-azurite`` installs it into ``tools/azurite``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from .running import StartsAndStops
from .server import free_port
from .waiting import wait_until

if TYPE_CHECKING:
    from .emulator import EntraEmulator

__all__ = ["AZURITE_ACCOUNT", "AZURITE_ENV", "Azurite", "find_azurite"]

#: The storage account Azurite serves by default.
AZURITE_ACCOUNT = "devstoreaccount1"
#: Environment variable naming the ``azurite-blob`` executable to use.
AZURITE_ENV = "JUPYTER_MSAL_AZURITE"
_PROJECT_COPY = Path(__file__).resolve().parents[2] / "tools/azurite/node_modules/.bin/azurite-blob"


def find_azurite() -> str | None:
    """The ``azurite-blob`` executable: ``$JUPYTER_MSAL_AZURITE``, the project's copy in
    ``tools/azurite`` (``scripts/ensure-azurite``), or one on ``PATH``; None if there is none."""
    configured = os.environ.get(AZURITE_ENV)
    if configured:
        return configured
    if _PROJECT_COPY.exists():
        return str(_PROJECT_COPY)
    return shutil.which("azurite-blob")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Azurite(StartsAndStops):
    """Azurite's blob service on a free loopback port, trusting ``emulator``'s tokens.

    :param emulator: a running :class:`~jupyter_msal.testing.EntraEmulator`; its CA issues
        Azurite's certificate.
    :param workdir: Azurite's data, certificate and log (``azurite.log``) go here.
    :param executable: ``azurite-blob`` to run (default: :func:`find_azurite`).
    """

    def __init__(
        self, emulator: EntraEmulator, workdir: Path, *, executable: str | None = None
    ) -> None:
        self.emulator = emulator
        self.workdir = Path(workdir)
        self.executable = executable or find_azurite()
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def blob_url(self) -> str:
        """The account URL clients use: ``https://127.0.0.1:<port>/devstoreaccount1``."""
        return f"https://127.0.0.1:{self.port}/{AZURITE_ACCOUNT}"

    def command(self) -> list[str]:
        """The command line (certificate files are written by :meth:`start`)."""
        if not self.executable:
            raise RuntimeError("Azurite is not installed: run scripts/ensure-azurite")
        tls = self.workdir / "tls"
        return [
            self.executable,
            "--blobHost", "127.0.0.1",
            "--blobPort", str(self.port),
            "--location", str(self.workdir / "data"),
            "--oauth", "basic",
            "--cert", str(tls / "cert.pem"),
            "--key", str(tls / "key.pem"),
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
        ]  # fmt: skip

    def start(self, timeout: float = 60) -> Azurite:
        """Start Azurite and wait until it listens; RuntimeError (with its log) otherwise."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.emulator.issue_certificate(self.workdir / "tls", "127.0.0.1", "localhost")
        self.port = free_port()
        command = self.command()
        with open(self.workdir / "azurite.log", "ab") as log:
            self.proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=str(self.workdir)
            )
        try:
            wait_until(self._ready, timeout, interval=0.1)
        except TimeoutError as exc:
            self.stop()
            raise RuntimeError(f"Azurite did not start:\n{self.log()}") from exc
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"Azurite exited:\n{self.log()}")
        return _listening(self.port)

    def log(self, tail: int = 4000) -> str:
        """The end of Azurite's output."""
        path = self.workdir / "azurite.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def stop(self) -> None:
        """Stop Azurite (SIGTERM, then SIGKILL after 10 s). Safe to call twice."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
