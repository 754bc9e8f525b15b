"""How a kernel reaches the token service: over the server's REST API, or in-process.

Both clients have the same methods and raise the typed errors of :mod:`jupyter_msal.errors`:

* :class:`ServerClient` — the kernel was started by a Jupyter server with the extension, which
  put ``JUPYTER_MSAL_SERVER_URL`` and ``JUPYTER_MSAL_SERVER_SECRET`` into the kernel's
  environment. Uses ``http.client`` with keep-alive connections; imports neither msal nor
  requests.
* :class:`DirectClient` — no server (VS Code, plain IPython, papermill, a script): runs
  :class:`jupyter_msal.service.TokenService` in this process, with the same configuration and
  the same cache file as the server would use.

:func:`get_client` picks one from the environment, once per process.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

from ..constants import SECRET_HEADER, SERVER_SECRET_ENV, SERVER_URL_ENV
from ..errors import (
    BadRequest,
    JupyterMsalError,
    NotFound,
    ServerUnavailable,
    error_from_dict,
)
from ..models import Account
from .token import AccessToken

__all__ = [
    "SECRET_HEADER",
    "SERVER_SECRET_ENV",
    "SERVER_URL_ENV",
    "Client",
    "DirectClient",
    "ServerClient",
    "get_client",
    "reset_client",
]


log = logging.getLogger("jupyter_msal.kernel")


class Client(Protocol):
    """What the kernel API needs from the token service, wherever it runs."""

    #: ``"server"`` or ``"direct"``.
    mode: str

    def token(
        self,
        scopes: Sequence[str],
        account: str | None = None,
        force_refresh: bool = False,
        claims: str | None = None,
    ) -> AccessToken:
        """An access token, silently (raises ``SignInRequired`` when a sign-in is needed)."""
        ...

    def accounts(self) -> list[Account]:
        """The signed-in accounts."""
        ...

    def sign_out(self, account: str | None = None, *, all_accounts: bool = False) -> list[Account]:
        """Remove one account (or all) from the cache; returns those removed."""
        ...

    def start_sign_in(
        self, method: str = "auto", scopes: Sequence[str] = (), claims: str | None = None
    ) -> dict[str, Any]:
        """Start a sign-in flow (satisfying ``claims``, if given); returns its FLOW JSON."""
        ...

    def wait_sign_in(self, flow_id: str, wait: float = 10.0) -> dict[str, Any]:
        """The flow's FLOW JSON once it is no longer pending, or after ``wait`` seconds."""
        ...

    def cancel_sign_in(self, flow_id: str) -> dict[str, Any]:
        """Cancel a pending flow; returns its FLOW JSON."""
        ...

    def status(self) -> dict[str, Any]:
        """The service's status document (``GET jupyter-msal/status``)."""
        ...

    def close(self) -> None:
        """Release connections (server mode) or the service (direct mode)."""
        ...


# ---------------------------------------------------------------------------------------------
# Server mode


class ServerClient:
    """Talks to the jupyter-msal REST API of the Jupyter server that started this kernel.

    Args:
        url: the server URL including ``base_url``, e.g. ``http://127.0.0.1:8888/lab-base/``.
            ``http+unix://<url-encoded socket path>/`` reaches a server listening on a socket.
        secret: the kernel secret (header ``X-Jupyter-Msal-Secret``), or
        jupyter_token: a Jupyter API token (``Authorization: token …``), for scripts.
        timeout: socket timeout in seconds for requests that do not wait on a sign-in.
    """

    mode = "server"

    def __init__(
        self,
        url: str,
        secret: str | None = None,
        *,
        jupyter_token: str | None = None,
        timeout: float = 60.0,
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
        self._prefix = (parts.path.rstrip("/") or "") + "/jupyter-msal/"
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
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
    ) -> AccessToken:
        """``POST jupyter-msal/token``."""
        body: dict[str, Any] = {"scopes": list(scopes)}
        if account:
            body["account"] = account
        if force_refresh:
            body["force_refresh"] = True
        if claims:
            body["claims"] = claims
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
            raise BadRequest("Name the account to sign out of, or sign out of all accounts.")
        return [Account.from_dict(a) for a in doc.get("removed", [])]

    def start_sign_in(
        self, method: str = "auto", scopes: Sequence[str] = (), claims: str | None = None
    ) -> dict[str, Any]:
        """``POST jupyter-msal/sign-ins``."""
        body: dict[str, Any] = {"method": method}
        if scopes:
            body["scopes"] = list(scopes)
        if claims:
            body["claims"] = claims
        return self.request("POST", "sign-ins", body)

    def wait_sign_in(self, flow_id: str, wait: float = 10.0) -> dict[str, Any]:
        """``GET jupyter-msal/sign-ins/{id}?wait=…``."""
        wait = max(0.0, min(30.0, wait))
        path = f"sign-ins/{quote(flow_id, safe='')}?wait={wait:g}"
        return self.request("GET", path, timeout=max(self.timeout, wait + 30.0))

    def cancel_sign_in(self, flow_id: str) -> dict[str, Any]:
        """``DELETE jupyter-msal/sign-ins/{id}``."""
        return self.request("DELETE", f"sign-ins/{quote(flow_id, safe='')}")

    def status(self) -> dict[str, Any]:
        """``GET jupyter-msal/status``."""
        return self.request("GET", "status")

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


# ---------------------------------------------------------------------------------------------
# Direct mode


class DirectClient:
    """Runs the token service in this process (no Jupyter server with the extension).

    Configuration comes from the same places the server reads: ``jupyter_msal_config.*`` and
    ``jupyter_server_config.*`` files on the Jupyter config path, and ``JUPYTER_MSAL_*``
    environment variables. The token cache file (and its cross-process lock) is shared with
    any server using the same configuration.
    """

    mode = "direct"

    def __init__(self, service: Any | None = None) -> None:
        self._service = service
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "<DirectClient (in-process token service)>"

    @property
    def service(self) -> Any:
        """The in-process :class:`~jupyter_msal.service.TokenService`, created on first use."""
        if self._service is None:
            with self._lock:
                if self._service is None:
                    from ..config import load_settings
                    from ..service import TokenService

                    self._service = TokenService(load_settings(), log=log)
        return self._service

    def token(
        self,
        scopes: Sequence[str],
        account: str | None = None,
        force_refresh: bool = False,
        claims: str | None = None,
    ) -> AccessToken:
        """``TokenService.acquire_token``."""
        tok = self.service.acquire_token(
            list(scopes), account=account, force_refresh=force_refresh, claims=claims
        )
        return AccessToken.from_model(tok)

    def accounts(self) -> list[Account]:
        """``TokenService.list_accounts``."""
        return list(self.service.list_accounts())

    def sign_out(self, account: str | None = None, *, all_accounts: bool = False) -> list[Account]:
        """``TokenService.sign_out``."""
        if not all_accounts and not account:
            raise BadRequest("Name the account to sign out of, or sign out of all accounts.")
        return list(self.service.sign_out(account, all_accounts=all_accounts))

    def start_sign_in(
        self, method: str = "auto", scopes: Sequence[str] = (), claims: str | None = None
    ) -> dict[str, Any]:
        """``TokenService.flows.start``."""
        return dict(self.service.flows.start(method, list(scopes), claims).to_dict())

    def _flow(self, flow_id: str) -> Any:
        flow = self.service.flows.get(flow_id)
        if flow is None:
            raise NotFound(f"No sign-in with id {flow_id!r}.")
        return flow

    def wait_sign_in(self, flow_id: str, wait: float = 10.0) -> dict[str, Any]:
        """Block on the flow for at most ``wait`` seconds."""
        flow = self._flow(flow_id)
        flow.wait(max(0.0, wait))
        return dict(flow.to_dict())

    def cancel_sign_in(self, flow_id: str) -> dict[str, Any]:
        """``TokenService.flows.cancel``."""
        self.service.flows.cancel(flow_id)
        return dict(self._flow(flow_id).to_dict())

    def status(self) -> dict[str, Any]:
        """``TokenService.status``."""
        return dict(self.service.status())

    def close(self) -> None:
        """Close the in-process service (flushes and unlocks the cache)."""
        with self._lock:
            svc, self._service = self._service, None
        if svc is not None:
            svc.close()


# ---------------------------------------------------------------------------------------------

_client: Client | None = None
_client_lock = threading.Lock()


def get_client() -> Client:
    """The process-wide client: server mode when ``JUPYTER_MSAL_SERVER_URL`` is set, else direct."""
    global _client
    client = _client
    if client is None:
        with _client_lock:
            if _client is None:
                url = os.environ.get(SERVER_URL_ENV, "").strip()
                if url:
                    _client = ServerClient(url, os.environ.get(SERVER_SECRET_ENV))
                else:
                    _client = DirectClient()
            client = _client
    return client


def reset_client(client: Client | None = None) -> None:
    """Forget the process-wide client (closing it), or install ``client`` instead."""
    global _client
    with _client_lock:
        old, _client = _client, client
    if old is not None and old is not client:
        try:
            old.close()
        except JupyterMsalError:  # pragma: no cover - best effort
            log.debug("closing the old client failed", exc_info=True)
