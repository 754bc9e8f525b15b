"""The managed-identity endpoint's address for one tenant, in a kernel or terminal.

The App Service managed-identity protocol has no tenant parameter, so the Jupyter server serves
one endpoint per tenant: ``{IDENTITY_ENDPOINT}/tenants/{tenant}``. Unmodified Azure code reads
``IDENTITY_ENDPOINT`` when it builds its credential; pointing the variable at a tenant's
endpoint (``%msal_tenant``, ``export IDENTITY_ENDPOINT=$(jupyter msal endpoint --tenant T)``)
gives that code tokens of the tenant. ::

    home_endpoint(os.environ)   -> "http://127.0.0.1:8888/jupyter-msal/managed-identity"
    tenant_endpoint(os.environ, "contoso.com")   -> home + "/tenants/contoso.com"
    endpoint_tenant(os.environ) -> the tenant IDENTITY_ENDPOINT names, or None
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, unquote

from ..constants import (
    IDENTITY_ENDPOINT_ENV,
    IDENTITY_HEADER_ENV,
    MANAGED_IDENTITY_PATH,
    SERVER_URL_ENV,
    TENANTS_SEGMENT,
)
from ..errors import ConfigError, ServerUnavailable
from ..scopes import check_tenant

__all__ = ["endpoint_tenant", "home_endpoint", "tenant_endpoint"]



def home_endpoint(environ: Mapping[str, str]) -> str:
    """The endpoint of the signed-in account's own tenant, as the server publishes it.

    :class:`ServerUnavailable` outside a kernel or terminal of a Jupyter server with
    jupyter-msal; :class:`ConfigError` when that server does not serve the endpoint (turned
    off, or a real managed identity is configured there).
    """
    server = environ.get(SERVER_URL_ENV, "").strip()
    if not server:
        raise ServerUnavailable(
            "No Jupyter server with jupyter-msal here: the managed-identity endpoint is served "
            "to the kernels and terminals of such a server.",
            hint="Run this in a notebook or a terminal opened from Jupyter.",
        )
    home = server.rstrip("/") + "/" + MANAGED_IDENTITY_PATH
    current = environ.get(IDENTITY_ENDPOINT_ENV, "")
    if not environ.get(IDENTITY_HEADER_ENV) or not (
        current == home or current.startswith(home + "/")
    ):
        raise ConfigError.about(
            "managed_identity_endpoint",
            "this Jupyter server does not serve the managed-identity endpoint (it is turned "
            "off, or a real managed identity is configured where the server runs).",
        )
    return home


def tenant_endpoint(environ: Mapping[str, str], tenant: str | None) -> str:
    """The endpoint serving tokens of ``tenant`` (None: the account's own tenant).

    ``tenant`` is checked as the server checks it (a tenant id or a domain name):
    :class:`~jupyter_msal.errors.BadRequest` otherwise.
    """
    home = home_endpoint(environ)
    if tenant is None:
        return home
    return f"{home}/{TENANTS_SEGMENT}/{quote(check_tenant(tenant), safe='')}"


def endpoint_tenant(environ: Mapping[str, str]) -> str | None:
    """The tenant ``IDENTITY_ENDPOINT`` names (None: the account's own tenant)."""
    home = home_endpoint(environ)
    rest = environ.get(IDENTITY_ENDPOINT_ENV, "")[len(home) :].strip("/")
    segment, _, tenant = rest.partition("/")
    return unquote(tenant) if segment == TENANTS_SEGMENT and tenant else None
