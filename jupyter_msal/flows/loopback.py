"""A loopback HTTP listener that receives one sign-in's redirect from the browser.

It holds every address of ``localhost`` on a free port (``127.0.0.1`` and ``::1``), answers
``GET /?code=...&state=...`` with the page its owner returns, serves a one-use start page that
sends a local browser on to the sign-in link, and is closed by its owner when the sign-in
ends. It never logs a request (the query holds the authorization code and the state).
"""

from __future__ import annotations

import hmac
import html
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .loopback_bind import bind_localhost
from .loopback_server import Answer, BoundedHttpServer

__all__ = ["LoopbackReceiver", "result_page"]

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


@dataclass
class _StartPage:
    """A one-use page that sends the browser on to ``target`` (the sign-in link)."""

    path: str
    target: str
    on_reuse: Callable[[], None]
    used: bool = False


class LoopbackReceiver:
    """One listener on every address of ``localhost`` for one sign-in; :meth:`close` ends it.

    ``on_redirect`` gets the path and query of each ``GET /`` and returns the status and
    HTML page to answer with; it runs in a thread of the listener's own. The listener holds
    ``127.0.0.1`` and ``::1`` (see :mod:`.loopback_bind`) and bounds its connections and
    threads (see :mod:`.loopback_server`).
    """

    def __init__(self, on_redirect: RedirectHandler) -> None:
        self._on_redirect = on_redirect
        self._start: _StartPage | None = None
        self._lock = threading.Lock()
        sockets = bind_localhost()
        self._addresses = [sock.getsockname()[:2] for sock in sockets]
        self._server = BoundedHttpServer(
            sockets, self._route, name=f"jupyter-msal-redirect-{self.port}"
        )

    @property
    def port(self) -> int:
        """The port the listener is bound to (on every address)."""
        return int(self._addresses[0][1])

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` of the IPv4 listening socket."""
        host, port = self._addresses[0]
        return str(host), int(port)

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """``(host, port)`` of every listening socket: ``127.0.0.1``, ``::1`` where it exists."""
        return [(str(host), int(port)) for host, port in self._addresses]

    @property
    def redirect_uri(self) -> str:
        """``http://localhost:<port>/``, the redirect every public client accepts."""
        return f"http://localhost:{self.port}/"

    def start_page(self, target: str, on_reuse: Callable[[], None]) -> str:
        """The address of a one-use page of this listener that redirects to ``target``.

        Its path is unguessable; a second visit answers 410 and calls ``on_reuse`` (someone
        else may have followed the link first). Hand it to a browser on this machine instead
        of ``target``, so that no command line shows ``target``.
        """
        page = _StartPage(f"/start/{secrets.token_urlsafe(24)}", target, on_reuse)
        with self._lock:
            self._start = page
        return f"http://localhost:{self.port}{page.path}"

    @property
    def closed(self) -> bool:
        """True once the listening sockets are closed."""
        return self._server.stopped

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until the sockets are closed and no answer is being written; True when so."""
        return self._server.wait_idle(timeout)

    def close(self) -> None:
        """Stop listening; from any thread, including a request of this listener's own
        (whose answer is still written). Idempotent."""
        self._server.close()

    def _route(self, method: str, target: str) -> Answer:
        path = target.split("?", 1)[0]
        if path == "/":
            status, body = self._on_redirect(target)
            return Answer(status, body)
        page = self._start
        if page is None or not _same(page.path, path):
            return Answer(404, result_page("Not found", "Nothing here."))
        with self._lock:
            first, page.used = not page.used, True
        if first:
            return Answer(302, "", (("Location", page.target),))
        page.on_reuse()
        return Answer(410, result_page("Link used", "This sign-in link was already used."))


def _same(expected: str, given: str) -> bool:
    """Constant-time comparison of two paths."""
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))
