"""The server-mode HTTP client and the magics' plumbing, in this process."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from IPython.core.error import UsageError

from jupyter_msal import client
from jupyter_msal.constants import SERVER_SECRET_ENV, SERVER_URL_ENV
from jupyter_msal.errors import Forbidden, JupyterMsalError, ServerUnavailable
from jupyter_msal.kernel import magics
from jupyter_msal.testing import wait_until
from jupyter_msal.testing.server import JupyterServerProcess


def test_jupyter_token_authentication(server: JupyterServerProcess) -> None:
    c = client.ServerClient(server.url, jupyter_token=server.token)
    assert c.status()["mode"] == "user"


def test_wrong_secret_is_forbidden(server: JupyterServerProcess) -> None:
    c = client.ServerClient(server.url, "not-the-secret")
    with pytest.raises(Forbidden) as info:
        c.status()
    assert "\n" not in str(info.value)


def test_unreachable_server() -> None:
    c = client.ServerClient("http://127.0.0.1:9/base/", "s")
    with pytest.raises(ServerUnavailable) as info:
        c.status()
    message = str(info.value)
    assert message.startswith("The Jupyter server at http://127.0.0.1:9/base/ cannot be reached")
    assert "restart this kernel" in message and "JUPYTER_MSAL_SERVER_URL" in message
    with pytest.raises(ServerUnavailable, match="is not an http"):
        client.ServerClient("ftp://x/", "s")


class LocalServer:
    """An HTTP/1.1 server on loopback that answers every GET with ``status`` and ``body`` and
    counts the connections it accepts and sees closed.

    ``keep_alive=False`` drops each connection after one answer without saying so, as a
    server does when its keep-alive timeout runs out.
    """

    def __init__(
        self, status: int = 200, body: bytes = b'{"mode": "user"}', *, keep_alive: bool = False
    ) -> None:
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.accepted = 0
        self.closed = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                outer.accepted += 1
                super().setup()

            def finish(self) -> None:
                super().finish()
                outer.closed += 1

            def do_GET(self) -> None:
                outer.paths.append(self.path)
                outer.headers.append(dict(self.headers))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = not keep_alive

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/some/base/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def flaky() -> Iterator[LocalServer]:
    srv = LocalServer()
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture
def steady() -> Iterator[LocalServer]:
    srv = LocalServer(body=b'{"mode": "user", "accounts": []}', keep_alive=True)
    try:
        yield srv
    finally:
        srv.close()


def test_keep_alive_connection_is_reused(steady: LocalServer) -> None:
    c = client.ServerClient(steady.url, "the-secret")
    assert c.status()["mode"] == "user"
    for _ in range(5):
        assert c.accounts() == []
    assert len(steady.paths) == 6 and steady.accepted == 1 and steady.closed == 0
    c.close()  # the client hangs up its idle connection
    wait_until(lambda: steady.closed == 1, 5, message="the idle connection stayed open")
    assert c.status()["mode"] == "user" and steady.accepted == 2  # and opens a new one


def test_keep_alive_with_the_real_server(server: JupyterServerProcess) -> None:
    env = server.kernel_environment()
    c = client.ServerClient(env[SERVER_URL_ENV], env[SERVER_SECRET_ENV])
    try:
        assert c.status()["mode"] == "user"
        for _ in range(5):
            assert isinstance(c.accounts(), list)
    finally:
        c.close()


def test_stale_keep_alive_is_retried_once(flaky: LocalServer) -> None:
    c = client.ServerClient(flaky.url, "the-secret")
    for _ in range(3):
        assert c.status() == {"mode": "user"}
    assert flaky.paths == ["/some/base/jupyter-msal/status"] * 3
    assert flaky.accepted == 3  # one new connection per call, the stale one retried once
    assert all(h["X-Jupyter-Msal-Secret"] == "the-secret" for h in flaky.headers)


def test_unix_socket_server(tmp_path: Any) -> None:
    import socketserver
    from urllib.parse import quote

    path = str(tmp_path / "jupyter.sock")
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

    httpd = UnixServer(path, Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        c = client.ServerClient(f"http+unix://{quote(path, safe='')}/base/", "s")
        assert c.status() == {} and c.status() == {}
        assert seen == ["/base/jupyter-msal/status"] * 2
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_server_without_the_extension() -> None:
    srv = LocalServer(status=404, body=b"<html>404</html>")
    try:
        with pytest.raises(ServerUnavailable, match="has no jupyter-msal extension"):
            client.ServerClient(srv.url, "s").status()
    finally:
        srv.close()


def test_get_client_picks_the_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    client.reset_client(None)
    try:
        monkeypatch.setenv("JUPYTER_MSAL_SERVER_URL", "http://127.0.0.1:1234/")
        monkeypatch.setenv("JUPYTER_MSAL_SERVER_SECRET", "s")
        server_mode = client.get_client()
        assert isinstance(server_mode, client.ServerClient) and client.get_client() is server_mode
        client.reset_client(None)
        monkeypatch.delenv("JUPYTER_MSAL_SERVER_URL")
        direct = client.get_client()
        assert isinstance(direct, client.DirectClient) and direct.mode == "direct"
        assert direct._service is None  # nothing (msal) is loaded until first use
    finally:
        client.reset_client(None)


# -- magics plumbing (an in-process IPython shell) -------------------------------------------------


@pytest.fixture(scope="module")
def ip(ipython_shell: Any) -> Any:
    """The in-process IPython shell the magics run in."""
    return ipython_shell


def test_dollar_expansion() -> None:
    ns = {"scopes": ["a", "b"], "who": "ada", "n": 3}
    assert magics._expand(["$scopes", "-a", "$who", "$n", "$$literal", "x$y"], ns) == [
        "a",
        "b",
        "-a",
        "ada",
        "3",
        "$literal",
        "x$y",
    ]
    with pytest.raises(UsageError, match="no variable named 'nope'"):
        magics._expand(["$nope"], ns)


def test_load_and_unload_extension(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[str] = []

    def theirs(
        shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None
    ) -> Any:
        seen.append(str(value))
        return []

    ip.set_custom_exc((KeyError,), theirs)
    ip.run_line_magic("load_ext", "jupyter_msal")
    try:
        assert {"msal_token", "msal_accounts", "msal_login", "msal_logout"} <= set(
            ip.magics_manager.magics["line"]
        )
        capsys.readouterr()
        ip.run_cell(
            "from jupyter_msal.errors import ScopeNotAllowed\n"
            "def deep():\n    raise ScopeNotAllowed('The scope x is not allowed.', hint='Ask.')\n"
            "deep()"
        )
        out = capsys.readouterr().out
        assert out.strip().splitlines() == [
            "\x1b[0;31mERROR:\x1b[0m The scope x is not allowed. Ask."
        ]
        ip.run_cell("raise KeyError('still theirs')")
        assert seen == ["'still theirs'"]
        ip.run_cell("raise ValueError('plain')")
        assert "Traceback" in capsys.readouterr().out
        with pytest.raises(UsageError, match="unrecognized arguments: --nope"):
            ip.run_line_magic("msal_token", "s --nope")
        with pytest.raises(UsageError, match="--timeout must be zero or more"):
            ip.run_line_magic("msal_token", "s --timeout -1")
    finally:
        ip.run_line_magic("unload_ext", "jupyter_msal")
    assert "msal_token" not in ip.magics_manager.magics["line"]
    assert ip.custom_exceptions == (KeyError,)
    ip.run_cell("raise KeyError('after unload')")
    assert seen[-1] == "'after unload'"
    ip.set_custom_exc((), None)


def test_jupyter_msal_errors_are_single_lines() -> None:
    # Every message the kernel shows is str(error): one line, with the hint.
    err = JupyterMsalError("Something failed.", hint="Do this.", aadsts="50076")
    assert str(err) == "Something failed. (AADSTS50076) Do this."
    assert json.dumps(err.to_dict()).count("\\n") == 0
