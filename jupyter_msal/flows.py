"""Sign-in flows as objects with a state machine, several at a time, each cancellable.

::

    pending ──▶ succeeded
       │──────▶ failed      (declined, refused by the identity provider, unreachable)
       │──────▶ expired     (the code ran out before the user used it)
       └──────▶ cancelled   (a client cancelled it, or the server stopped)

A device-code flow is started with one request to the identity provider, then polled by
msal in a daemon thread of its own (so pending sign-ins never starve token requests). The
secret device code stays inside the flow; :meth:`SignInFlow.to_dict` never includes it.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from .errors import (
    BadRequest,
    BrokerUnavailable,
    JupyterMsalError,
    NotFound,
    SignInCancelled,
    SignInExpired,
    TooManySignIns,
)
from .models import Account

if TYPE_CHECKING:
    from .service import TokenService

__all__ = ["FINISHED_FLOW_TTL", "METHODS", "SignInFlow", "SignInFlows"]

PENDING, SUCCEEDED, FAILED, EXPIRED, CANCELLED = (
    "pending",
    "succeeded",
    "failed",
    "expired",
    "cancelled",
)
METHODS = ("auto", "device_code", "broker")
_KEEP_WAITING = frozenset({"authorization_pending", "slow_down"})
#: Seconds a finished flow stays visible to clients before it is forgotten.
FINISHED_FLOW_TTL = 600


class SignInFlow:
    """One interactive sign-in and its state. Thread-safe; finishing happens once."""

    def __init__(
        self,
        method: str,
        scopes: Sequence[str],
        fallback_reason: str | None = None,
        claims: str | None = None,
    ) -> None:
        self.id = secrets.token_urlsafe(12)
        self.method = method
        self.scopes = tuple(scopes)
        self.claims = claims
        self.fallback_reason = fallback_reason
        self.state = PENDING
        self.created_on = time.time()
        self.finished_on: float | None = None
        self.expires_on: float | None = None
        self.user_code: str | None = None
        self.verification_uri: str | None = None
        self.message: str | None = None
        self.account: Account | None = None
        self.error: JupyterMsalError | None = None
        self._cancel = threading.Event()
        self._done: Future[str] = Future()
        self._lock = threading.Lock()

    @property
    def cancel_requested(self) -> bool:
        """True once someone asked to cancel this flow."""
        return self._cancel.is_set()

    def finish(
        self, state: str, *, account: Account | None = None, error: JupyterMsalError | None = None
    ) -> bool:
        """Move to a final state; returns False when the flow had already finished."""
        with self._lock:
            if self.state != PENDING:
                return False
            self.state, self.account, self.error = state, account, error
            self.finished_on = time.time()
        self._done.set_result(state)
        return True

    def wait_for_cancel(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; wake at once (returning True) when the flow is cancelled."""
        return self._cancel.wait(seconds)

    def cancel(self) -> bool:
        """Cancel the flow if it is still pending."""
        self._cancel.set()
        return self.finish(CANCELLED, error=SignInCancelled("The sign-in was cancelled."))

    def wait(self, timeout: float | None = None) -> str:
        """Block until the flow finishes or ``timeout`` seconds pass; return the state."""
        try:
            return self._done.result(timeout)
        except TimeoutError:
            return self.state

    async def wait_async(self, timeout: float) -> str:
        """Wait on the event loop until the flow finishes or ``timeout`` seconds pass."""
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(self._done)), timeout)
        except asyncio.TimeoutError:
            pass
        return self.state

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the REST API (no secrets)."""
        return {
            "id": self.id,
            "method": self.method,
            "state": self.state,
            "user_code": self.user_code,
            "verification_uri": self.verification_uri,
            "message": self.message,
            "expires_on": int(self.expires_on) if self.expires_on else None,
            "created_on": int(self.created_on),
            "scopes": list(self.scopes),
            "account": self.account.to_dict() if self.account else None,
            "error": self.error.to_dict() if self.error else None,
            "fallback_reason": self.fallback_reason,
        }

    def __repr__(self) -> str:
        return f"<SignInFlow {self.id} {self.method} {self.state}>"


class SignInFlows:
    """The registry of sign-in flows of one :class:`~jupyter_msal.service.TokenService`."""

    def __init__(self, service: TokenService, *, max_pending: int, log: logging.Logger) -> None:
        self._service = service
        self._max_pending = max_pending
        self._log = log
        self._flows: dict[str, SignInFlow] = {}
        self._lock = threading.Lock()

    def _choose_method(self, requested: str) -> tuple[str, str | None]:
        settings, broker = self._service.settings, self._service.broker
        if requested not in METHODS:
            raise BadRequest(
                f"Unknown sign-in method {requested!r}: use one of {', '.join(METHODS)}."
            )
        if settings.broker == "always" and not broker.available:
            raise BrokerUnavailable(
                f"JupyterMsal.broker is 'always' but the broker is not available: {broker.reason}."
            )
        method = settings.sign_in_method if requested == "auto" else requested
        if method == "broker" and not broker.available:
            raise BrokerUnavailable(f"The broker is not available: {broker.reason}.")
        if method == "auto":
            if broker.available:
                return "broker", None
            return "device_code", broker.reason if settings.broker != "never" else None
        return method, None

    def start(
        self, method: str = "auto", scopes: Sequence[str] = (), claims: str | None = None
    ) -> SignInFlow:
        """Start a sign-in (blocking: asks the identity provider for a device code).

        ``claims`` is a claims challenge (MFA or Conditional Access step-up) to satisfy.
        """
        service = self._service
        if service.settings.service_principal:
            raise BadRequest("Service principal mode: nobody signs in, tokens are app-only.")
        chosen, fallback_reason = self._choose_method(method)
        resolved = service.resolve_scopes(scopes) if scopes else ()
        self._forget_finished()
        with self._lock:
            pending = sum(1 for f in self._flows.values() if f.state == PENDING)
            if pending >= self._max_pending:
                raise TooManySignIns(
                    f"{pending} sign-ins are already waiting: finish or cancel one first."
                )
        if claims is not None and not isinstance(claims, str):
            raise BadRequest("claims must be a JSON string")
        flow = SignInFlow(chosen, resolved, fallback_reason, claims)
        if chosen == "broker":
            self._start_broker(flow)
        else:
            self._start_device_code(flow)
        with self._lock:
            self._flows[flow.id] = flow
        self._log.info("jupyter-msal: sign-in %s started (%s)", flow.id, chosen)
        return flow

    def _start_device_code(self, flow: SignInFlow) -> None:
        app = self._service.app
        device = self._service.call_msal(
            app.initiate_device_flow, list(flow.scopes), claims_challenge=flow.claims
        )
        flow.user_code = device.get("user_code")
        flow.verification_uri = device.get("verification_uri")
        flow.message = device.get("message")
        flow.expires_on = float(device.get("expires_at") or time.time() + 900)
        threading.Thread(
            target=self._poll_device_code,
            args=(flow, device),
            name=f"jupyter-msal-sign-in-{flow.id}",
            daemon=True,
        ).start()

    def _poll_device_code(self, flow: SignInFlow, device: dict[str, Any]) -> None:
        """Poll once per interval, checking cancel and expiry before every poll.

        msal's own loop polls once more after its last exit check, so a code approved just
        after a cancel would still sign in; here each msal call makes exactly one poll
        (``exit_condition`` is always true) and a cancel wakes the wait at once.
        """
        app = self._service.app
        interval = max(1, int(device.get("interval") or 5))
        before = {a.home_account_id for a in self._service.list_accounts()}
        try:
            while True:
                if flow.cancel_requested:
                    return
                if float(device.get("expires_at") or 0) < time.time():
                    raise SignInExpired(
                        "The sign-in code expired before it was used: start a new sign-in."
                    )
                result = self._service.call_msal(
                    app.acquire_token_by_device_flow,
                    device,
                    claims_challenge=flow.claims,
                    exit_condition=lambda _: True,
                    error_scopes=flow.scopes,
                    during_sign_in=True,
                    keep_waiting=_KEEP_WAITING,
                )
                error = result.get("error")
                if error is None:
                    break
                if error == "slow_down":
                    interval += 5
                flow.wait_for_cancel(interval)
        except JupyterMsalError as err:
            self._finish_failed(flow, err)
        except Exception as err:  # a bug must not leave a flow pending forever
            self._log.exception("jupyter-msal: sign-in %s crashed", flow.id)
            self._finish_failed(flow, JupyterMsalError(f"The sign-in failed: {err}"))
        else:
            if flow.cancel_requested:  # approved while the last poll was on the wire
                self._undo_sign_in(result, before)
            else:
                self._finish_succeeded(flow, result)

    def _undo_sign_in(self, result: dict[str, Any], before: set[str]) -> None:
        """A cancelled flow must not leave a new account behind."""
        for account in self._service.list_accounts():
            if account.home_account_id not in before:
                self._service.sign_out(account.home_account_id)
                self._log.info("jupyter-msal: removed an account approved after its cancel")

    def _start_broker(self, flow: SignInFlow) -> None:
        threading.Thread(
            target=self._run_broker,
            args=(flow,),
            name=f"jupyter-msal-broker-{flow.id}",
            daemon=True,
        ).start()

    def _run_broker(self, flow: SignInFlow) -> None:  # pragma: no cover - needs a desktop broker
        app = self._service.app
        try:
            result = self._service.call_msal(
                app.acquire_token_interactive,
                list(flow.scopes),
                parent_window_handle=app.CONSOLE_WINDOW_HANDLE,
                claims_challenge=flow.claims,
                error_scopes=flow.scopes,
                during_sign_in=True,
            )
        except JupyterMsalError as err:
            self._finish_failed(flow, err)
        else:
            self._finish_succeeded(flow, result)

    def _finish_failed(self, flow: SignInFlow, err: JupyterMsalError) -> None:
        if flow.cancel_requested:
            flow.cancel()
        elif isinstance(err, SignInExpired) or (flow.expires_on and flow.expires_on < time.time()):
            flow.finish(
                EXPIRED,
                error=err
                if isinstance(err, SignInExpired)
                else SignInExpired(
                    "The sign-in code expired before it was used: start a new sign-in."
                ),
            )
        else:
            flow.finish(FAILED, error=err)
        self._log.info("jupyter-msal: sign-in %s ended: %s", flow.id, flow.state)

    def _finish_succeeded(self, flow: SignInFlow, result: dict[str, Any]) -> None:
        claims = result.get("id_token_claims") or {}
        username = str(claims.get("preferred_username") or claims.get("upn") or "")
        accounts = self._service.list_accounts()
        match = next((a for a in accounts if a.username.lower() == username.lower()), None)
        flow.finish(SUCCEEDED, account=match or (accounts[0] if accounts else None))
        self._log.info("jupyter-msal: sign-in %s succeeded", flow.id)

    def get(self, flow_id: str) -> SignInFlow:
        """The flow with this id, or :class:`NotFound`."""
        with self._lock:
            flow = self._flows.get(flow_id)
        if flow is None:
            raise NotFound(f"No sign-in with id {flow_id!r} (finished ones are kept 10 minutes).")
        return flow

    def cancel(self, flow_id: str) -> SignInFlow:
        """Cancel a pending flow; a finished one is returned unchanged."""
        flow = self.get(flow_id)
        if flow.cancel():
            self._log.info("jupyter-msal: sign-in %s cancelled", flow.id)
        return flow

    def list(self) -> list[SignInFlow]:
        """All flows not yet forgotten, oldest first."""
        self._forget_finished()
        with self._lock:
            return sorted(self._flows.values(), key=lambda f: f.created_on)

    def _forget_finished(self) -> None:
        cutoff = time.time() - FINISHED_FLOW_TTL
        with self._lock:
            for flow_id in [
                i for i, f in self._flows.items() if f.finished_on and f.finished_on < cutoff
            ]:
                del self._flows[flow_id]

    def close(self) -> None:
        """Cancel every pending flow."""
        with self._lock:
            flows = list(self._flows.values())
        for flow in flows:
            flow.cancel()
