"""Conditional Access as the Entra ID emulator plays it: sign-in methods blocked with real codes.

``block_sign_in("device_code")`` makes a device-code sign-in fail with AADSTS53003 ("blocked
by Conditional Access") once the user has entered the code and signed in (approved it), as a
tenant with an authentication-flows policy does: the client's next poll gets the error.
``block_sign_in("device_code", 50097)`` plays a tenant that requires a compliant device.
``block_sign_in("auth_code", ...)`` sends the browser back with the error instead of a code.
The same controls exist as ``POST /_emulator/block`` and ``/_emulator/unblock``.
"""

from __future__ import annotations

from .core import EmulatorCore
from .tokens import EmulatorGrantError

__all__ = ["BLOCKABLE_METHODS", "CA_DESCRIPTIONS", "SignInPolicies"]

#: The sign-in methods a policy can block.
BLOCKABLE_METHODS = ("device_code", "auth_code")

#: The descriptions Entra ID sends with the Conditional Access codes the emulator plays.
CA_DESCRIPTIONS = {
    53000: "Device is not in required device state: compliant. Conditional Access policy "
    "requires a compliant device, and the device is not compliant.",
    53001: "Device is not in required device state: domain_joined.",
    53003: "Access has been blocked by Conditional Access policies. The access policy does not "
    "allow token issuance.",
    50097: "Device authentication is required.",
}


class SignInPolicies(EmulatorCore):
    """Which sign-in methods a (pretend) Conditional Access policy blocks, and with what code."""

    def block_sign_in(self, method: str, code: int = 53003) -> None:
        """Block ``method`` (``device_code`` or ``auth_code``) with AADSTS ``code``."""
        if method not in BLOCKABLE_METHODS:
            raise ValueError(f"method must be one of {', '.join(BLOCKABLE_METHODS)}")
        with self._lock:
            self._blocked_methods[method] = int(code)

    def unblock_sign_in(self, method: str | None = None) -> None:
        """Lift the block on ``method``, or on every method."""
        with self._lock:
            if method is None:
                self._blocked_methods.clear()
            else:
                self._blocked_methods.pop(method, None)

    @property
    def blocked_sign_ins(self) -> dict[str, int]:
        """Copy of the blocked methods and their AADSTS codes."""
        with self._lock:
            return dict(self._blocked_methods)

    def refuse_blocked_device_code(self, form: dict[str, str]) -> None:
        """Raise the block for a poll of an approved device code while device code is blocked
        (the code is used up); the caller holds the lock."""
        device = self._device_codes.get(form.get("device_code") or "")
        if device is None or device.status != "approved":
            return
        blocked = self.sign_in_block("device_code")
        if blocked is not None:
            device.status = "redeemed"
            raise blocked

    def sign_in_block(self, method: str) -> EmulatorGrantError | None:
        """The error a blocked ``method`` answers with, or None when it is allowed."""
        with self._lock:
            code = self._blocked_methods.get(method)
        if code is None:
            return None
        description = CA_DESCRIPTIONS.get(code, "Blocked by a Conditional Access policy.")
        return EmulatorGrantError("invalid_grant", code, description)
