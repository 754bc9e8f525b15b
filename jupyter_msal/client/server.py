"""Server mode: the client of the jupyter-msal REST API of a running Jupyter server.

The kernel was started by a Jupyter server with the extension, which put
``JUPYTER_MSAL_SERVER_URL`` and ``JUPYTER_MSAL_SERVER_SECRET`` into the kernel's environment.
Uses ``http.client`` with keep-alive connections; imports neither msal nor requests.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from .._version import __version__
from ..constants import API_PATH, SECRET_HEADER, SERVER_URL_ENV
from ..errors import AccountNotNamed, ServerUnavailable, error_from_dict
from ..models import AccessToken, Account
from .base import SignInWaiting

__all__ = ["ServerClient"]


def _caller() -> str:
    """``kernel`` inside a Jupyter kernel, ``terminal`` otherwise (``jupyter msal``, scripts)."""
    return "kernel" if "ipykernel" in sys.modules else "terminal"


class ServerClient(SignInWaiting):
    """Talks to the jupyter-msal REST API of the Jupyter server that started this kernel.

    Args:
        url: the server URL including ``base_url``, e.g. ``http://127.0.0.1:8888/lab-base/``.
            ``http+unix://<url-encoded socket path>/`` reaches a server listening on a socket.
        secret: the kernel secret (header ``X-Jupyter-Msal-Secret``), or
        jupyter_token: a Jupyter API token (``Authorization: token …``), for scripts.
        timeout: socket timeout in seconds for requests that do not wait on a sign-in.
        caller: ``kernel`` or ``terminal``, sent in the User-Agent so that the server can say
            who asked for a token when nobody is signed in (default: ``kernel`` inside a
            Jupyter kernel, ``terminal`` otherwise).
    """

    mode = "server"

    def __init__(
        self,
        url: str,
        secret: str | None = None,
        *,
        jupyter_token: str | None = None,
        timeout: float = 60.0,
        caller: str | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https", "http+unix"} or not parts.netloc:
            raise ServerUnavailable(
                f"{SERVER_URL_ENV}={url!r} is not an http(s) URL.",
                hint=f"Unset {SERVER_URL_ENV} to use direct mode, or restart the kernel.",
            )
        self.url = url if url.endswith("/") else url + "/"
        self._scheme = parts.scheme
        self._netloc = parts.netloc
        self._prefix = (parts.path.rstrip("/") or "") + f"/{API_PATH}/"
        self._headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            # who asks, for the server's "a kernel asked for a token" notice
            "User-Agent": f"jupyter-msal/{__version__} ({caller or _caller()})",
        }
        if secret:
            self._headers[SECRET_HEADER] = secret
        if jupyter_token:
            self._headers["Authorization"] = f"token {jupyter_token}"
        self.timeout = timeout
        self._idle: list[Any] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<ServerClient {self.url}>"

    # -- transport ---------------------------------------------------------------------------

    def _connect(self, timeout: float) -> Any:
        import http.client

        if self._scheme == "https":
            return http.client.HTTPSConnection(self._netloc, timeout=timeout)
        if self._scheme == "http+unix":
            return _unix_connection(unquote(self._netloc), timeout=timeout)
        return http.client.HTTPConnection(self._netloc, timeout=timeout)

    def _checkout(self, timeout: float) -> tuple[Any, bool]:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            return self._connect(timeout), False
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn, True

    def _checkin(self, conn: Any) -> None:
        with self._lock:
            if len(self._idle) < 4:
                self._idle.append(conn)
                return
        conn.close()

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Any:
        """Send one request below ``jupyter-msal/``; the decoded JSON answer, or a typed error."""
        import http.client

        data = json.dumps(body).encode() if body is not None else None
        timeout = self.timeout if timeout is None else timeout
        target = self._prefix + path
        for attempt in (0, 1):
            conn, reused = self._checkout(timeout)
            try:
                conn.request(method, target, body=data, headers=self._headers)
                resp = conn.getresponse()
                raw = resp.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                conn.close()
                if reused and attempt == 0:
                    continue  # a keep-alive connection the server had closed: retry once
                raise self._unavailable(exc) from None
            except TimeoutError as exc:
                conn.close()
                raise ServerUnavailable(
                    f"The Jupyter server at {self.url} did not answer within {timeout:g} s.",
                    hint="Check that the server is still running.",
                ) from exc
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise self._unavailable(exc) from None
            except BaseException:
                # KeyboardInterrupt mid-request: the connection is in an unknown state.
                conn.close()
                raise
            if resp.will_close:
                conn.close()
            else:
                self._checkin(conn)
            return self._decode(resp.status, raw)
        raise AssertionError("unreachable")  # pragma: no cover

    def _unavailable(self, exc: BaseException) -> ServerUnavailable:
        return ServerUnavailable(
            f"The Jupyter server at {self.url} cannot be reached ({type(exc).__name__}: {exc}).",
            hint="If the server was restarted, restart this kernel; "
            f"to run without a server, unset {SERVER_URL_ENV}.",
        )

    def _decode(self, status: int, raw: bytes) -> Any:
        try:
            doc = json.loads(raw) if raw else {}
        except ValueError:
            doc = None
        if status >= 400:
            if isinstance(doc, dict) and "error" in doc:
                raise error_from_dict(doc, status)
            if status == 404:
                raise ServerUnavailable(
                    f"The Jupyter server at {self.url} has no jupyter-msal extension (HTTP 404).",
                    hint="Enable it with `jupyter server extension enable jupyter_msal`.",
                )
            if status == 403:
                raise error_from_dict(
                    {
                        "error": "forbidden",
                        "message": f"The Jupyter server at {self.url} refused the kernel secret.",
                        "hint": "Restart this kernel so it gets the current server's secret.",
                    },
                    status,
                )
            raise ServerUnavailable(f"The Jupyter server at {self.url} answered HTTP {status}.")
        if doc is None:
            raise ServerUnavailable(f"The Jupyter server at {self.url} answered with non-JSON.")
        return doc

    # -- API ---------------------------------------------------------------------------------

    def token(
        self,
        scopes: Sequence[str],
        account: str | None = None,
        force_refresh: bool = False,
        claims: str | None = None,
        tenant: str | None = None,
    ) -> AccessToken:
        """``POST jupyter-msal/token``."""
        body: dict[str, Any] = {"scopes": list(scopes)}
        if account:
            body["account"] = account
        if force_refresh:
            body["force_refresh"] = True
        if claims:
            body["claims"] = claims
        if tenant is not None:
            body["tenant"] = tenant
        return AccessToken.from_response(self.request("POST", "token", body))

    def accounts(self) -> list[Account]:
        """``GET jupyter-msal/accounts``."""
        doc = self.request("GET", "accounts")
        return [Account.from_dict(a) for a in doc.get("accounts", [])]

    def sign_out(self, account: str | None = None, *, all_accounts: bool = False) -> list[Account]:
        """``DELETE jupyter-msal/accounts[/{account}]``."""
        if all_accounts:
            doc = self.request("DELETE", "accounts")
        elif account:
            doc = self.request("DELETE", "accounts/" + quote(account, safe=""))
        else:
            raise AccountNotNamed()
        return [Account.from_dict(a) for a in doc.get("removed", [])]

    def start_sign_in(
        self,
        method: str = "auto",
        scopes: Sequence[str] = (),
        claims: str | None = None,
        tenant: str | None = None,
    ) -> dict[str, Any]:
        """``POST jupyter-msal/sign-ins``."""
        body: dict[str, Any] = {"method": method}
        if scopes:
            body["scopes"] = list(scopes)
        if claims:
            body["claims"] = claims
        if tenant is not None:
            body["tenant"] = tenant
        return self.request("POST", "sign-ins", body)

    def wait_sign_in(
        self, flow_id: str, wait: float = 10.0, since: int | None = None
    ) -> dict[str, Any]:
        """``GET jupyter-msal/sign-ins/{id}?wait=…[&since=STEP]``."""
        wait = max(0.0, min(30.0, wait))
        path = f"sign-ins/{quote(flow_id, safe='')}?wait={wait:g}"
        if since is not None:
            path += f"&since={int(since)}"
        return self.request("GET", path, timeout=max(self.timeout, wait + 30.0))

    def cancel_sign_in(self, flow_id: str) -> dict[str, Any]:
        """``DELETE jupyter-msal/sign-ins/{id}``."""
        return self.request("DELETE", f"sign-ins/{quote(flow_id, safe='')}")

    def complete_sign_in(self, flow_id: str, url: str) -> dict[str, Any]:
        """``POST jupyter-msal/sign-ins/{id}/response``: the address the browser ended on."""
        return self.request("POST", f"sign-ins/{quote(flow_id, safe='')}/response", {"url": url})

    def status(self) -> dict[str, Any]:
        """``GET jupyter-msal/status``."""
        return self.request("GET", "status")

    def audiences(self) -> dict[str, Any]:
        """``GET jupyter-msal/audiences``."""
        return self.request("GET", "audiences")

    def close(self) -> None:
        """Close idle keep-alive connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _unix_connection_class() -> type:
    import http.client
    import socket

    class UnixHTTPConnection(http.client.HTTPConnection):
        def __init__(self, path: str, timeout: float) -> None:
            super().__init__("localhost", timeout=timeout)
            self._path = path

        def connect(self) -> None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            sock.connect(self._path)
            self.sock = sock

    return UnixHTTPConnection


def _unix_connection(path: str, timeout: float) -> Any:
    return _unix_connection_class()(path, timeout)
