"""Offline testing helpers: an Entra ID emulator over HTTPS and pytest fixtures.

``from jupyter_msal.testing import EntraEmulator`` works, but importing this package stays
cheap (the pytest plugin imports it in every pytest run): the emulator, tornado and trustme load
on first use of a name below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._emulator_tokens import decode_jwt
    from .emulator import (
        DEFAULT_CLIENT_ID,
        DEFAULT_TENANT_ID,
        DEFAULT_USERNAME,
        EntraEmulator,
    )

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_TENANT_ID",
    "DEFAULT_USERNAME",
    "EntraEmulator",
    "decode_jwt",
]


def __getattr__(name: str) -> Any:
    if name == "decode_jwt":
        from ._emulator_tokens import decode_jwt

        return decode_jwt
    if name in __all__:
        from . import emulator

        return getattr(emulator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
