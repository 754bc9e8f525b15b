"""A sign-in whose method fails in a way another method avoids carries on with that method.

* Tenants block the device-code flow with Conditional Access (an "authentication flows"
  policy), or require a compliant or registered device. The identity provider then refuses
  the device-code grant with one of :data:`DEVICE_CODE_BLOCKED`, and the sign-in continues
  in the browser (auth code).
* When the OS broker fails (not when the user closes its window), the sign-in continues with
  the next method ``auto`` would choose.

The flow keeps its id, scopes and claims, so no surface has to start over: they see the
method change and the new prompt on their next look at the flow.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..errors import JupyterMsalError, SignInCancelled
from .flow import SignInFlow
from .strategy import SignInStrategy

__all__ = ["DEVICE_CODE_BLOCKED", "carry_on_with", "continue_in_browser", "continue_without_broker"]

#: AADSTS codes with which Conditional Access refuses a device-code sign-in.
DEVICE_CODE_BLOCKED = frozenset(
    {
        "53000",  # the device is not compliant
        "53001",  # the device is not domain-joined
        "53002",  # the app is not an approved client app
        "53003",  # blocked by a Conditional Access policy (authentication-flows policy too)
        "530033",  # the device does not meet the policy's device requirements
        "50097",  # device authentication is required
        "50199",  # the user must confirm the sign-in in an interactive prompt
    }
)


def carry_on_with(
    flow: SignInFlow,
    strategy: SignInStrategy,
    log: logging.Logger,
    *,
    when: Callable[[JupyterMsalError], bool],
    reason: Callable[[JupyterMsalError], str],
    then: Callable[[SignInFlow], None] | None = None,
) -> None:
    """Let ``flow`` continue with ``strategy`` when it would fail with an error ``when`` likes.

    ``reason(error)`` becomes the flow's ``fallback_reason``; ``then(flow)`` arms what may
    follow the new method (before it starts).
    """

    def carry_on(error: JupyterMsalError) -> bool:
        if not when(error):
            return False
        previous = flow.method
        flow.method = strategy.method
        if then is not None:
            then(flow)
        try:
            strategy.start(flow)
        except JupyterMsalError as err:
            flow.method = previous
            log.warning("jupyter-msal: sign-in %s cannot continue: %s", flow.id, err)
            return False
        flow.fallback_reason = reason(error)
        log.info("jupyter-msal: sign-in %s continues as %s", flow.id, strategy.method.value)
        return True

    flow.continue_as = carry_on


def continue_in_browser(flow: SignInFlow, auth_code: SignInStrategy, log: logging.Logger) -> None:
    """Let ``flow`` (a device-code sign-in) carry on with ``auth_code`` when blocked."""
    carry_on_with(
        flow,
        auth_code,
        log,
        when=lambda error: error.aadsts in DEVICE_CODE_BLOCKED,
        reason=lambda error: (
            f"The identity provider blocked sign-in with a device code (AADSTS{error.aadsts}): "
            "continue in the browser."
        ),
    )


def continue_without_broker(
    flow: SignInFlow,
    fallback: SignInStrategy,
    log: logging.Logger,
    then: Callable[[SignInFlow], None] | None = None,
) -> None:
    """Let ``flow`` (a broker sign-in) carry on with ``fallback`` when the broker fails."""
    carry_on_with(
        flow,
        fallback,
        log,
        when=lambda error: not isinstance(error, SignInCancelled),
        reason=lambda error: f"The broker failed ({error.message}): continue without it.",
        then=then,
    )
