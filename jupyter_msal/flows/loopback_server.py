"""A small HTTP/1.1 server for one sign-in's loopback listener, with bounded resources.

One thread reads every connection without blocking (a selector), so a connection costs a
socket, not a thread. At most :data:`MAX_CONNECTIONS` connections are read at once; a new one
beyond that closes the oldest still unread. Each request must arrive whole (request line and
headers, at most :data:`MAX_HEAD` bytes) within :data:`REQUEST_DEADLINE` seconds of its
connection, however slowly it trickles. A complete request is answered in one of at most
:data:`MAX_WORKERS` threads (answering may wait on the identity provider), or with 503 when
all are busy. :meth:`BoundedHttpServer.close` closes the listening sockets and every
connection still being read; a request being answered gets its answer, within
:data:`WRITE_TIMEOUT` seconds. Nothing is logged: request lines carry codes and state.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import cast

__all__ = [
    "MAX_CONNECTIONS",
    "MAX_HEAD",
    "MAX_WORKERS",
    "REQUEST_DEADLINE",
    "WRITE_TIMEOUT",
    "Answer",
    "BoundedHttpServer",
    "RequestHandler",
]

#: Connections read at once; a new one beyond this closes the oldest.
MAX_CONNECTIONS = 16
#: Threads answering complete requests at once.
MAX_WORKERS = 4
#: Seconds from a connection's accept until its whole request must have arrived.
REQUEST_DEADLINE = 10.0
#: Seconds an answer may take to be written.
WRITE_TIMEOUT = 5.0
#: Bytes of request line and headers accepted.
MAX_HEAD = 16384


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, extra headers and an HTML (or empty) body."""

    status: int
    body: str = ""
    headers: tuple[tuple[str, str], ...] = ()


#: ``handler(method, target) -> Answer``, called in a worker thread.
RequestHandler = Callable[[str, str], Answer]


def encode(answer: Answer) -> bytes:
    """``answer`` as bytes on the wire (``Connection: close``, never cached)."""
    body = answer.body.encode("utf-8")
    lines = [f"HTTP/1.1 {answer.status} {HTTPStatus(answer.status).phrase}"]
    lines += [
        "Server: jupyter-msal",
        "Content-Type: text/html; charset=utf-8",
        f"Content-Length: {len(body)}",
        "Cache-Control: no-store",
        "Referrer-Policy: no-referrer",
        "Connection: close",
    ]
    lines += [f"{name}: {value}" for name, value in answer.headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass(eq=False)
class _Connection:
    sock: socket.socket
    deadline: float
    data: bytearray = field(default_factory=bytearray)


def _drop(sock: socket.socket, answer: Answer | None = None) -> None:
    """Close ``sock``, after a best-effort answer that never blocks."""
    with contextlib.suppress(OSError):
        if answer is not None:
            sock.send(encode(answer))
    sock.close()


class BoundedHttpServer:
    """Serve ``handler`` on the listening ``sockets`` until :meth:`close` (see the module)."""

    def __init__(self, sockets: list[socket.socket], handler: RequestHandler, name: str) -> None:
        self._handler = handler
        self._listeners = sockets
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._reading: dict[socket.socket, _Connection] = {}
        self._workers = threading.BoundedSemaphore(MAX_WORKERS)
        self._answering: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._idle = threading.Condition(self._lock)
        for sock in sockets:
            self._selector.register(sock, selectors.EVENT_READ, "listen")
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def stopped(self) -> bool:
        """True once the listening sockets and unread connections are closed."""
        return self._stopped.is_set()

    def in_worker(self) -> bool:
        """Whether the calling thread is one of this server's answering threads."""
        with self._lock:
            return threading.current_thread() in self._answering

    def close(self, wait: float | None = 5.0) -> None:
        """Stop; from any thread. Waits up to ``wait`` seconds unless called while answering."""
        self._stop.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if wait and not self.in_worker() and threading.current_thread() is not self._thread:
            self._stopped.wait(wait)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until stopped with no answer being written (or ``timeout``); True when so."""
        end = None if timeout is None else time.monotonic() + timeout
        if not self._stopped.wait(timeout):
            return False
        with self._idle:
            while self._answering:
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for key, _ in self._selector.select(self._next_timeout()):
                    if key.data == "listen":
                        self._accept(cast(socket.socket, key.fileobj))
                    elif key.data != "wake":
                        self._read(key.data)
                self._expire()
        finally:
            self._shutdown()

    def _next_timeout(self) -> float:
        if not self._reading:
            return 1.0
        soonest = min(c.deadline for c in self._reading.values())
        return max(0.0, min(1.0, soonest - time.monotonic()))

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:  # BlockingIOError: none left to accept
                return
            sock.setblocking(False)
            if len(self._reading) >= MAX_CONNECTIONS:
                oldest = min(self._reading.values(), key=lambda c: c.deadline)
                self._forget(oldest)
                _drop(oldest.sock, Answer(503, "Too many connections."))
            connection = _Connection(sock, time.monotonic() + REQUEST_DEADLINE)
            self._reading[sock] = connection
            self._selector.register(sock, selectors.EVENT_READ, connection)

    def _read(self, connection: _Connection) -> None:
        try:
            chunk = connection.sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._forget(connection)
            _drop(connection.sock)
            return
        connection.data += chunk
        head, sep, _ = bytes(connection.data).partition(b"\r\n\r\n")
        if not sep and len(connection.data) > MAX_HEAD:
            self._forget(connection)
            _drop(connection.sock, Answer(431, "Request too large."))
        elif sep:
            self._forget(connection)
            self._dispatch(connection.sock, head)

    def _expire(self) -> None:
        now = time.monotonic()
        for connection in [c for c in self._reading.values() if c.deadline <= now]:
            self._forget(connection)
            _drop(connection.sock)

    def _forget(self, connection: _Connection) -> None:
        self._reading.pop(connection.sock, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(connection.sock)

    def _dispatch(self, sock: socket.socket, head: bytes) -> None:
        parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            _drop(sock, Answer(400, "Bad request."))
            return
        if not self._workers.acquire(blocking=False):
            _drop(sock, Answer(503, "Busy: try again."))
            return
        # Not a daemon: a process that ends as soon as the sign-in succeeds (``jupyter msal
        # login`` in a shell) still writes the browser its answer, within WRITE_TIMEOUT.
        worker = threading.Thread(
            target=self._answer,
            args=(sock, parts[0], parts[1]),
            name=self._thread.name + "-answer",
            daemon=False,  # not inherited from the (daemon) reading thread
        )
        with self._lock:
            self._answering.add(worker)
        worker.start()

    def _answer(self, sock: socket.socket, method: str, target: str) -> None:
        try:
            data = encode(self._handle(method, target))
            with contextlib.suppress(OSError):  # the browser went away
                sock.setblocking(True)
                sock.settimeout(WRITE_TIMEOUT)
                sock.sendall(data)
        finally:
            sock.close()
            self._workers.release()
            with self._idle:
                self._answering.discard(threading.current_thread())
                self._idle.notify_all()

    def _handle(self, method: str, target: str) -> Answer:
        if method != "GET":  # a HEAD must not use up a one-use page
            return Answer(405, "Only GET.", (("Allow", "GET"),))
        try:
            return self._handler(method, target)
        except Exception:  # the handler's own failure must not leave the browser hanging
            return Answer(500, "Internal error.")

    def _shutdown(self) -> None:
        for sock in [*self._listeners, *self._reading]:
            sock.close()
        self._reading.clear()
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()
        self._stopped.set()
