"""Shared fixtures: a real Jupyter server with jupyter-msal, pointed at the TLS emulator.

* ``msal_env``: environment variables (set with monkeypatch) that point jupyter-msal at a
  fresh emulator with a throwaway cache; the server and the kernels it starts inherit them.
* ``jp_server_config``: pytest-jupyter's server config with the extension enabled.
* ``msal_app`` / ``msal_service``: the loaded extension app and its TokenService.
* ``api``: a small async client for ``jupyter-msal/...`` on the pytest-jupyter server.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def msal_extra_env() -> dict[str, str]:
    """Override in a test module (or parametrize) to add JUPYTER_MSAL_* settings."""
    return {}


@pytest.fixture
def cache_file(tmp_path: Path) -> Path:
    """Where the test's token cache lives."""
    return tmp_path / "msal-cache" / "token_cache.bin"


@pytest.fixture
def msal_env(
    msal_emulator: Any,
    cache_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    msal_extra_env: dict[str, str],
) -> dict[str, str]:
    """Point jupyter-msal (server, kernels, CLI) at the emulator, with a throwaway cache."""
    env = dict(msal_emulator.jupyter_msal_env())
    env.update(
        JUPYTER_MSAL_CACHE_PATH=str(cache_file),
        JUPYTER_MSAL_CACHE_ENCRYPTION="none",
        JUPYTER_MSAL_ALLOWED_HOSTS="127.0.0.1,localhost",
        JUPYTER_MSAL_HTTP_TIMEOUT="8",
    )
    env.update(msal_extra_env)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("JUPYTER_MSAL_SERVER_URL", "JUPYTER_MSAL_SERVER_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return env


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


Api = Callable[..., Awaitable[tuple[int, Any]]]


@pytest.fixture
def api(jp_fetch: Any, msal_app: Any) -> Api:
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
            *path.split("/"),
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
        return response.code, data

    return call


@pytest.fixture
def kernel_headers(msal_app: Any) -> dict[str, str]:
    """Headers a kernel of this server sends (the per-server secret, no Jupyter token)."""
    return {"X-Jupyter-Msal-Secret": msal_app.kernel_secret, "Authorization": ""}
