"""The status document: the non-secret state of one token service, for people and the UI.

Served by ``GET jupyter-msal/status`` and printed by ``jupyter msal status`` (in direct mode
too), so it is assembled here, above the service, from the service's parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._version import __version__
from .models import Account
from .msal_app import region_note
from .service import TokenService

__all__ = ["status_document"]


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
        "revision": service.revision,
        "warnings": warnings,
    }
