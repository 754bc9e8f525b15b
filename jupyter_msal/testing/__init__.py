"""Offline testing helpers: an Entra ID emulator over HTTPS, pytest fixtures, a deadline wait.

``from jupyter_msal.testing import EntraEmulator`` works, but importing this package stays
cheap (the pytest plugin imports it in every pytest run): the emulator, tornado and trustme load
on first use of a name below. A real Jupyter server and its kernels, in subprocesses, are in
:mod:`jupyter_msal.testing.server` and :mod:`jupyter_msal.testing.kernels`; Azurite (Azure Storage)
accepting the emulator's tokens, in :mod:`jupyter_msal.testing.azurite`; a Key Vault stand-in
that challenges for a tenant, in :mod:`jupyter_msal.testing.keyvault`. The emulator also serves
Azure Resource Manager's subscriptions and tenants lists (:mod:`.emulator.arm`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .emulator import (
        DEFAULT_CLIENT_ID,
        DEFAULT_TENANT_ID,
        DEFAULT_USERNAME,
        EntraEmulator,
    )
    from .emulator.records import ScheduledApproval
    from .emulator.tokens import decode_jwt
    from .waiting import wait_until

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_TENANT_ID",
    "DEFAULT_USERNAME",
    "EntraEmulator",
    "ScheduledApproval",
    "decode_jwt",
    "wait_until",
]

_HOMES = {
    "decode_jwt": ".emulator.tokens",
    "ScheduledApproval": ".emulator.records",
    "wait_until": ".waiting",
}


def __getattr__(name: str) -> Any:
    if name in __all__:
        import importlib

        module = importlib.import_module(_HOMES.get(name, ".emulator"), __name__)
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
