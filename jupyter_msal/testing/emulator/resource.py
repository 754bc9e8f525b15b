"""The Entra ID emulator's protected resource: an Azure API that evaluates access continuously.

What it answers is decided in :mod:`.cae`.
"""

from __future__ import annotations

from .handlers import EmulatorHandler

__all__ = ["ProtectedResourceHandler"]


class ProtectedResourceHandler(EmulatorHandler):
    """``GET /_resource/<anything>``: an Azure API that evaluates access continuously."""

    def get(self, name: str) -> None:
        status, body, challenge = self.emu.resource_answer(
            self.request.headers.get("Authorization")
        )
        if challenge:
            self.set_header("WWW-Authenticate", challenge)
        self.write_json({**body, "resource": name}, status)
