"""Sign-in with the authorization-code flow (PKCE, state, nonce) in the user's own browser.

The server drives msal's two calls itself: ``initiate_auth_code_flow`` makes the sign-in link
(the flow's ``sign_in_url``), and ``acquire_token_by_auth_code_flow`` redeems the answer. The
answer arrives in one of three ways, all state-checked and good for one use:

* a loopback listener opened for this flow only (``http://localhost:<port>/`` on 127.0.0.1
  and ::1), closed when the flow ends; a browser on this machine is sent there through its
  one-use start page (the flow's ``start_url``), so no command line holds the link;
* the Jupyter server's own redirect page, when ``redirect_uri`` is configured;
* the address the browser ended on, pasted by the user (:meth:`AuthCodeSignIn.complete`).

The code, the PKCE verifier, the nonce and the state stay here; they are never logged.
"""

from __future__ import annotations

import hmac
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..errors import BadRequest, JupyterMsalError, SignInExpired, SignInFailed
from ..models import SignInMethod
from .flow import SignInFlow
from .loopback import LoopbackReceiver, result_page
from .strategy import SignInContext, account_of

__all__ = ["DEFAULT_LIFETIME", "AuthCodeSignIn", "parse_response"]

# msal recommends response_mode=form_post; the answer must stay in the address (query mode)
# so that a user whose browser cannot reach the redirect can paste it.
warnings.filterwarnings("ignore", "response_mode='form_post' is recommended", UserWarning)

#: Seconds a sign-in link stays usable.
DEFAULT_LIFETIME = 600.0

_PASTE_HINT = (
    "If the browser then shows an error page (it cannot reach this server's redirect), copy "
    "the address it ended on from the address bar and paste it here."
)


def parse_response(url: str) -> dict[str, str]:
    """The parameters of an identity provider's answer: a full URL, or just its query."""
    text = url.strip()
    if not text:
        raise BadRequest("Paste the address the browser ended on (it holds code= and state=).")
    parts = urlsplit(text if "://" in text or text.startswith("/") else "/?" + text.lstrip("?"))
    params = dict(parse_qsl(parts.query))
    if "state" not in params:
        params = dict(parse_qsl(parts.fragment)) or params
    if "state" not in params or not ({"code", "error"} & set(params)):
        raise BadRequest(
            "That address is not a sign-in answer: it should hold code= (or error=) and state=."
        )
    return params


@dataclass
class _Pending:
    """What one sign-in keeps (secrets included) until its answer is redeemed or it ends."""

    flow: SignInFlow
    auth: dict[str, Any] = field(repr=False)
    before: set[str]


@dataclass
class _Resources:
    """What one sign-in holds open until it ends: its listener and its expiry timer."""

    receiver: LoopbackReceiver | None
    timer: threading.Timer


class AuthCodeSignIn:
    """The authorization-code flow; see the module docstring.

    Args:
        context: the msal application, the accounts and a logger.
        redirect_uri: the configured redirect on the Jupyter server's own origin, or None for
            a loopback listener per flow.
        browser_reaches_loopback: whether a browser on this machine can follow a redirect to
            ``http://localhost:<port>/`` (the Jupyter server itself listens on loopback).
        lifetime: seconds before an unused sign-in link expires.
        register_state: called with each flow's ``state`` before its link is handed out,
            when the redirect arrives somewhere that routes answers by state (the
            JupyterHub service's one redirect URI).
    """

    method = SignInMethod.AUTH_CODE

    def __init__(
        self,
        context: SignInContext,
        *,
        redirect_uri: str | None = None,
        browser_reaches_loopback: Callable[[], bool] = lambda: False,
        lifetime: float = DEFAULT_LIFETIME,
        register_state: Callable[[str], None] | None = None,
    ) -> None:
        self.context = context
        self.register_state = register_state
        self.redirect_uri = redirect_uri
        self.browser_reaches_loopback = browser_reaches_loopback
        self.lifetime = lifetime
        self._pending: dict[str, _Pending] = {}
        self._open: dict[str, _Resources] = {}
        self._lock = threading.Lock()
        #: Listeners opened so far (the newest last); tests check they are closed.
        self.receivers: list[LoopbackReceiver] = []

    def unavailable_reason(self) -> str | None:
        """Always usable when asked for: at worst the user pastes the address."""
        return None

    def reaches_browser(self) -> str | None:
        """Why the redirect may not reach the user's browser without pasting, or None."""
        if self.redirect_uri or self.browser_reaches_loopback():
            return None
        return (
            "the browser cannot reach a redirect to this server: set JupyterMsal.redirect_uri "
            "to a redirect on the Jupyter server's origin, or use the broker"
        )

    def start(self, flow: SignInFlow) -> None:
        """Make the sign-in link, open the listener, and arm the expiry."""
        msal = self.context.msal
        app = msal.app_for(flow.tenant)
        receiver = (
            None if self.redirect_uri else LoopbackReceiver(lambda path: self._arrived(flow, path))
        )
        redirect = self.redirect_uri or (receiver.redirect_uri if receiver else "")
        try:
            auth = msal.request(
                lambda: app.initiate_auth_code_flow(
                    list(flow.scopes),
                    redirect_uri=redirect,
                    claims_challenge=flow.claims,
                    prompt="select_account",
                )
            )
            if self.register_state is not None:
                self.register_state(str(auth["state"]))
        except BaseException:
            if receiver is not None:
                receiver.close()
            raise
        before = {a.home_account_id for a in self.context.accounts.list()}
        timer = threading.Timer(self.lifetime, self._expire, (flow,))
        timer.daemon = True
        if receiver is not None:
            self.receivers.append(receiver)
            del self.receivers[:-16]
        prompt = flow.prompt
        prompt.sign_in_url = str(auth["auth_uri"])
        prompt.start_url = (
            receiver.start_page(prompt.sign_in_url, lambda: self._link_reused(flow))
            if receiver is not None
            else None
        )
        prompt.user_code = prompt.verification_uri = None
        prompt.expires_on = time.time() + self.lifetime
        prompt.message = f"Open the sign-in page and sign in. {_PASTE_HINT}"
        with self._lock:
            self._pending[flow.id] = _Pending(flow, auth, before)
            self._open[flow.id] = _Resources(receiver, timer)
        flow.on_finish(self._forget)
        timer.start()

    def flow_for_state(self, state: str) -> SignInFlow | None:
        """The pending flow whose sign-in link carried ``state``, if any."""
        with self._lock:
            for pending in self._pending.values():
                expected = str(pending.auth.get("state", "")).encode()
                if hmac.compare_digest(expected, state.encode()):
                    return pending.flow
        return None

    def complete(self, flow: SignInFlow, url: str) -> SignInFlow:
        """Finish ``flow`` with the address the browser ended on (blocking).

        Raises :class:`BadRequest` for an address that is not this flow's answer (wrong or
        reused state, a flow that already ended), and the sign-in's error when the identity
        provider refuses the code; nobody is signed in then.
        """
        return self.redeem(flow, parse_response(url))

    def redeem(self, flow: SignInFlow, params: dict[str, str]) -> SignInFlow:
        """Redeem an answer's parameters for ``flow``: state-checked, one use (blocking)."""
        with self._lock:
            pending = self._pending.get(flow.id)
            if pending is None or flow.state.finished:
                raise BadRequest(
                    f"This sign-in has ended ({flow.state.value}): start a new sign-in."
                )
            expected = str(pending.auth.get("state", ""))
            if not hmac.compare_digest(expected.encode(), params.get("state", "").encode()):
                raise BadRequest("This answer is not for this sign-in: its state does not match.")
            del self._pending[flow.id]  # one use, whatever happens next
        msal = self.context.msal
        app = msal.app_for(flow.tenant)
        try:
            result = msal.request(
                lambda: app.acquire_token_by_auth_code_flow(pending.auth, params),
                scopes=flow.scopes,
                during_sign_in=True,
            )
        except JupyterMsalError as err:
            failure = SignInFailed(
                f"The sign-in failed: {err.message}", hint=err.hint, aadsts=err.aadsts
            )
            flow.fail(failure)
            raise failure from None
        account = account_of(result, self.context.accounts)
        if not flow.succeed(account):  # cancelled (or expired) while the code was redeemed
            self._undo(account, pending.before)
            raise BadRequest(f"This sign-in has ended ({flow.state.value}): nobody signed in.")
        self.context.log.info("jupyter-msal: sign-in %s succeeded", flow.id)
        return flow

    def _arrived(self, flow: SignInFlow, path: str) -> tuple[int, str]:
        """The loopback listener's answer to the browser."""
        try:
            self.redeem(flow, parse_response(path))
        except JupyterMsalError as err:
            return 400, result_page("Sign-in failed", str(err))
        except Exception:
            self.context.log.exception("jupyter-msal: sign-in %s: the redirect failed", flow.id)
            flow.fail(SignInFailed("The sign-in failed; see the server log."))
            return 500, result_page("Sign-in failed", "See the Jupyter server's log.")
        who = flow.account.username if flow.account else "you"
        return 200, result_page("Signed in", f"Signed in as {who}, you can close this tab.")

    def _link_reused(self, flow: SignInFlow) -> None:
        """The start page was opened twice: someone else may hold the sign-in link."""
        self.context.log.warning("jupyter-msal: sign-in %s: its start page was reused", flow.id)
        flow.fail(
            SignInFailed(
                "The sign-in link was opened twice, so another program may have used it: "
                "start a new sign-in."
            )
        )

    def _expire(self, flow: SignInFlow) -> None:
        flow.fail(SignInExpired("The sign-in link expired before it was used: sign in again."))

    def _forget(self, flow: SignInFlow) -> None:
        with self._lock:
            self._pending.pop(flow.id, None)
            held = self._open.pop(flow.id, None)
        if held is None:
            return
        held.timer.cancel()
        if held.receiver is not None:
            held.receiver.close()

    def _undo(self, account: Any, before: set[str]) -> None:
        """A flow that ended while its code was redeemed must not leave its account behind."""
        if account is None or account.home_account_id in before:
            return
        self.context.accounts.remove(self.context.msal, account.home_account_id)
        self.context.log.info("jupyter-msal: removed an account signed in after its flow ended")
