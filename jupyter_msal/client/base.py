"""What every client shares: the protocol, and the one loop that waits for a sign-in.

``wait_for_sign_in`` is written once, here, over the three sign-in calls every client has
(``wait_sign_in``, ``cancel_sign_in``); the kernel API, the widget and the CLI all use it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from ..errors import (
    JupyterMsalError,
    SignInCancelled,
    SignInExpired,
    SignInFailed,
    SignInTimedOut,
    error_from_dict,
)
from ..models import AccessToken, Account, FlowState

__all__ = [
    "WAIT_CHUNK",
    "Client",
    "SignInInterrupted",
    "SignInWaiting",
    "flow_error",
]

#: How long one wait on the server may block before the loop checks its own timeout.
WAIT_CHUNK = 10.0


class SignInInterrupted(KeyboardInterrupt):
    """A ``KeyboardInterrupt`` that arrived while waiting for a sign-in (now cancelled)."""


class Client(Protocol):
    """What the kernel API and the CLI need from the token service, wherever it runs.

    Sign-ins travel as their REST JSON form ("FLOW": ``id``, ``method``, ``state``, the
    prompt fields, ``account``, ``error``...), in both modes.
    """

    #: ``"server"`` or ``"direct"``.
    mode: str

    def token(
        self,
        scopes: Sequence[str],
        account: str | None = None,
        force_refresh: bool = False,
        claims: str | None = None,
        tenant: str | None = None,
    ) -> AccessToken:
        """An access token, silently (raises ``SignInRequired`` when a sign-in is needed);
        ``tenant`` (a tenant id or domain name; None: the account's own) is whose it is."""
        ...

    def accounts(self) -> list[Account]:
        """The signed-in accounts."""
        ...

    def sign_out(self, account: str | None = None, *, all_accounts: bool = False) -> list[Account]:
        """Remove one account (or all) from the cache; returns those removed."""
        ...

    def start_sign_in(
        self,
        method: str = "auto",
        scopes: Sequence[str] = (),
        claims: str | None = None,
        tenant: str | None = None,
    ) -> dict[str, Any]:
        """Start a sign-in flow (satisfying ``claims``, if given; to ``tenant``, a guest
        tenant that wants a sign-in of its own, if given); returns its FLOW JSON."""
        ...

    def wait_sign_in(
        self, flow_id: str, wait: float = 10.0, since: int | None = None
    ) -> dict[str, Any]:
        """The flow's FLOW JSON once it is no longer pending or moved past step ``since``, or
        after ``wait`` seconds."""
        ...

    def cancel_sign_in(self, flow_id: str) -> dict[str, Any]:
        """Cancel a pending flow; returns its FLOW JSON."""
        ...

    def complete_sign_in(self, flow_id: str, url: str) -> dict[str, Any]:
        """Finish a browser (auth-code) sign-in with the address the browser ended on."""
        ...

    def wait_for_sign_in(
        self,
        flow: Mapping[str, Any],
        *,
        timeout: float | None = None,
        on_update: Callable[[dict[str, Any]], None] | None = None,
        interval: float = WAIT_CHUNK,
    ) -> Account:
        """Wait until ``flow`` finishes; see :meth:`SignInWaiting.wait_for_sign_in`."""
        ...

    def status(self) -> dict[str, Any]:
        """The service's status document (``GET jupyter-msal/status``)."""
        ...

    def audiences(self) -> dict[str, Any]:
        """The audience names and their scopes (``GET jupyter-msal/audiences``)."""
        ...

    def close(self) -> None:
        """Release connections (server mode) or the service (direct mode)."""
        ...


def flow_error(flow: Mapping[str, Any]) -> JupyterMsalError:
    """The typed error a finished, unsuccessful flow (its FLOW JSON) ended with."""
    body = flow.get("error")
    if isinstance(body, Mapping) and body.get("error"):
        return error_from_dict(body)
    state = flow.get("state")
    if state == FlowState.EXPIRED:
        return SignInExpired("The sign-in code expired before it was used: start a new sign-in.")
    if state == FlowState.CANCELLED:
        return SignInCancelled("The sign-in was cancelled.")
    return SignInFailed(f"The sign-in ended without an account (state {state!r}).")


class SignInWaiting:
    """``wait_for_sign_in`` for any client that has ``wait_sign_in`` and ``cancel_sign_in``."""

    def wait_sign_in(
        self, flow_id: str, wait: float = WAIT_CHUNK, since: int | None = None
    ) -> dict[str, Any]:
        """Provided by the client."""
        raise NotImplementedError

    def cancel_sign_in(self, flow_id: str) -> dict[str, Any]:
        """Provided by the client."""
        raise NotImplementedError

    def _cancel_quietly(self, flow_id: str) -> None:
        try:
            self.cancel_sign_in(flow_id)
        except JupyterMsalError:
            pass

    def wait_for_sign_in(
        self,
        flow: Mapping[str, Any],
        *,
        timeout: float | None = None,
        on_update: Callable[[dict[str, Any]], None] | None = None,
        interval: float = WAIT_CHUNK,
    ) -> Account:
        """Wait until ``flow`` (its FLOW JSON) is no longer pending; the account signed in.

        Raises the flow's typed error when it ends without an account (``SignInCancelled``
        when someone cancelled it); ``KeyboardInterrupt`` cancels the flow and raises
        :class:`SignInInterrupted`; after ``timeout`` seconds the flow is cancelled and
        :class:`~jupyter_msal.errors.SignInTimedOut` raised. ``on_update`` gets the FLOW JSON
        after every wait of at most ``interval`` seconds.
        """
        current = dict(flow)
        flow_id = str(current["id"])
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        try:
            while current.get("state") == FlowState.PENDING:
                chunk = interval
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self._cancel_quietly(flow_id)
                        raise SignInTimedOut(
                            f"Nobody completed the sign-in within {timeout:g} s; it was cancelled.",
                            hint="Run it again, and use the code before the time runs out.",
                        )
                    chunk = min(chunk, left)
                step = current.get("step")
                since = step if isinstance(step, int) else None
                current = self.wait_sign_in(flow_id, chunk, since)
                if on_update is not None:
                    on_update(current)
        except KeyboardInterrupt:
            self._cancel_quietly(flow_id)
            raise SignInInterrupted() from None
        account = current.get("account")
        if current.get("state") == FlowState.SUCCEEDED and isinstance(account, Mapping):
            return Account.from_dict(account)
        raise flow_error(current)
