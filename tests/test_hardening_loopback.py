"""The auth-code flow's loopback listener on a machine shared with other users.

* It holds every address ``localhost`` stands for on its port (``127.0.0.1`` and ``::1``), so
  another user cannot bind the other one and receive the redirect.
* It bounds its connections and threads, gives each request a whole-request deadline, and
  closes every connection when the flow ends.

As root, the other user is a real second Linux user (created when missing, as the hub tests
do) whose processes run with ``runuser``; otherwise the same programs run as this user.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from jupyter_msal.errors import SignInFailed
from jupyter_msal.flows import AuthCodeSignIn, SignInFlow, loopback_bind, loopback_server
from jupyter_msal.models import SignInMethod
from jupyter_msal.service import TokenService
from jupyter_msal.testing import EntraEmulator, wait_until

OTHER_USER = "msal-other"
AS_ROOT = os.geteuid() == 0


def ipv6_loopback() -> bool:
    """Whether this machine has ``::1``."""
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def as_other_user(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` as the second local user (as this user when not root)."""
    command = ["/usr/bin/python3" if AS_ROOT else sys.executable, "-c", code, *args]
    if AS_ROOT:
        from jupyter_msal.testing.hub import ensure_linux_user

        ensure_linux_user(OTHER_USER)
        command = ["runuser", "-u", OTHER_USER, "--", *command]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, cwd="/", check=False
    )


def other_user_process(code: str, *args: str) -> subprocess.Popen[str]:
    """Start Python ``code`` as the second local user (as this user when not root)."""
    command = ["/usr/bin/python3" if AS_ROOT else sys.executable, "-c", code, *args]
    if AS_ROOT:
        from jupyter_msal.testing.hub import ensure_linux_user

        ensure_linux_user(OTHER_USER)
        command = ["runuser", "-u", OTHER_USER, "--", *command]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd="/")


def receiver_of(service: TokenService) -> Any:
    strategy = service.flows.strategies[SignInMethod.AUTH_CODE]
    assert isinstance(strategy, AuthCodeSignIn)
    return strategy.receivers[-1]


def finish_in_browser(emulator: EntraEmulator, flow: SignInFlow, host: str) -> requests.Response:
    """The browser: sign in at the emulator, then follow its redirect to ``host``."""
    answer = emulator.http_session().get(flow.prompt.sign_in_url, allow_redirects=False)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"].replace("localhost", host, 1)
    with requests.Session() as session:
        session.trust_env = False
        return session.get(location, timeout=20)


# ------------------------------------------------------------------ item 1: every address

BIND = textwrap.dedent(
    """
    import socket, sys
    port = int(sys.argv[1])
    for family, host in ((socket.AF_INET6, "::1"), (socket.AF_INET6, "::"),
                         (socket.AF_INET, "127.0.0.1"), (socket.AF_INET, "0.0.0.0")):
        sock = socket.socket(family)
        try:
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen()
            print("BOUND", host)
        except OSError as err:
            print("REFUSED", host, err.errno)
        finally:
            sock.close()
    """
)


def test_another_user_cannot_take_the_other_address(
    service: TokenService, msal_emulator: EntraEmulator
) -> None:
    flow = service.flows.start("auth_code")
    receiver = receiver_of(service)
    attempt = as_other_user(BIND, str(receiver.port))
    assert attempt.returncode == 0, attempt.stderr
    assert "BOUND" not in attempt.stdout, attempt.stdout
    assert attempt.stdout.count("REFUSED") == 4
    hosts = {host for host, _ in receiver.addresses}
    assert "127.0.0.1" in hosts
    if ipv6_loopback():
        assert "::1" in hosts
    # A browser that tries ::1 first reaches this listener, and the sign-in completes.
    page = finish_in_browser(msal_emulator, flow, "[::1]" if "::1" in hosts else "127.0.0.1")
    assert page.status_code == 200 and "Signed in" in page.text
    assert flow.wait(10) == "succeeded"
    assert receiver.wait_closed(10)


def test_a_held_address_fails_the_start_clearly(
    service: TokenService, monkeypatch: pytest.MonkeyPatch
) -> None:
    listen = loopback_bind._listen

    def taken_on_ipv6(address: str, port: int) -> socket.socket:
        if address == "::1":
            raise OSError(errno.EADDRINUSE, "Address already in use")
        return listen(address, port)

    monkeypatch.setattr(loopback_bind, "_listen", taken_on_ipv6)
    monkeypatch.setattr(loopback_bind, "localhost_addresses", lambda: ["127.0.0.1", "::1"])
    before = threading.active_count()
    with pytest.raises(SignInFailed, match="every address of localhost"):
        service.flows.start("auth_code")
    assert service.flows.pending() == 0 and threading.active_count() == before


# ------------------------------------------------------- item 5: connections and threads

TRICKLE = textwrap.dedent(
    """
    import socket, sys, time
    port, count = int(sys.argv[1]), int(sys.argv[2])
    conns = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        conns.append(s)
    print("OPEN", len(conns), flush=True)
    end = time.time() + float(sys.argv[3])
    while time.time() < end:
        for s in conns:
            try:
                s.send(b"G")
            except OSError:
                pass
        time.sleep(0.2)
    """
)


def listener_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("jupyter-msal-redirect")]


def open_sockets_of_port(port: int) -> int:
    """Sockets of this machine on ``port`` in any state but TIME_WAIT (/proc/net/tcp*)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state = fields[1], fields[3]
            if local.rsplit(":", 1)[1] == f"{port:04X}" and state != "06":
                count += 1
    return count


def test_trickling_connections_hold_neither_threads_nor_the_flow(
    service: TokenService, msal_emulator: EntraEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loopback_server, "REQUEST_DEADLINE", 3.0)
    flow = service.flows.start("auth_code")
    receiver = receiver_of(service)
    before = threading.active_count()
    trickler = other_user_process(TRICKLE, str(receiver.port), "200", "30")
    try:
        assert trickler.stdout is not None and trickler.stdout.readline().startswith("OPEN 200")
        most = before
        for _ in range(10):
            most = max(most, threading.active_count())
            time.sleep(0.1)
        limit = 1 + loopback_server.MAX_WORKERS
        assert most <= before + limit, (before, most)
        page = finish_in_browser(msal_emulator, flow, "127.0.0.1")
        assert page.status_code == 200 and "Signed in" in page.text
        assert flow.wait(10) == "succeeded"
        assert receiver.wait_closed(10)
        assert listener_threads() == []
        wait_until(lambda: open_sockets_of_port(receiver.port) == 0, timeout=10)
    finally:
        trickler.kill()
        trickler.wait()


def test_a_trickling_request_is_dropped_at_its_deadline(
    service: TokenService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loopback_server, "REQUEST_DEADLINE", 1.0)
    flow = service.flows.start("auth_code")
    receiver = receiver_of(service)
    with socket.create_connection(("127.0.0.1", receiver.port)) as sock:
        sock.settimeout(0.2)
        started, closed = time.monotonic(), False
        while time.monotonic() - started < 5 and not closed:
            try:
                sock.send(b"G")
                closed = sock.recv(1024) == b""
            except TimeoutError:
                continue
            except OSError:
                closed = True
        assert closed and time.monotonic() - started < 3
    flow.cancel()
    assert receiver.wait_closed(10) and listener_threads() == []


def test_cancelling_the_flow_closes_open_connections(service: TokenService) -> None:
    flow = service.flows.start("auth_code")
    receiver = receiver_of(service)
    with socket.create_connection(("127.0.0.1", receiver.port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n")  # never finished
        time.sleep(0.3)  # the listener has read it
        flow.cancel()
        assert receiver.wait_closed(10)
        sock.settimeout(2)  # well before any read timeout of the listener's
        try:
            assert sock.recv(1024) == b""
        except ConnectionResetError:
            pass
    assert listener_threads() == []
    assert open_sockets_of_port(receiver.port) == 0
