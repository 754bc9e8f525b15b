"""Shared fixtures: a real Jupyter server with jupyter-msal, pointed at the TLS emulator.

* ``msal_emulator``: the Entra ID emulator of the test. One emulator serves every test of a
  module and is reset to a fresh start (``EntraEmulator.reset()``: settings, users, codes,
  tokens, faults, counts) before each test; a test marked ``@pytest.mark.fresh_emulator``
  gets one of its own (for tests that stop it or must see a new address).
* ``msal_env``: environment variables (set with monkeypatch) that point jupyter-msal at the
  test's emulator with a throwaway cache; the server and the kernels it starts inherit them.
* ``jp_server_config``: pytest-jupyter's server config with the extension enabled.
* ``msal_app`` / ``msal_service``: the loaded extension app and its TokenService.
* ``service``: a TokenService in the test's own process (no server) on the same settings.
* ``shell_env``: a plain shell's environment (direct mode) with its own copy of the CA.
* ``api``: a small async client for ``jupyter-msal/...`` on the pytest-jupyter server; every
  JSON answer it receives must be one the served OpenAPI document (``openapi_doc``) describes
  (operation, status code and schema), so the document cannot drift from the code;
  ``sign_in``: a device-code sign-in through it, approved at the emulator.
* ``subprocess_env`` / ``start_server``: the same settings for subprocesses (the CLI, direct
  mode), and Jupyter servers in subprocesses, stopped after the test.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from jupyter_msal.config import JupyterMsal
from jupyter_msal.server.openapi import openapi_document
from jupyter_msal.service import TokenService
from jupyter_msal.testing import DEFAULT_USERNAME, EntraEmulator
from jupyter_msal.testing.server import (
    HTTP_TIMEOUT,
    MANAGED_IDENTITY_VARIABLES,
    JupyterServerProcess,
    emulator_environment,
)

pytest_plugins = ["pytest_jupyter.jupyter_server", "jupyter_msal.testing.pytest_plugin"]


def _new_emulator() -> EntraEmulator:
    return EntraEmulator(device_code_interval=1)


@pytest.fixture(scope="module")
def shared_msal_emulator() -> Iterator[EntraEmulator]:
    """The emulator the tests of one module share (see ``msal_emulator``)."""
    with _new_emulator() as emulator:
        yield emulator


@pytest.fixture
def msal_emulator(
    request: pytest.FixtureRequest, shared_msal_emulator: EntraEmulator
) -> Iterator[EntraEmulator]:
    """The module's emulator reset to a fresh start, or a new one for a test marked
    ``fresh_emulator``."""
    if request.node.get_closest_marker("fresh_emulator"):
        with _new_emulator() as emulator:
            yield emulator
        return
    if not shared_msal_emulator.running:  # a test stopped it
        shared_msal_emulator.stop()
        shared_msal_emulator.start()
    shared_msal_emulator.reset()
    yield shared_msal_emulator


@pytest.fixture
def msal_extra_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """JUPYTER_MSAL_* settings for the test's server: none, or the test's indirect
    parametrization; override in a test module for settings of its own."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
def no_outside_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """No managed identity from outside this test, and IMDS (were anything to try it) on a
    closed loopback port: for tests of the server's managed-identity endpoint."""
    for name in MANAGED_IDENTITY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")


@pytest.fixture
def cache_file(tmp_path: Path) -> Path:
    """Where the test's token cache lives."""
    return tmp_path / "msal-cache" / "token_cache.bin"


@pytest.fixture
def msal_env(
    msal_emulator: EntraEmulator,
    cache_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    msal_extra_env: dict[str, str],
) -> dict[str, str]:
    """Point jupyter-msal (server, kernels, CLI) at the emulator, with a throwaway cache."""
    env = msal_emulator.jupyter_msal_env(cache_path=cache_file, http_timeout=HTTP_TIMEOUT)
    env.update(msal_extra_env)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in (
        "JUPYTER_MSAL_SERVER_URL",
        "JUPYTER_MSAL_SERVER_SECRET",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
    ):
        monkeypatch.delenv(name, raising=False)
    return env


@pytest.fixture
def subprocess_env(msal_emulator: EntraEmulator, cache_file: Path) -> dict[str, str]:
    """This process's environment pointed at the test's emulator and cache, for subprocesses."""
    return emulator_environment(msal_emulator, cache_file)


StartServer = Callable[..., JupyterServerProcess]


@pytest.fixture
def start_server(tmp_path: Path, subprocess_env: dict[str, str]) -> Iterator[StartServer]:
    """``start_server(env=None, name="server")``: a Jupyter server with the extension in a
    subprocess (``subprocess_env`` unless ``env`` is given), working in ``tmp_path / name``.

    Every server started is stopped after the test, also one whose start failed.
    """
    servers: list[JupyterServerProcess] = []

    def start(
        env: dict[str, str] | None = None, name: str = "server", timeout: float = 60
    ) -> JupyterServerProcess:
        server = JupyterServerProcess(subprocess_env if env is None else env, tmp_path / name)
        servers.append(server)
        return server.start(timeout)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def jp_server_config(msal_env: dict[str, str]) -> dict[str, Any]:
    """The extension enabled; authentication stays on."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_msal": True},
            "allow_unauthenticated_access": False,
        }
    }


@pytest.fixture
def msal_app(jp_serverapp: Any) -> Any:
    """The loaded JupyterMsalApp."""
    return next(iter(jp_serverapp.extension_manager.extension_apps["jupyter_msal"]))


@pytest.fixture
def msal_service(msal_app: Any) -> Any:
    """The server's TokenService."""
    return msal_app.service


def _operation(doc: dict[str, Any], method: str, path: str) -> dict[str, Any] | None:
    """The OpenAPI operation a request for ``path`` (below ``jupyter-msal/``) is answered by."""
    segments = path.split("?")[0].strip("/").split("/")
    for template, item in doc["paths"].items():
        parts = template.strip("/").split("/")
        if len(parts) == len(segments) and all(
            p == s or (p.startswith("{") and p.endswith("}"))
            for p, s in zip(parts, segments, strict=True)
        ):
            return item.get(method.lower())
    return None


#: How the server answers a method or path it does not serve.
NOT_SERVED = frozenset({404, 405})


def check_against_openapi(
    doc: dict[str, Any], method: str, path: str, status: int, body: Any
) -> None:
    """Fail unless the answer is one the OpenAPI document ``doc`` describes, schema and all.

    A request for an operation the document does not describe must be refused as not served
    (404 or 405): an endpoint that answers anything else is missing from the document.
    """
    import jsonschema

    operation = _operation(doc, method, path)
    if operation is None:
        assert status in NOT_SERVED, (
            f"{method} {path} answered {status}, but openapi.json does not document "
            f"{method} {path.split('?')[0]}: {body!r}"
        )
        return
    if not isinstance(body, dict):
        return  # not a JSON answer (checked by the caller)
    responses = operation["responses"]
    assert str(status) in responses, (
        f"{method} {path} answered {status}, which openapi.json does not document: {body!r}"
    )
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    jsonschema.validate(body, {**schema, "components": doc["components"]})


@pytest.fixture
def openapi_doc() -> dict[str, Any]:
    """The OpenAPI document the server serves, which ``api`` checks every answer against."""
    return openapi_document()


Api = Callable[..., Awaitable[tuple[int, Any]]]


@pytest.fixture
def api(jp_fetch: Any, msal_app: Any, openapi_doc: dict[str, Any]) -> Api:
    """``await api("POST", "token", {"scopes": [...]})`` -> (status, JSON body); never raises."""

    async def call(
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        params: dict[str, str] | None = None,
        request_timeout: float = 30,
    ) -> tuple[int, Any]:
        payload = (
            raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        )
        if payload is None and method in {"POST", "PUT", "PATCH"}:
            payload = b""
        response = await jp_fetch(
            "jupyter-msal",
            *(unquote(part) for part in path.split("/")),  # jp_fetch quotes them
            method=method,
            body=payload,
            headers=headers,
            params=params,
            raise_error=False,
            request_timeout=request_timeout,
            allow_nonstandard_methods=True,
        )
        text = response.body.decode() if response.body else ""
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = text
        check_against_openapi(openapi_doc, method, path, response.code, data)
        return response.code, data

    return call


@pytest.fixture
def kernel_headers(msal_app: Any) -> dict[str, str]:
    """Headers a kernel of this server sends (the per-server secret, no Jupyter token)."""
    return {"X-Jupyter-Msal-Secret": msal_app.kernel_secret, "Authorization": ""}


SignIn = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def sign_in(api: Api, msal_emulator: EntraEmulator) -> SignIn:
    """``await sign_in(username=...)``: a device-code sign-in through the REST API, approved
    at the emulator the moment its code is issued (so the server's first poll succeeds and
    no polling interval is waited out); returns the finished flow (it must have succeeded)."""

    async def run(username: str = DEFAULT_USERNAME) -> dict[str, Any]:
        approval = msal_emulator.approve_next(username=username)
        status, flow = await api("POST", "sign-ins", {})
        if status != 202:
            approval.cancel()
        assert status == 202, flow
        assert approval.wait(0) == flow["user_code"]
        for _ in range(6):
            status, flow = await api("GET", f"sign-ins/{flow['id']}", params={"wait": "10"})
            if flow["state"] != "pending":
                break
        assert flow["state"] == "succeeded", flow
        return flow

    return run


@pytest.fixture
def service(msal_env: dict[str, str]) -> Iterator[TokenService]:
    """A token service in this process on the test's emulator and cache."""
    svc = TokenService(JupyterMsal())
    try:
        yield svc
    finally:
        svc.close()


@pytest.fixture
def shell_env(msal_emulator: EntraEmulator, tmp_path: Path) -> dict[str, str]:
    """A plain shell's environment (direct mode) on the test's emulator, cache and CA copy.

    The CA certificate is copied so that the emulator can be stopped (a refused connection)
    while processes keep their configuration.
    """
    ca = tmp_path / "ca.pem"
    shutil.copy(msal_emulator.ca_bundle_path, ca)
    (tmp_path / "config").mkdir()
    return emulator_environment(
        msal_emulator,
        tmp_path / "cache" / "token_cache.bin",
        JUPYTER_MSAL_CA_BUNDLE=str(ca),
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
    )


@pytest.fixture(scope="session")
def ipython_shell() -> Any:
    """IPython's test shell in this process (``IPython.testing.globalipapp``), shared by every
    test that needs one: ``start_ipython()`` makes it only once and returns None afterwards."""
    from IPython.terminal.interactiveshell import TerminalInteractiveShell
    from IPython.testing.globalipapp import start_ipython

    return start_ipython() or TerminalInteractiveShell.instance()
