"""The few JupyterHub REST API calls the hub service makes with its own API token.

The service reads a user's ``auth_state`` (role scope ``admin:auth_state``) and writes it back
when the identity provider rotated the refresh token (``admin:users``). JupyterHub keeps
``auth_state`` encrypted in its own database with ``JUPYTERHUB_CRYPT_KEY``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ..errors import HubApiError

__all__ = ["HubApi"]


class HubApi:
    """Blocking calls to the JupyterHub REST API at ``api_url`` with ``token``."""

    def __init__(self, api_url: str, token: str, *, timeout: float = 10.0) -> None:
        import requests

        self.api_url = api_url.rstrip("/") + "/"
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"token {token}"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> HubApi:
        """The API JupyterHub told this service about (``JUPYTERHUB_API_URL``/``_TOKEN``)."""
        env = os.environ if environ is None else environ
        return cls(env["JUPYTERHUB_API_URL"], env["JUPYTERHUB_API_TOKEN"])

    def _user_url(self, name: str) -> str:
        return f"{self.api_url}users/{quote(name, safe='')}"

    def _check(self, answer: Any, what: str) -> dict[str, Any]:
        if answer.status_code == 404:
            return {}
        if answer.status_code >= 400:
            raise HubApiError(
                f"JupyterHub refused to {what}: HTTP {answer.status_code}.",
                hint="Check the roles jupyter_msal.hub.enable(c) gives the service "
                "(admin:auth_state, admin:users, read:users).",
            )
        data = answer.json()
        return data if isinstance(data, dict) else {}

    def auth_state(self, name: str) -> dict[str, Any] | None:
        """The user's auth state (None: no such user, or the login kept none)."""
        model = self._check(
            self._session.get(self._user_url(name), timeout=self.timeout), "read auth_state"
        )
        state = model.get("auth_state")
        return state if isinstance(state, dict) else None

    def save_auth_state(self, name: str, state: Mapping[str, Any]) -> None:
        """Replace the user's auth state (JupyterHub encrypts it)."""
        self._check(
            self._session.patch(
                self._user_url(name), json={"auth_state": dict(state)}, timeout=self.timeout
            ),
            "save auth_state",
        )

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()
