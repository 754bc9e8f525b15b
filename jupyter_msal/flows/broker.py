"""Sign-in through the OS authentication broker (WAM, Company Portal, Identity Broker)."""

from __future__ import annotations

from ..identity.broker_detect import BrokerStatus
from ..identity.msal_results import closed_by_the_user
from ..models import SignInMethod
from .flow import SignInFlow
from .strategy import SignInContext, account_of, run_in_thread

__all__ = ["BrokerSignIn"]


class BrokerSignIn:
    """msal's interactive sign-in with the broker enabled; the OS shows its own window."""

    method = SignInMethod.BROKER

    def __init__(self, context: SignInContext, status: BrokerStatus) -> None:
        self.context = context
        self.status = status

    def unavailable_reason(self) -> str | None:
        """Why the broker cannot be used here (from detection at start-up), or None."""
        return None if self.status.available else self.status.reason

    def start(self, flow: SignInFlow) -> None:
        """Hand the sign-in to the broker in a thread of the flow's own."""
        flow.prompt.message = "Complete the sign-in in the window your system opened."
        run_in_thread(flow, lambda: self._run(flow), self.context.log, "jupyter-msal-broker")

    def _run(self, flow: SignInFlow) -> None:
        msal = self.context.msal
        app = msal.app_for(flow.tenant)
        result = msal.call(
            lambda: app.acquire_token_interactive(
                list(flow.scopes),
                parent_window_handle=app.CONSOLE_WINDOW_HANDLE,
                claims_challenge=flow.claims,
            )
        )
        if closed_by_the_user(result):
            flow.cancel()  # the user closed the broker's window: no other method either
            return
        msal.checked(result, scopes=flow.scopes, during_sign_in=True)
        flow.succeed(account_of(result, self.context.accounts))
