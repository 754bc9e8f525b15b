"""The interface every sign-in method implements, and what each one is given to work with."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import JupyterMsalError
from ..identity.accounts import AccountStore
from ..identity.msal_app import MsalApp
from ..models import Account, SignInMethod
from .flow import SignInFlow

__all__ = ["SignInContext", "SignInStrategy", "account_of", "run_in_thread"]


@dataclass(frozen=True)
class SignInContext:
    """What a sign-in method needs: the msal application, the accounts, a logger."""

    msal: MsalApp
    accounts: AccountStore
    log: logging.Logger


class SignInStrategy(Protocol):
    """One way of signing in. A new method is one new module implementing this."""

    #: The name clients ask for.
    method: SignInMethod

    def unavailable_reason(self) -> str | None:
        """Why this method cannot be used here, or None when it can."""
        ...

    def start(self, flow: SignInFlow) -> None:
        """Begin ``flow`` (blocking: may ask the identity provider for a code).

        Fills ``flow.prompt`` before returning, then completes the flow in the background:
        ``flow.succeed(...)``, ``flow.fail(...)``, or nothing when it was cancelled.
        """
        ...


def account_of(
    result: Mapping[str, Any], accounts: AccountStore, *, or_first: bool = True
) -> Account | None:
    """The signed-in account an msal sign-in ``result`` is for.

    When the result names no username that is signed in, the first signed-in account if
    ``or_first``, else None.
    """
    claims = result.get("id_token_claims") or {}
    username = str(claims.get("preferred_username") or claims.get("upn") or "")
    match = accounts.find(username) if username else None
    if match is None and or_first:
        return next(iter(accounts.list()), None)
    return match


def run_in_thread(
    flow: SignInFlow, work: Callable[[], None], log: logging.Logger, name: str
) -> None:
    """Run ``work`` for ``flow`` in a daemon thread; a crash fails the flow, never hangs it."""

    def guarded() -> None:
        try:
            work()
        except JupyterMsalError as err:
            flow.fail(err)
        except Exception as err:
            log.exception("jupyter-msal: sign-in %s crashed", flow.id)
            flow.fail(JupyterMsalError(f"The sign-in failed: {err}"))
        log.info("jupyter-msal: sign-in %s ended: %s", flow.id, flow.state.value)

    threading.Thread(target=guarded, name=f"{name}-{flow.id}", daemon=True).start()
