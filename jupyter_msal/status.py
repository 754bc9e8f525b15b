"""The status document: the non-secret state of one token service, for people and the UI.

Served by ``GET jupyter-msal/status`` and printed by ``jupyter msal status`` (in direct mode
too), so it is assembled here, above the service, from the service's parts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from ._version import __version__
from .config.settings import JupyterMsal
from .constants import (
    IDENTITY_ENDPOINT_ENV,
    MANAGED_IDENTITY_PATH,
    MSI_ENDPOINT_ENV,
    SERVER_URL_ENV,
)
from .identity.msal_app import region_note
from .models import Account
from .service import TokenService

__all__ = ["managed_identity_section", "real_managed_identity", "status_document"]


#: The status document's ``hub`` section on a server without the hub service.
_NO_HUB = {
    "url": None,
    "account": None,
    "in_use": False,
    "note": "not on a JupyterHub with the jupyter-msal service (hub_service_url unset)",
}


def status_document(
    service: TokenService, accounts: Sequence[Account] | None = None
) -> dict[str, Any]:
    """What ``GET status`` answers. Lists the accounts itself (blocking) unless given them."""
    s = service.settings
    if accounts is None:
        accounts = service.list_accounts()
    warnings = list(service.cache.warnings)
    if s.azure_region and not s.service_principal:
        warnings.append(region_note(s))
    return {
        "version": __version__,
        "mode": "service_principal" if s.service_principal else "user",
        "config": s.public_dict(),
        "cache": service.cache.info.to_dict(),
        "broker": service.broker.to_dict(),
        "region": {
            "configured": s.azure_region,
            "applies": bool(s.azure_region and s.service_principal),
            "note": region_note(s),
        },
        "sign_in_methods": [m.value for m in service.flows.available_methods()],
        "accounts": [a.to_dict() for a in accounts],
        "managed_identity": managed_identity_section(s),
        "hub": service.hub.to_dict() if service.hub is not None else _NO_HUB,
        "revision": service.revision,
        "warnings": warnings,
        **{name: section() for name, section in service.status_sections.items()},
    }


def real_managed_identity(environ: Mapping[str, str]) -> str | None:
    """The variable of a managed identity ``environ`` already has (not this server's), if any."""
    if environ.get(IDENTITY_ENDPOINT_ENV) and not _ours(environ):
        return IDENTITY_ENDPOINT_ENV
    if environ.get(MSI_ENDPOINT_ENV):
        return MSI_ENDPOINT_ENV
    return None


def _ours(environ: Mapping[str, str]) -> bool:
    server = environ.get(SERVER_URL_ENV, "")
    return bool(server) and environ.get(IDENTITY_ENDPOINT_ENV) == server + MANAGED_IDENTITY_PATH


def managed_identity_section(
    settings: JupyterMsal, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Whether kernels and terminals get the signed-in user's tokens as a managed identity."""
    env = os.environ if environ is None else environ
    if not settings.managed_identity_endpoint:
        return {"enabled": False, "endpoint": None, "note": "off (managed_identity_endpoint)"}
    if _ours(env):
        return {"enabled": True, "endpoint": env[IDENTITY_ENDPOINT_ENV], "note": "on"}
    real = real_managed_identity(env)
    if real:
        return {
            "enabled": False,
            "endpoint": None,
            "note": f"left alone: a real managed identity is configured ({real})",
        }
    return {"enabled": False, "endpoint": None, "note": "served only by a Jupyter server"}
