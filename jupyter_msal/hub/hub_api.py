"""The few JupyterHub REST API calls the hub service makes with its own API token.

The service reads a user's ``auth_state`` (role scope ``admin:auth_state``) and writes it back
when the identity provider rotated the refresh token (``admin:users``). JupyterHub keeps
``auth_state`` encrypted in its own database with ``JUPYTERHUB_CRYPT_KEY``.

:class:`HubApi` makes the calls on the event loop with tornado's ``AsyncHTTPClient``, as
jupyterhub-idle-culler does. The token logic (:mod:`.tokens`) is blocking because msal is: it
runs in worker threads and reaches the same client through :class:`HubApiFromThreads`, which
hands each call to the event loop and waits for its answer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from ..errors import HubApiError

__all__ = ["HubApi", "HubApiFromThreads"]

T = TypeVar("T")

_ROLES_HINT = (
    "Check the roles jupyter_msal.hub.enable(c) gives the service "
    "(admin:auth_state, admin:users, read:users)."
)


class HubApi:
    """Calls to the JupyterHub REST API at ``api_url`` with ``token`` (coroutines)."""

    def __init__(self, api_url: str, token: str, *, timeout: float = 10.0) -> None:
        self.api_url = api_url.rstrip("/") + "/"
        self.timeout = timeout
        self._headers = {"Authorization": f"token {token}"}

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> HubApi:
        """The API JupyterHub told this service about (``JUPYTERHUB_API_URL``/``_TOKEN``)."""
        env = os.environ if environ is None else environ
        return cls(env["JUPYTERHUB_API_URL"], env["JUPYTERHUB_API_TOKEN"])

    def _user_url(self, name: str) -> str:
        return f"{self.api_url}users/{quote(name, safe='')}"

    async def _call(self, method: str, url: str, what: str, body: Any = None) -> dict[str, Any]:
        """The decoded answer (``{}`` for a 404); :class:`HubApiError` for other failures."""
        request = HTTPRequest(
            url,
            method=method,
            headers={**self._headers, "Content-Type": "application/json"},
            body=None if body is None else json.dumps(body),
            request_timeout=self.timeout,
        )
        try:
            answer = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as err:
            if err.code == 404:
                return {}
            raise HubApiError(
                f"JupyterHub refused to {what}: HTTP {err.code}.", hint=_ROLES_HINT
            ) from None
        except OSError as err:
            raise HubApiError(f"JupyterHub did not answer ({what}): {err}.") from None
        try:
            data = json.loads(answer.body or b"{}")
        except ValueError:
            raise HubApiError(f"JupyterHub answered {what} with something not JSON.") from None
        return data if isinstance(data, dict) else {}

    async def auth_state(self, name: str) -> dict[str, Any] | None:
        """The user's auth state (None: no such user, or the login kept none)."""
        model = await self._call("GET", self._user_url(name), "read auth_state")
        state = model.get("auth_state")
        return state if isinstance(state, dict) else None

    async def save_auth_state(self, name: str, state: Mapping[str, Any]) -> None:
        """Replace the user's auth state (JupyterHub encrypts it)."""
        body = {"auth_state": dict(state)}
        await self._call("PATCH", self._user_url(name), "save auth_state", body)


class HubApiFromThreads:
    """:class:`HubApi` for blocking code in worker threads: each call runs on ``loop``.

    Never call it on ``loop``'s own thread (it would wait for itself).
    """

    def __init__(self, api: HubApi, loop: asyncio.AbstractEventLoop) -> None:
        self.api = api
        self.loop = loop

    def _wait(self, call: Coroutine[Any, Any, T]) -> T:
        """Run ``call`` on the loop and wait for it (a little longer than its own timeout)."""
        future = asyncio.run_coroutine_threadsafe(call, self.loop)
        try:
            return future.result(self.api.timeout + 5)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise HubApiError("JupyterHub did not answer in time.") from None

    def auth_state(self, name: str) -> dict[str, Any] | None:
        """:meth:`HubApi.auth_state`, waited for."""
        return self._wait(self.api.auth_state(name))

    def save_auth_state(self, name: str, state: Mapping[str, Any]) -> None:
        """:meth:`HubApi.save_auth_state`, waited for."""
        self._wait(self.api.save_auth_state(name, state))

    def close(self) -> None:
        """Nothing to close: the event loop's HTTP client is shared."""
