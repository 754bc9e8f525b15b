"""Which tenant a credential asks for: azure-identity's rules for ``tenant_id`` requests.

Azure SDK clients pass ``tenant_id`` to ``get_token`` (Key Vault's client names the tenant
of its ``WWW-Authenticate`` challenge). :func:`resolve_tenant` decides as azure-identity's
``_internal.utils.resolve_tenant`` does:

* no tenant requested, or the configured one: the configured tenant (None: the account's own);
* ``AZURE_IDENTITY_DISABLE_MULTITENANTAUTH`` set, or the configured tenant is ``adfs``: the
  configured tenant, whatever was requested;
* no tenant configured: the one requested;
* configured: the requested one when ``additionally_allowed_tenants`` lists it or ``"*"``,
  or lists nothing while the configured tenant is ``organizations``;
* otherwise an error naming ``additionally_allowed_tenants``, before any request.

:func:`allowed_tenants` reads the list: the credential's argument, else
``AZURE_ADDITIONALLY_ALLOWED_TENANTS`` (tenants separated by ``;`` or ``,``, as the Azure
SDKs for .NET and JavaScript read it). Pure functions; nothing here does I/O.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

from ..errors import BadRequest

__all__ = [
    "ALLOWED_TENANTS_ENV",
    "DISABLE_MULTITENANT_ENV",
    "allowed_tenants",
    "resolve_tenant",
]

#: Tenants a credential may ask for besides its own, when the credential names none.
ALLOWED_TENANTS_ENV = "AZURE_ADDITIONALLY_ALLOWED_TENANTS"
#: azure-identity's switch that makes every credential keep to its configured tenant.
DISABLE_MULTITENANT_ENV = "AZURE_IDENTITY_DISABLE_MULTITENANTAUTH"


def allowed_tenants(
    given: Iterable[str] | None, environ: Mapping[str, str] | None = None
) -> list[str]:
    """``given`` as a list, or else the tenants ``AZURE_ADDITIONALLY_ALLOWED_TENANTS`` lists."""
    if given is not None:
        return [str(t).strip() for t in given if str(t).strip()]
    raw = (os.environ if environ is None else environ).get(ALLOWED_TENANTS_ENV, "")
    return [t.strip() for t in raw.replace(",", ";").split(";") if t.strip()]


def resolve_tenant(
    configured: str | None,
    requested: str | None,
    additionally_allowed: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """The tenant to ask for when ``requested`` is asked of a credential configured with
    ``configured`` (None: none); see the module docstring. Raises
    :class:`~jupyter_msal.errors.BadRequest` (``tenant`` names the one refused); credentials
    raise it to Azure SDK callers as ``ClientAuthenticationError``."""
    if requested is None or requested == configured:
        return configured
    env = os.environ if environ is None else environ
    if configured == "adfs" or env.get(DISABLE_MULTITENANT_ENV):
        return configured
    if not configured:
        return requested
    allowed = list(additionally_allowed)
    if "*" in allowed or requested in allowed:
        return requested
    if not allowed and configured == "organizations":
        return requested
    raise BadRequest(
        f"The credential is not configured to acquire tokens for tenant {requested}. To "
        "enable acquiring tokens for this tenant add it to the additionally_allowed_tenants "
        'when creating the credential, or add "*" to additionally_allowed_tenants to allow '
        "acquiring tokens for any tenant.",
        tenant=requested,
    )
