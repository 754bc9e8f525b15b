"""``python -m jupyter_msal.testing.emulator``: run the emulator until interrupted."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import tempfile
import threading
from pathlib import Path

from . import EntraEmulator


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


def _parser() -> argparse.ArgumentParser:
    """The command line of ``python -m jupyter_msal.testing.emulator``."""
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
    return parser


def main(argv: list[str] | None = None) -> None:
    """Run an emulator until interrupted: ``python -m jupyter_msal.testing.emulator``.

    Prints one JSON line (``url``, ``authority``, ``ca_bundle_path``, ``device_login_url``,
    ``control_url``, and ``ca_out`` with ``--ca-out``) so that a parent process or a browser
    test can find it. Serves until SIGINT, SIGTERM or SIGHUP.
    """
    args = _parser().parse_args(argv)
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
