"""A loopback HTTP listener that receives one sign-in's redirect from the browser.

It binds ``127.0.0.1`` on a free port, answers ``GET /?code=...&state=...`` with the page its
owner returns, and is closed by its owner when the sign-in ends. It never logs a request (the
query holds the authorization code and the state).
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["LoopbackReceiver", "result_page"]

#: Seconds a browser connection may stay silent before the listener drops it.
_CONNECTION_TIMEOUT = 15

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}}
</style></head><body><h1 id="title">{title}</h1><p id="message">{message}</p></body></html>"""


def result_page(title: str, message: str) -> str:
    """The small HTML page the browser shows once the redirect has been handled."""
    return _PAGE.format(title=html.escape(title), message=html.escape(message))


#: ``handler(path_and_query) -> (status, html)``
RedirectHandler = Callable[[str], tuple[int, str]]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = _CONNECTION_TIMEOUT
    server_version = "jupyter-msal"
    sys_version = ""

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != "/":
            self._answer(404, result_page("Not found", "Nothing here."))
            return
        status, body = self.server.on_redirect(self.path)
        self._answer(status, body)

    def _answer(self, status: int, body: str) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Nothing: the request line carries the authorization code and the state."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, on_redirect: RedirectHandler) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.on_redirect = on_redirect

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that went away mid-answer is not worth a traceback."""


class LoopbackReceiver:
    """One listener on ``127.0.0.1`` for one sign-in; :meth:`close` ends it (idempotent).

    ``on_redirect`` gets the path and query of each ``GET /`` and returns the status and
    HTML page to answer with; it runs in a thread of the listener's own.
    """

    def __init__(self, on_redirect: RedirectHandler) -> None:
        self._server = _Server(on_redirect)
        self._closed = threading.Event()
        self._closing = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"jupyter-msal-redirect-{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def port(self) -> int:
        """The port the listener is bound to."""
        return int(self._server.server_address[1])

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` of the listening socket."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def redirect_uri(self) -> str:
        """``http://localhost:<port>/``, the redirect every public client accepts."""
        return f"http://localhost:{self.port}/"

    @property
    def closed(self) -> bool:
        """True once the listening socket is closed."""
        return self._closed.is_set()

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until the socket is closed (or ``timeout``); True when it is."""
        return self._closed.wait(timeout)

    def close(self) -> None:
        """Stop listening; from any thread, including a request of this listener's own."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
        if threading.current_thread() is self._thread:
            threading.Thread(target=self._shutdown, daemon=True).start()
        else:
            self._shutdown()

    def _shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._closed.set()
