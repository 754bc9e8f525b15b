"""A Key Vault stand-in over HTTPS that accepts the Entra ID emulator's tokens for one tenant.

Enough of the Key Vault data plane for the real ``azure-keyvault-secrets`` client
(``SecretClient.get_secret``), with Key Vault's challenge protocol::

    with EntraEmulator() as emu, KeyVault(emu, tenant_id=guest_tenant) as vault:
        vault.set_secret("db-password", "s3cret")
        client = SecretClient(vault.url, credential, verify_challenge_resource=False)
        client.get_secret("db-password").value

A request without a bearer token gets ``401`` with the challenge real vaults send::

    WWW-Authenticate: Bearer authorization="<emulator URL>/<vault tenant>",
                      resource="https://vault.azure.net"

The client reads the tenant from that URL's path and asks its credential for a token of that
tenant (``get_token(scope, tenant_id=...)``). A token is accepted when its ``tid`` is the
vault's tenant, its ``aud`` is ``https://vault.azure.net`` and it has not expired; a token of
another tenant gets ``401`` with an ``AKV10032`` "Invalid issuer" error, as real vaults answer.
Signatures are not checked (the emulator signs with anything).

The vault serves on a free loopback port from a daemon thread (one thread per connection)
with a certificate from the emulator's CA: whoever trusts :attr:`EntraEmulator.ca_bundle_path
<jupyter_msal.testing.EntraEmulator.ca_bundle_path>` trusts the vault. Its URL is
``https://127.0.0.1:<port>/``, not a ``*.vault.azure.net`` name: clients pass
``verify_challenge_resource=False``.
"""

from __future__ import annotations

import json
import secrets
import shutil
import ssl
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from .emulator.tokens import decode_jwt
from .running import StartsAndStops

if TYPE_CHECKING:
    from .emulator import EntraEmulator

__all__ = ["VAULT_RESOURCE", "KeyVault", "VaultRequest"]

#: The resource (audience) of Key Vault tokens in the public cloud.
VAULT_RESOURCE = "https://vault.azure.net"

VaultRequest = dict[str, Any]
"""One logged request: ``method``, ``path``, ``status`` and ``tid`` (the tenant of the token
presented, None without one). Never a token."""


class _Refusal(Exception):
    """An answer other than 200, with Key Vault's error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class KeyVault(StartsAndStops):
    """A vault of tenant ``tenant_id`` on a free loopback port, trusting ``emulator``'s tokens.

    :param emulator: a running :class:`~jupyter_msal.testing.EntraEmulator`; its URL is the
        challenge's authority host and its CA issues the vault's certificate.
    :param tenant_id: the vault's tenant: the challenge names it and tokens must carry it
        (default: the emulator's default tenant).
    :param resource: the audience tokens must have (the challenge's ``resource``).
    """

    def __init__(
        self,
        emulator: EntraEmulator,
        tenant_id: str | None = None,
        *,
        resource: str = VAULT_RESOURCE,
    ) -> None:
        self.emulator = emulator
        self.tenant_id = tenant_id or emulator.default_tenant_id
        self.resource = resource
        self._secrets: dict[str, tuple[str, str]] = {}
        self._requests: list[VaultRequest] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tls_dir: str | None = None

    # ------------------------------------------------------------- lifecycle
    def start(self) -> KeyVault:
        """Serve on a free loopback port in a background thread; returns ``self``."""
        if self._server is not None:
            raise RuntimeError("the vault is already running")
        self._tls_dir = tempfile.mkdtemp(prefix="jupyter-msal-keyvault-")
        cert, key = self.emulator.issue_certificate(self._tls_dir, "127.0.0.1", "localhost")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        server = _VaultServer(("127.0.0.1", 0), _VaultHandler, vault=self, context=context)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"KeyVault:{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and delete the certificate. Safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=10)
        if self._tls_dir:
            shutil.rmtree(self._tls_dir, ignore_errors=True)
            self._tls_dir = None

    def __repr__(self) -> str:
        where = self.url if self._server else "stopped"
        return f"<KeyVault {where} tenant={self.tenant_id}>"

    # ---------------------------------------------------------------- places
    @property
    def port(self) -> int:
        """The port the vault listens on."""
        if self._server is None:
            raise RuntimeError("the vault is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The vault URL clients use: ``https://127.0.0.1:<port>/``."""
        return f"https://127.0.0.1:{self.port}/"

    @property
    def challenge(self) -> str:
        """The ``WWW-Authenticate`` header of this vault's ``401`` answers."""
        return (
            f'Bearer authorization="{self.emulator.url}/{self.tenant_id}", '
            f'resource="{self.resource}"'
        )

    # ---------------------------------------------------------------- content
    def set_secret(self, name: str, value: str) -> str:
        """Store ``value`` as the latest version of secret ``name``; returns the version."""
        version = secrets.token_hex(16)
        with self._lock:
            self._secrets[name] = (version, value)
        return version

    @property
    def requests(self) -> list[VaultRequest]:
        """Copy of the request log (see :data:`VaultRequest`)."""
        with self._lock:
            return [dict(entry) for entry in self._requests]

    def reset(self) -> None:
        """Empty the request log."""
        with self._lock:
            self._requests.clear()

    def _record(self, entry: VaultRequest) -> None:
        with self._lock:
            self._requests.append(entry)

    # --------------------------------------------------------------- answers
    def presented(self, authorization: str | None) -> dict[str, Any]:
        """The claims of the bearer token in ``authorization``; :class:`_Refusal` (401) when
        there is none or it is no JWT."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _Refusal(
                401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token."
            )
        try:
            return decode_jwt(token.strip())
        except ValueError:
            raise _Refusal(401, "Unauthorized", "AKV10005: The token is malformed.") from None

    def authorize(self, claims: dict[str, Any]) -> None:
        """Accept a token of this vault's tenant and audience that has not expired;
        :class:`_Refusal` (401) with Key Vault's message otherwise."""
        audience = str(claims.get("aud") or "")
        if audience.rstrip("/") != self.resource.rstrip("/"):
            raise _Refusal(
                401,
                "Unauthorized",
                f"AKV10022: Invalid audience. Expected {self.resource}, found: {audience}.",
            )
        if str(claims.get("tid") or "").lower() != self.tenant_id.lower():
            raise _Refusal(
                401,
                "Unauthorized",
                f"AKV10032: Invalid issuer. Expected one of https://sts.windows.net/"
                f"{self.tenant_id}/, found {claims.get('iss')}.",
            )
        if int(claims.get("exp") or 0) <= time.time():
            raise _Refusal(401, "Unauthorized", "AKV10017: The token has expired.")

    def secret_bundle(self, name: str) -> dict[str, Any]:
        """The JSON Key Vault answers for the latest version of ``name`` (404 if unknown)."""
        with self._lock:
            stored = self._secrets.get(name)
        if stored is None:
            raise _Refusal(
                404,
                "SecretNotFound",
                f"A secret with (name/id) {name} was not found in this key vault.",
            )
        version, value = stored
        now = int(time.time())
        return {
            "value": value,
            "id": f"{self.url}secrets/{name}/{version}",
            "attributes": {
                "enabled": True,
                "created": now,
                "updated": now,
                "recoveryLevel": "Recoverable+Purgeable",
                "recoverableDays": 90,
            },
            "tags": {},
        }

    def answer(self, method: str, target: str, authorization: str | None) -> tuple[int, Any]:
        """Status and JSON body for one request (logged)."""
        entry: VaultRequest = {"method": method, "path": urlsplit(target).path, "tid": None}
        self._record(entry)
        try:
            claims = self.presented(authorization)
            entry["tid"] = claims.get("tid")
            self.authorize(claims)
            status, body = 200, self._route(method, target)
        except _Refusal as refusal:
            status = refusal.status
            body = {"error": {"code": refusal.code, "message": refusal.message}}
        entry["status"] = status
        return status, body

    def _route(self, method: str, target: str) -> Any:
        parts = urlsplit(target)
        if not parse_qs(parts.query).get("api-version"):
            raise _Refusal(400, "BadParameter", "The api-version query parameter is missing.")
        segments = [unquote(s) for s in parts.path.strip("/").split("/")]
        if method != "GET" or len(segments) not in (2, 3) or segments[0] != "secrets":
            raise _Refusal(
                405 if method != "GET" else 404,
                "NotSupported",
                "This Key Vault stand-in serves GET /secrets/{name}[/{version}] only.",
            )
        return self.secret_bundle(segments[1])


class _VaultServer(ThreadingHTTPServer):
    """One thread per connection; TLS handshakes happen in that thread, not the listener's."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        vault: KeyVault,
        context: ssl.SSLContext,
    ) -> None:
        self.vault = vault
        self.context = context
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Wrap the connection in TLS, then answer it."""
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up are not errors worth a traceback."""


class _VaultHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, as the Azure SDK's transport expects."""

    protocol_version = "HTTP/1.1"
    timeout = 30
    server: _VaultServer

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        vault = self.server.vault
        status, body = vault.answer(self.command, self.path, self.headers.get("Authorization"))
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-ms-keyvault-service-version", "1.9.0.0")
        if status == 401:
            self.send_header("WWW-Authenticate", vault.challenge)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr (the request log is :attr:`KeyVault.requests`)."""
