"""Direct mode: the token service in this process (VS Code, plain IPython, papermill, a script).

Configuration comes from the same places the server reads (``jupyter_msal_config.*`` and
``jupyter_server_config.*`` on the Jupyter config path, ``JUPYTER_MSAL_*`` environment
variables); the token cache file and its cross-process lock are shared with any server
using the same configuration.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..models import AccessToken, Account
from .base import SignInWaiting

if TYPE_CHECKING:
    from ..config.settings import JupyterMsal
    from ..service import TokenService

__all__ = ["DirectClient"]

log = logging.getLogger("jupyter_msal.client")


class DirectClient(SignInWaiting):
    """Runs the token service in this process (no Jupyter server with the extension).

    ``settings`` (a :class:`~jupyter_msal.config.JupyterMsal`) defaults to what
    :func:`~jupyter_msal.config.files.load_settings` reads; ``service`` replaces the service itself.
    Either is used on first need, so creating a client costs nothing.
    """

    mode = "direct"

    def __init__(
        self, service: TokenService | None = None, *, settings: JupyterMsal | None = None
    ) -> None:
        self._service = service
        self._settings = settings
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "<DirectClient (in-process token service)>"

    @property
    def service(self) -> TokenService:
        """The in-process :class:`~jupyter_msal.service.TokenService`, created on first use."""
        if self._service is None:
            with self._lock:
                if self._service is None:
                    from ..config.files import load_settings
                    from ..redact import install_redaction
                    from ..service import TokenService

                    install_redaction()
                    settings = self._settings or load_settings()
                    self._service = TokenService(settings, log=log)
        return self._service

    def token(
        self,
        scopes: Sequence[str],
        account: str | None = None,
        force_refresh: bool = False,
        claims: str | None = None,
        tenant: str | None = None,
    ) -> AccessToken:
        """``TokenService.acquire_token``."""
        return self.service.acquire_token(
            list(scopes),
            account=account,
            force_refresh=force_refresh,
            claims=claims,
            tenant=tenant,
        )

    def accounts(self) -> list[Account]:
        """``TokenService.list_accounts``."""
        return self.service.list_accounts()

    def sign_out(self, account: str | None = None, *, all_accounts: bool = False) -> list[Account]:
        """``TokenService.sign_out``."""
        return self.service.sign_out(account, all_accounts=all_accounts)

    def start_sign_in(
        self,
        method: str = "auto",
        scopes: Sequence[str] = (),
        claims: str | None = None,
        tenant: str | None = None,
    ) -> dict[str, Any]:
        """``TokenService.flows.start``."""
        return self.service.flows.start(method, list(scopes), claims, tenant).to_dict()

    def wait_sign_in(
        self, flow_id: str, wait: float = 10.0, since: int | None = None
    ) -> dict[str, Any]:
        """Block on the flow for at most ``wait`` seconds (at once when it moved past ``since``)."""
        flow = self.service.flows.get(flow_id)
        flow.wait(max(0.0, wait), since)
        return flow.to_dict()

    def complete_sign_in(self, flow_id: str, url: str) -> dict[str, Any]:
        """``TokenService.flows.complete``: finish a browser sign-in with the address pasted."""
        return self.service.flows.complete(flow_id, url).to_dict()

    def cancel_sign_in(self, flow_id: str) -> dict[str, Any]:
        """``TokenService.flows.cancel``."""
        return self.service.flows.cancel(flow_id).to_dict()

    def status(self) -> dict[str, Any]:
        """The status document, as ``GET jupyter-msal/status`` answers it."""
        from ..status import status_document

        return status_document(self.service)

    def audiences(self) -> dict[str, Any]:
        """The audience names, as ``GET jupyter-msal/audiences`` answers them."""
        return self.service.audiences.document()

    def close(self) -> None:
        """Close the in-process service (flushes and unlocks the cache)."""
        with self._lock:
            svc, self._service = self._service, None
        if svc is not None:
            svc.close()
