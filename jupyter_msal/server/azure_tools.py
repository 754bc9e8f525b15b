"""The Azure CLI and AzCopy in the kernels and terminals of this server, signed in as its user.

Both tools already speak the App Service managed-identity protocol that
:mod:`.managed_identity` serves; this module gives them a reason to use it:

- **az** reads its accounts from ``$AZURE_CONFIG_DIR``. The server makes a private folder
  (0700, in Jupyter's runtime folder, removed when the server stops), sets
  ``AZURE_CONFIG_DIR`` to it for what it starts, and keeps its profile in step with the
  signed-in user (:mod:`.azure_cli_profile`): after each sign-in and sign-out the user's
  subscriptions are listed from Resource Manager with the user's own token, as ``az login``
  does, off the event loop. The user's own ``~/.azure`` is never read for tokens nor written;
  its ``config`` (output format, defaults) is copied.
- **azcopy** reads ``AZCOPY_AUTO_LOGIN_TYPE=MSI``.

The user's own login wins: ``AZURE_CONFIG_DIR`` already set, or an account in
``~/.azure/azureProfile.json``, leaves az alone; ``AZCOPY_AUTO_LOGIN_TYPE`` already set leaves
azcopy alone. The setting ``azure_tools`` off leaves both alone.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_runtime_dir

from ..audit import SIGN_IN_SCHEMA, SIGN_OUT_SCHEMA
from ..cache.private_files import ensure_private_folder
from ..config.settings import JupyterMsal
from ..errors import JupyterMsalError
from ..service import TokenService
from . import azure_cli_profile as profile

__all__ = ["AZCOPY_LOGIN_ENV", "AZURE_CONFIG_ENV", "AzureTools"]

AZURE_CONFIG_ENV = "AZURE_CONFIG_DIR"
AZCOPY_LOGIN_ENV = "AZCOPY_AUTO_LOGIN_TYPE"
#: Seconds the Resource Manager request may take (the token request has its own timeout).
ARM_TIMEOUT = 20
#: The subscriptions API version az itself uses.
ARM_API_VERSION = "2022-12-01"
#: At most this many pages of subscriptions are read.
MAX_PAGES = 20
#: The events after which the profile is rewritten.
_ACCOUNT_EVENTS = (SIGN_IN_SCHEMA, SIGN_OUT_SCHEMA)


def _own_az_login(home: Path) -> bool:
    """Whether ``~/.azure`` holds an account of the user's own ``az login``."""
    data = profile.read_profile(str(home / ".azure"))
    return bool(data and data.get("subscriptions"))


class AzureTools:
    """Whether az and azcopy are signed in through this server, and the folder that does it.

    ``mode`` is ``"jupyter-msal"`` (this server signs them in), ``"own"`` (the user's own login
    wins) or ``"off"`` (setting off, or no managed-identity endpoint); ``reason`` says why.
    """

    def __init__(
        self,
        settings: JupyterMsal | None,
        managed_identity_enabled: bool,
        log: logging.Logger,
        *,
        environ: MutableMapping[str, str] | None = None,
        home: Path | None = None,
        folder: str | None = None,
    ) -> None:
        self.environ = os.environ if environ is None else environ
        self.log = log
        self.settings = settings
        self.folder: str | None = None
        self.cloud = profile.cloud_for(
            settings and (settings.oidc_authority or settings.authority),
            settings.resource_manager_url if settings else "",
        )
        home = home or Path.home()
        self.az_mode, self.az_reason = self._decide_az(settings, managed_identity_enabled, home)
        self.azcopy_mode, self.azcopy_reason = self._decide_azcopy(
            settings, managed_identity_enabled
        )
        if self.az_mode == "jupyter-msal":
            self.folder = folder or os.path.join(
                jupyter_runtime_dir(), f"jupyter-msal-azure-cli-{os.getpid()}"
            )
            self._prepare(home)
        self._published: dict[str, str] = {}
        self._refreshing = threading.Lock()

    def _decide_az(
        self, settings: JupyterMsal | None, endpoint: bool, home: Path
    ) -> tuple[str, str]:
        if settings is None or not settings.azure_tools:
            return "off", "off (azure_tools)" if settings else "jupyter-msal is inactive"
        if not endpoint:
            return "off", "no managed-identity endpoint on this server"
        if self.environ.get(AZURE_CONFIG_ENV):
            return "own", f"{AZURE_CONFIG_ENV} is set ({self.environ[AZURE_CONFIG_ENV]})"
        if _own_az_login(home):
            return "own", "your own az login (~/.azure) is used"
        return "jupyter-msal", "signed in as the jupyter-msal user"

    def _decide_azcopy(self, settings: JupyterMsal | None, endpoint: bool) -> tuple[str, str]:
        if settings is None or not settings.azure_tools:
            return "off", "off (azure_tools)" if settings else "jupyter-msal is inactive"
        if not endpoint:
            return "off", "no managed-identity endpoint on this server"
        if self.environ.get(AZCOPY_LOGIN_ENV):
            return "own", f"{AZCOPY_LOGIN_ENV} is set ({self.environ[AZCOPY_LOGIN_ENV]})"
        return "jupyter-msal", "signed in as the jupyter-msal user"

    def _prepare(self, home: Path) -> None:
        """The private folder with az's config, the cloud and a signed-out profile."""
        assert self.folder is not None
        ensure_private_folder(self.folder, self.log, self.log.warning)
        try:
            user_config = (home / ".azure" / "config").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            user_config = None
        profile.write_private(self.folder, "config", profile.config_text(self.cloud, user_config))
        clouds = profile.clouds_text(self.cloud)
        if clouds:
            profile.write_private(self.folder, "clouds.config", clouds)
        self.write_accounts(None, None)

    # -- environment -----------------------------------------------------------------------

    def publish(self) -> None:
        """Set the variables kernels and terminals inherit."""
        wanted = {}
        if self.az_mode == "jupyter-msal" and self.folder:
            wanted[AZURE_CONFIG_ENV] = self.folder
        if self.azcopy_mode == "jupyter-msal":
            wanted[AZCOPY_LOGIN_ENV] = "MSI"
        for name, value in wanted.items():
            self.environ[name] = value
        self._published = wanted
        if wanted:
            self.log.info(
                "jupyter-msal: az and azcopy in kernels and terminals act as the signed-in user "
                "(az: %s; azcopy: %s)",
                self.az_reason,
                self.azcopy_reason,
            )

    def withdraw(self) -> None:
        """Remove the variables (unless changed since) and the private folder."""
        for name, value in self._published.items():
            if self.environ.get(name) == value:
                self.environ.pop(name, None)
        self._published = {}
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)

    def status(self) -> dict[str, Any]:
        """The ``azure_tools`` section of the status document."""
        return {
            "az": {"mode": self.az_mode, "note": self.az_reason, "config_dir": self.folder},
            "azcopy": {"mode": self.azcopy_mode, "note": self.azcopy_reason},
            "cloud": self.cloud.name,
        }

    # -- the profile -----------------------------------------------------------------------

    def write_accounts(
        self, subscriptions: list[dict[str, Any]] | None, tenant: str | None
    ) -> None:
        """Rewrite the profile's managed-identity accounts (keeping what az added itself)."""
        if not self.folder:
            return
        entries = profile.profile_entries(subscriptions, tenant, self.cloud)
        merged = profile.merge_profile(profile.read_profile(self.folder), entries)
        profile.write_private(self.folder, profile.PROFILE_FILE, json.dumps(merged, indent=2))

    def refresh(self, service: TokenService) -> None:
        """List the signed-in user's subscriptions and write them (blocking: a worker thread).

        Nobody signed in: the signed-out account. Resource Manager unreachable or refusing:
        a tenant-level account for the user's tenant, and a warning in the log. Without
        ``az`` on the server's ``PATH`` (installed later, in a terminal) nothing is asked: a
        tenant-level account from the cache alone, so az's tokens work but no subscription is
        listed until the next sign-in.
        """
        if not self.folder:
            return
        az_found = shutil.which("az", path=self.environ.get("PATH")) is not None
        # without az nothing asks Resource Manager (nor the hub): the local cache tells the tenant
        accounts = service.list_accounts() if az_found else service.accounts.list()
        if not accounts:
            self.write_accounts(None, None)
            return
        if not az_found:
            self.write_accounts(None, accounts[0].tenant_id or None)
            return
        try:
            token = service.acquire_token([self.cloud.arm_scope], client="in_process")
        except JupyterMsalError as err:
            self.log.info(
                "jupyter-msal: no Resource Manager token, az sees the tenant only: %s", err.message
            )
            self.write_accounts(None, accounts[0].tenant_id or None)
            return
        tenant = token.account.tenant_id if token.account else None
        try:
            subscriptions = self._list_subscriptions(service, str(token.token))
        except (OSError, ValueError) as err:  # requests' errors are OSErrors
            self.log.warning(
                "jupyter-msal: subscriptions not listed from %s (%s); az sees the tenant only",
                self.cloud.resource_manager,
                type(err).__name__,
            )
            subscriptions = []
        self.write_accounts(subscriptions, tenant)
        self.log.info(
            "jupyter-msal: az profile: %d subscription(s) of tenant %s",
            len(subscriptions),
            tenant,
        )

    def _list_subscriptions(self, service: TokenService, token: str) -> list[dict[str, Any]]:
        url: str | None = (
            f"{self.cloud.resource_manager}subscriptions?api-version={ARM_API_VERSION}"
        )
        listed: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            if not url:
                break
            response = service.http.get(
                url, headers={"Authorization": f"Bearer {token}"}, timeout=ARM_TIMEOUT
            )
            if response.status_code != 200:
                raise ValueError(f"Resource Manager answered {response.status_code}")
            body = response.json()
            listed.extend(s for s in body.get("value") or [] if isinstance(s, dict))
            url = body.get("nextLink")
        return listed

    def watch(self, event_logger: Any, service: TokenService) -> None:
        """Refresh the profile now and after every sign-in and sign-out (off the loop)."""
        if not self.folder:
            return

        def schedule() -> None:
            service.workers.idp.submit(self._refresh_quietly, service)

        async def listener(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
            schedule()

        if event_logger is not None:
            for schema_id in _ACCOUNT_EVENTS:
                event_logger.add_listener(schema_id=schema_id, listener=listener)
        schedule()

    def _refresh_quietly(self, service: TokenService) -> None:
        try:
            with self._refreshing:  # one at a time: the last sign-in's list is written last
                self.refresh(service)
        except Exception:  # a worker thread: log, never lose the error
            self.log.exception("jupyter-msal: the az profile could not be written")
