"""The jupyter_server extension: builds the TokenService and publishes it to kernels."""

from __future__ import annotations

import os
import secrets
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from tornado.ioloop import IOLoop
from traitlets import default

from ..audit import EventSink, schema_paths
from ..config.settings import JupyterMsal
from ..constants import SERVER_SECRET_ENV, SERVER_URL_ENV
from ..errors import ExtensionInactive, JupyterMsalError
from ..redact import install_redaction
from ..service import TokenService
from .azure_tools import AzureTools
from .handlers import make_routes
from .inactive import inactive_routes
from .managed_identity import ManagedIdentityEndpoint
from .redirect import make_redirect_routes, note_server_address
from .token_wanted import TokenWantedLimit

__all__ = ["JupyterMsalApp"]


def _inactive_reason(err: JupyterMsalError | OSError) -> str:
    """What users are told keeps jupyter-msal from starting (a setting names itself)."""
    if isinstance(err, OSError) and err.filename:
        return f"cannot open {err.filename}: {err.strerror or err}"
    return str(err)


class JupyterMsalApp(ExtensionApp):
    """jupyter-msal inside a Jupyter server. Its settings live in the ``JupyterMsal`` section."""

    name = "jupyter_msal"
    load_other_extensions = True
    classes = [*ExtensionApp.classes, JupyterMsal]

    @default("config_file_name")
    def _jupyter_msal_config_file_name(self) -> str:
        """``jupyter_msal_config.py`` (ExtensionApp would look for ``jupyter_<name>_config``)."""
        return "jupyter_msal_config"

    service: TokenService | None = None
    kernel_secret: str = ""
    managed_identity: ManagedIdentityEndpoint | None = None
    azure_tools: AzureTools | None = None
    #: Why jupyter-msal is inactive on this server; None while it is active.
    inactive_reason: str | None = None

    def initialize_settings(self) -> None:
        """Read and check the settings, open the cache, build the service.

        When that fails, the extension stays loaded but inactive (:mod:`.inactive`): the
        reason is logged at ERROR and every ``jupyter-msal/...`` request is answered with it.
        """
        install_redaction()
        self.kernel_secret = secrets.token_urlsafe(32)
        os.environ[SERVER_SECRET_ENV] = self.kernel_secret
        settings: JupyterMsal | None = None
        try:
            settings = JupyterMsal(parent=self.serverapp)
            self.service = TokenService(settings, log=self.log, events=self._event_sink())
        except (JupyterMsalError, OSError) as err:
            self.inactive_reason = _inactive_reason(err)
            self.log.error(
                "%s (every jupyter-msal request is answered with this until the server restarts)",
                ExtensionInactive.because(self.inactive_reason).message,
            )
        self.managed_identity = ManagedIdentityEndpoint(settings, self.log)
        self.azure_tools = self._azure_tools(settings)
        self._publish_url()
        if self.service is None or settings is None:
            return
        cache = self.service.cache.info  # nothing here asks the network: start stays fast
        self.log.info(
            "jupyter-msal: %s mode, authority %s, cache %s (%s)%s",
            "service_principal" if settings.service_principal else "user",
            settings.oidc_authority or settings.authority,
            cache.path,
            cache.encryption,
            f", JupyterHub service {self.service.hub.url}" if self.service.hub else "",
        )

    def _azure_tools(self, settings: JupyterMsal | None) -> AzureTools | None:
        """az and azcopy signed in through this server (:mod:`.azure_tools`), or None when
        their private folder cannot be made (the reason is logged)."""
        enabled = self.managed_identity is not None and self.managed_identity.enabled
        try:
            tools = AzureTools(settings if self.service else None, enabled, self.log)
        except (JupyterMsalError, OSError) as err:
            self.log.warning("jupyter-msal: az and azcopy left alone: %s", err)
            return None
        tools.publish()
        if self.service is not None:
            self.service.status_sections["azure_tools"] = tools.status
        return tools

    def _event_sink(self) -> EventSink | None:
        """Audit events to the server's ``event_logger``, our schemas registered first
        (``token_wanted`` events through :class:`.token_wanted.TokenWantedLimit`)."""
        logger = getattr(self.serverapp, "event_logger", None)
        if logger is None:
            return None
        for path in schema_paths():
            logger.register_event_schema(path)

        io_loop = IOLoop.current()

        def send(schema_id: str, data: dict[str, Any]) -> None:
            try:
                logger.emit(schema_id=schema_id, data=data)
            except Exception as err:  # a failing event handler never fails a token request
                self.log.warning("jupyter-msal: audit event %s not emitted: %s", schema_id, err)

        def emit(schema_id: str, data: dict[str, Any]) -> None:
            # jupyter_events hands events to its listeners (the browser's event stream) on the
            # running event loop: events from worker threads are emitted there.
            if IOLoop.current(instance=False) is io_loop:
                send(schema_id, data)
            else:
                io_loop.add_callback(send, schema_id, data)

        return TokenWantedLimit(emit)  # token_wanted: once per resource per minute

    def initialize_handlers(self) -> None:
        """Register the REST API under the server's base_url (inactive: the reason only)."""
        if self.service is None:
            reason = self.inactive_reason or "it did not start; see the server's log"
            routes = inactive_routes(reason, self.kernel_secret, self.managed_identity)
            self.handlers.extend(routes)
            return
        self.handlers.extend(make_routes(self.service, self.kernel_secret))
        if self.managed_identity is not None:
            self.handlers.extend(self.managed_identity.routes(self.service))
        self.handlers.extend(make_redirect_routes(self.service, self.kernel_secret))
        note_server_address(self.service, self.serverapp)

    def _publish_url(self) -> None:
        url = self.serverapp.connection_url if self.serverapp else ""
        if url:
            os.environ[SERVER_URL_ENV] = url if url.endswith("/") else url + "/"
            if self.managed_identity is not None:
                self.managed_identity.publish(os.environ[SERVER_URL_ENV])

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Once the HTTP server listens, the port is final: publish the URL again; the az
        profile follows the signed-in user from now on."""
        self._publish_url()
        if self.azure_tools is not None and self.service is not None:
            self.azure_tools.watch(getattr(serverapp, "event_logger", None), self.service)

    async def stop_extension(self) -> None:
        """Cancel pending sign-ins, stop worker threads, withdraw the environment."""
        if self.service is not None:
            self.service.close()
        if self.managed_identity is not None:
            self.managed_identity.withdraw()
        if self.azure_tools is not None:
            self.azure_tools.withdraw()
        if os.environ.get(SERVER_SECRET_ENV) == self.kernel_secret:  # ours, not a newer server's
            os.environ.pop(SERVER_SECRET_ENV, None)
            os.environ.pop(SERVER_URL_ENV, None)
