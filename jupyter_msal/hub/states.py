"""Auth-code answers arriving at the hub's one redirect URI, routed back by ``state``.

A user server registers the ``state`` of each auth-code sign-in it starts, with the path of
its own redirect page. When the identity provider sends the browser to the hub's redirect
URI, the state is taken (one use) and the browser is sent on to that path with the answer.
Unknown, expired or already used states go nowhere. The user server then checks the state
again and requires its own Jupyter login, so routing alone signs nobody in.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote

from ..errors import BadRequest, TooManySignIns

__all__ = ["StateRoutes"]

#: The length bounds of a state msal makes (it uses 16 random characters and more).
_STATE = re.compile(r"[A-Za-z0-9._~-]{16,256}")


@dataclass(frozen=True)
class _Route:
    user: str
    path: str
    expires: float


class StateRoutes:
    """Registered states: ``state -> (user, redirect path)``, each good for one answer.

    Args:
        base_url: JupyterHub's base URL (``/`` or ``/jupyter/``); user servers live below
            ``<base_url>user/<name>/``.
        lifetime: seconds a registered state waits for its answer.
        per_user: how many states one user may have waiting at once.
    """

    def __init__(self, base_url: str = "/", *, lifetime: float = 900.0, per_user: int = 16):
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.lifetime = lifetime
        self.per_user = per_user
        self._routes: dict[str, _Route] = {}
        self._lock = threading.Lock()

    def check_path(self, user: str, path: str) -> None:
        """``path`` must be the redirect page of one of ``user``'s own servers."""
        prefix = f"{self.base_url}user/{quote(user, safe='@~')}/"
        pattern = re.escape(prefix) + r"(?:[^/?#.][^/?#]*/)?jupyter-msal/redirect"
        if not re.fullmatch(pattern, path):
            raise BadRequest(
                f"Field 'redirect_path' must be {prefix}[<server name>/]jupyter-msal/redirect."
            )

    def register(self, user: str, state: str, path: str) -> None:
        """Route the answer carrying ``state`` to ``path`` (a server of ``user``)."""
        if not _STATE.fullmatch(state):
            raise BadRequest("Field 'state' must be the state of an auth-code sign-in.")
        self.check_path(user, path)
        now = time.time()
        with self._lock:
            self._drop_expired(now)
            if state in self._routes:
                raise BadRequest("This state is already registered: start a new sign-in.")
            waiting = sum(1 for r in self._routes.values() if r.user == user)
            if waiting >= self.per_user:
                raise TooManySignIns(
                    f"{waiting} sign-ins of yours are waiting for the browser: finish one first."
                )
            self._routes[state] = _Route(user, path, now + self.lifetime)

    def take(self, state: str) -> tuple[str, str] | None:
        """The user and path for ``state``, once; None when unknown, used or expired."""
        with self._lock:
            self._drop_expired(time.time())
            route = self._routes.pop(state, None)
        return None if route is None else (route.user, route.path)

    def _drop_expired(self, now: float) -> None:
        for state in [s for s, r in self._routes.items() if r.expires < now]:
            del self._routes[state]
