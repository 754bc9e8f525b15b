"""One sign-in and its state machine.

::

    pending ──▶ succeeded
       │──────▶ failed      (declined, refused by the identity provider, unreachable)
       │──────▶ expired     (the code ran out before the user used it)
       └──────▶ cancelled   (a client cancelled it, or the server stopped)

A flow moves to a final state once; the strategy that runs it fills in what the user's
prompt shows (:attr:`SignInFlow.prompt`). Secrets of the flow (a device code, a PKCE verifier)
stay with the strategy: :meth:`SignInFlow.to_dict` never includes them.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from ..errors import JupyterMsalError, SignInCancelled, SignInExpired
from ..metrics import sign_in_finished
from ..models import Account, FlowState, SignInMethod

__all__ = ["SignInFlow", "SignInPrompt"]


@dataclass
class SignInPrompt:
    """What the user is shown to complete a sign-in (nothing secret)."""

    user_code: str | None = None
    verification_uri: str | None = None
    #: The address to open in a browser to sign in (authorization-code flow).
    sign_in_url: str | None = None
    #: A one-use local page that redirects to ``sign_in_url``, for a browser on the machine
    #: of the sign-in's loopback listener: a command line that opens it shows no secret.
    start_url: str | None = None
    message: str | None = None
    expires_on: float | None = None


class SignInFlow:
    """One interactive sign-in and its state. Thread-safe; finishing happens once."""

    def __init__(
        self,
        method: SignInMethod,
        scopes: Sequence[str],
        fallback_reason: str | None = None,
        claims: str | None = None,
        tenant: str | None = None,
    ) -> None:
        self.id = secrets.token_urlsafe(12)
        self.method = method
        self.scopes = tuple(scopes)
        self.claims = claims
        #: The tenant this sign-in is for (checked; None: the configured authority's): a
        #: tenant where the account is a guest and that demands a sign-in of its own.
        self.tenant = tenant
        self.fallback_reason = fallback_reason
        self.state = FlowState.PENDING
        self.created_on = time.time()
        self.finished_on: float | None = None
        self.prompt = SignInPrompt()
        #: Grows at every new step (another method took over) and when the flow finishes.
        self.step = 0
        self.account: Account | None = None
        self.error: JupyterMsalError | None = None
        #: Called once with the error when the flow would fail; when it returns True the
        #: flow carries on (another method took over) instead of failing.
        self.continue_as: Callable[[JupyterMsalError], bool] | None = None
        self._cancel = threading.Event()
        self._done: Future[FlowState] = Future()
        self._step: Future[None] = Future()
        self._lock = threading.Lock()

    @property
    def cancel_requested(self) -> bool:
        """True once someone asked to cancel this flow."""
        return self._cancel.is_set()

    @property
    def expired(self) -> bool:
        """True once the prompt's code has run out."""
        expires_on = self.prompt.expires_on
        return expires_on is not None and expires_on < time.time()

    def _finish(
        self,
        state: FlowState,
        *,
        account: Account | None = None,
        error: JupyterMsalError | None = None,
    ) -> bool:
        with self._lock:
            if self.state is not FlowState.PENDING:
                return False
            self.state, self.account, self.error = state, account, error
            self.finished_on = time.time()
        sign_in_finished(self.method.value, state.value)
        self._done.set_result(state)
        self.note_change()
        return True

    def note_change(self) -> None:
        """Wake every waiter: the prompt changed (a new step) or the flow finished."""
        with self._lock:
            step, self._step = self._step, Future()
            self.step += 1
        step.set_result(None)

    def succeed(self, account: Account | None) -> bool:
        """Signed in as ``account``; False when the flow had already finished."""
        return self._finish(FlowState.SUCCEEDED, account=account)

    def fail(self, error: JupyterMsalError) -> bool:
        """End without an account: cancelled, expired or failed, whichever ``error`` means."""
        if self.cancel_requested:
            return self.cancel()
        carry_on, self.continue_as = self.continue_as, None
        if carry_on is not None and self.state is FlowState.PENDING and carry_on(error):
            self.note_change()
            return False
        if isinstance(error, SignInExpired):
            return self._finish(FlowState.EXPIRED, error=error)
        if self.expired:
            return self._finish(
                FlowState.EXPIRED,
                error=SignInExpired(
                    "The sign-in code expired before it was used: start a new sign-in."
                ),
            )
        return self._finish(FlowState.FAILED, error=error)

    def cancel(self) -> bool:
        """Cancel the flow if it is still pending."""
        self._cancel.set()
        return self._finish(
            FlowState.CANCELLED, error=SignInCancelled("The sign-in was cancelled.")
        )

    def wait_for_cancel(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; wake at once (returning True) when the flow is cancelled."""
        return self._cancel.wait(seconds)

    def on_finish(self, callback: Callable[[SignInFlow], None]) -> None:
        """Call ``callback(flow)`` once the flow is final (at once if it already is)."""
        self._done.add_done_callback(lambda _: callback(self))

    def wait(self, timeout: float | None = None, since: int | None = None) -> FlowState:
        """Block until the flow finishes, shows a new step, or ``timeout`` seconds pass.

        ``since`` is the :attr:`step` the caller has seen: when the flow has moved on from
        it already, return at once.
        """
        step = self._step
        if self.state is FlowState.PENDING and since in (None, self.step):
            try:
                step.result(timeout)
            except TimeoutError:
                pass
        return self.state

    async def wait_async(self, timeout: float, since: int | None = None) -> FlowState:
        """:meth:`wait` on the event loop."""
        step = self._step
        if self.state is FlowState.PENDING and since in (None, self.step):
            try:
                await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(step)), timeout)
            except asyncio.TimeoutError:
                pass
        return self.state

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the REST API (no secrets)."""
        prompt = self.prompt
        return {
            "id": self.id,
            "method": self.method.value,
            "state": self.state.value,
            "user_code": prompt.user_code,
            "verification_uri": prompt.verification_uri,
            "sign_in_url": prompt.sign_in_url,
            "start_url": prompt.start_url,
            "message": prompt.message,
            "expires_on": int(prompt.expires_on) if prompt.expires_on else None,
            "created_on": int(self.created_on),
            "scopes": list(self.scopes),
            "tenant": self.tenant,
            "account": self.account.to_dict() if self.account else None,
            "error": self.error.to_dict() if self.error else None,
            "fallback_reason": self.fallback_reason,
            "step": self.step,
        }

    def __repr__(self) -> str:
        return f"<SignInFlow {self.id} {self.method.value} {self.state.value}>"
