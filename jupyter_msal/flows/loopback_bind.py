"""Listening sockets on every address ``localhost`` stands for, all on one port.

A redirect to ``http://localhost:<port>/`` goes wherever the browser resolves ``localhost``:
``127.0.0.1`` or ``::1`` (Chromium tries ``::1`` first, whatever ``/etc/hosts`` says). A
listener that holds only one of them leaves the other free for any local user to bind, who
then receives the authorization code and state (RFC 8252, sections 7.3 and 8.3). So the
listener holds ``127.0.0.1:<port>``, ``[::1]:<port>`` and any other loopback address
``localhost`` resolves to here, or none of them: when another program already holds one, a
new port is tried, and after a few tries :class:`~jupyter_msal.errors.SignInFailed` is raised.
An address this machine does not have (``::1`` without IPv6) cannot be bound by anyone and is
skipped. Addresses that are not loopback are never bound.
"""

from __future__ import annotations

import errno
import ipaddress
import socket

from ..errors import SignInFailed

__all__ = ["PORT_ATTEMPTS", "bind_localhost", "localhost_addresses"]

#: Ports tried before giving up when another program holds an address of ``localhost``.
PORT_ATTEMPTS = 16
#: Errors meaning "this machine has no such address": nobody can listen there.
_ABSENT = {errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT}


def localhost_addresses() -> list[str]:
    """``127.0.0.1``, ``::1`` and the other loopback addresses ``localhost`` resolves to."""
    found = ["127.0.0.1", "::1"]
    try:
        infos = socket.getaddrinfo("localhost", None, type=socket.SOCK_STREAM)
    except OSError:
        infos = []
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]
        if address not in found and ipaddress.ip_address(address).is_loopback:
            found.append(address)
    return found


def _listen(address: str, port: int) -> socket.socket:
    """A listening socket on ``address:port``, never shared (no SO_REUSEADDR/REUSEPORT)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((address, port))
        sock.listen(socket.SOMAXCONN)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _hold_all(addresses: list[str]) -> list[socket.socket]:
    """Sockets on every address on one port the system picks; OSError when one is taken."""
    held = [_listen(addresses[0], 0)]
    port = int(held[0].getsockname()[1])
    try:
        for address in addresses[1:]:
            try:
                held.append(_listen(address, port))
            except OSError as err:
                if err.errno not in _ABSENT:
                    raise
    except BaseException:
        for sock in held:
            sock.close()
        raise
    return held


def bind_localhost(attempts: int = PORT_ATTEMPTS) -> list[socket.socket]:
    """Listening sockets on one port for every address of ``localhost`` (see the module)."""
    addresses = localhost_addresses()
    last: OSError | None = None
    for _ in range(attempts):
        try:
            return _hold_all(addresses)
        except OSError as err:
            last = err
    raise SignInFailed(
        f"The sign-in could not listen on every address of localhost ({', '.join(addresses)}) "
        f"on one port: another program holds them ({last}).",
        hint="Try again; if it keeps failing, another local user may be trying to receive "
        "your sign-in. Use the device code or paste the address instead.",
    )
