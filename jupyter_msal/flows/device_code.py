"""Sign-in with a device code: the user enters a short code on the identity provider's page."""

from __future__ import annotations

import time
from typing import Any

from ..errors import IdentityProviderUnavailable, SignInExpired
from ..identity.msal_results import error_of
from ..models import SignInMethod
from .flow import SignInFlow
from .strategy import SignInContext, account_of, run_in_thread

__all__ = ["DeviceCodeSignIn"]

#: Device-flow answers that mean "not yet": poll again.
_KEEP_WAITING = frozenset({"authorization_pending", "slow_down"})


class DeviceCodeSignIn:
    """One request for a code, then one poll per interval until approval, expiry or cancel.

    msal's own loop polls once more after its last exit check, so a code approved just after
    a cancel would still sign in; here each msal call makes exactly one poll and a cancel
    wakes the wait at once. A sign-in approved while the last poll was on the wire is undone.
    """

    method = SignInMethod.DEVICE_CODE

    def __init__(self, context: SignInContext) -> None:
        self.context = context

    def unavailable_reason(self) -> str | None:
        """Device code works wherever the identity provider allows it."""
        return None

    def start(self, flow: SignInFlow) -> None:
        """Ask for a device code, show it, and poll in a thread of the flow's own."""
        msal = self.context.msal
        app = msal.app_for(flow.tenant)
        device = msal.request(
            lambda: app.initiate_device_flow(list(flow.scopes), claims_challenge=flow.claims)
        )
        prompt = flow.prompt
        prompt.user_code = device.get("user_code")
        prompt.verification_uri = device.get("verification_uri")
        prompt.message = device.get("message")
        prompt.expires_on = float(device.get("expires_at") or time.time() + 900)
        before = {a.home_account_id for a in self.context.accounts.list()}
        run_in_thread(
            flow,
            lambda: self._poll(flow, device, before),
            self.context.log,
            "jupyter-msal-sign-in",
        )

    def _poll(self, flow: SignInFlow, device: dict[str, Any], before: set[str]) -> None:
        msal = self.context.msal
        app = msal.app_for(flow.tenant)
        interval = max(1, int(device.get("interval") or 5))
        while True:
            if flow.cancel_requested:
                return
            if float(device.get("expires_at") or 0) < time.time():
                raise SignInExpired(
                    "The sign-in code expired before it was used: start a new sign-in."
                )
            try:
                result = msal.request(
                    lambda: app.acquire_token_by_device_flow(
                        device, claims_challenge=flow.claims, exit_condition=lambda _: True
                    ),
                    scopes=flow.scopes,
                    during_sign_in=True,
                    keep_waiting=_KEEP_WAITING,
                )
            except IdentityProviderUnavailable as err:
                # a 429/5xx (or msal's replay of one) is no answer yet: ask again after it
                flow.wait_for_cancel(max(interval, min(err.retry_after or interval, 60)))
                continue
            error = error_of(result)
            if error is None:
                break
            if error == "slow_down":
                interval += 5
            flow.wait_for_cancel(interval)
        if flow.cancel_requested:
            self._undo(account_of(result, self.context.accounts, or_first=False), before)
        else:
            flow.succeed(account_of(result, self.context.accounts))
            self.context.log.info("jupyter-msal: sign-in %s succeeded", flow.id)

    def _undo(self, account: Any, before: set[str]) -> None:
        """A cancelled flow must not leave its new account behind (and only that one)."""
        if account is None or account.home_account_id in before:
            return
        self.context.accounts.remove(self.context.msal, account.home_account_id)
        self.context.log.info("jupyter-msal: removed an account approved after its cancel")
