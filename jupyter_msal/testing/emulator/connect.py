"""How clients reach the Entra ID emulator: msal applications, a requests session that trusts
its CA, and the environment that points jupyter-msal at it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .grants import EmulatorGrants

if TYPE_CHECKING:
    import msal
    import requests

__all__ = ["DEFAULT_CLIENT_ID", "EmulatorConnections"]

#: The public client id jupyter-msal defaults to (Azure CLI/azure-identity developer sign-on).
DEFAULT_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


class EmulatorConnections(EmulatorGrants):
    """Client-side wiring; the server subclass provides :attr:`ca_bundle_path`."""

    @property
    def ca_bundle_path(self) -> str:  # pragma: no cover - overridden
        """Path of a PEM file holding the emulator's CA certificate."""
        raise NotImplementedError

    def http_session(self) -> requests.Session:
        """A ``requests.Session`` that trusts the emulator's CA.

        ``trust_env`` is off, because ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` would otherwise
        override ``verify`` (psf/requests#3829) and proxy variables could divert loopback calls.
        """
        import requests

        session = requests.Session()
        session.verify = self.ca_bundle_path
        session.trust_env = False
        return session

    def public_client_app(
        self,
        client_id: str = DEFAULT_CLIENT_ID,
        tenant: str = "organizations",
        **kwargs: Any,
    ) -> msal.PublicClientApplication:
        """An ``msal.PublicClientApplication`` wired to this emulator (extra kwargs pass on)."""
        import msal

        kwargs.setdefault("http_client", self.http_session())
        kwargs.setdefault("instance_discovery", False)
        return msal.PublicClientApplication(client_id, authority=self.authority(tenant), **kwargs)

    def confidential_client_app(
        self,
        client_id: str = "00000000-0000-0000-0000-00000000c11e",
        client_credential: Any = "emulator-secret",
        tenant: str | None = None,
        **kwargs: Any,
    ) -> msal.ConfidentialClientApplication:
        """An ``msal.ConfidentialClientApplication`` wired to this emulator (``tenant`` defaults
        to :attr:`default_tenant_id`; client credentials need a tenant, not ``organizations``)."""
        import msal

        tenant = tenant or self.default_tenant_id

        kwargs.setdefault("http_client", self.http_session())
        kwargs.setdefault("instance_discovery", False)
        return msal.ConfidentialClientApplication(
            client_id,
            client_credential=client_credential,
            authority=self.authority(tenant),
            **kwargs,
        )

    def jupyter_msal_env(
        self,
        tenant: str = "organizations",
        *,
        cache_path: str | os.PathLike[str] | None = None,
        http_timeout: float | None = None,
    ) -> dict[str, str]:
        """The ``JUPYTER_MSAL_*`` variables that point jupyter-msal at this emulator.

        Always the authority, the CA bundle, no instance discovery, and the emulator as Azure
        Resource Manager (for the Azure CLI in the server's terminals). With ``cache_path``,
        also a plaintext token cache there (tests and demos need no keyring), requests to
        loopback hosts only, and ``auto`` sign-ins with a device code (which tests approve with
        :meth:`approve`) rather than in the browser; with ``http_timeout``, the seconds
        jupyter-msal waits for the emulator. The one place that knows these variables:
        tests, the subprocess server helper and ``jupyter msal demo`` all build their
        environment here.
        """
        env = {
            "JUPYTER_MSAL_AUTHORITY": self.authority(tenant),
            "JUPYTER_MSAL_CA_BUNDLE": self.ca_bundle_path,
            "JUPYTER_MSAL_INSTANCE_DISCOVERY": "false",
            "JUPYTER_MSAL_RESOURCE_MANAGER_URL": self.url,
        }
        if cache_path is not None:
            env["JUPYTER_MSAL_CACHE_PATH"] = os.fspath(cache_path)
            env["JUPYTER_MSAL_CACHE_ENCRYPTION"] = "none"
            env["JUPYTER_MSAL_ALLOWED_HOSTS"] = "127.0.0.1,localhost"
            env["JUPYTER_MSAL_AUTO_SIGN_IN_METHODS"] = "broker,device_code"
        if http_timeout is not None:
            env["JUPYTER_MSAL_HTTP_TIMEOUT"] = f"{http_timeout:g}"
        return env
