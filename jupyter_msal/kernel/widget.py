"""``LoginWidget``: sign in and out from a notebook with ipywidgets (no custom JavaScript).

::

    w = jupyter_msal.LoginWidget()
    w                                   # shows accounts, Sign in / Sign out buttons
    w.observe(lambda change: print(change.new), names="account")

States (the ``state`` trait): ``signed_out`` → ``prompt`` (code, link, copy button, countdown,
Cancel) → ``signed_in``; or ``error`` (``error`` holds the words) or ``cancelled``.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Iterable
from typing import Any

from traitlets import Any as AnyTrait
from traitlets import Dict, List, Unicode

from ..client import Client, get_client
from ..errors import JupyterMsalError, SignInCancelled
from ..models import Account
from ..scopes import flatten_scopes
from . import api
from .prompt import format_remaining, render_html


class MissingDependency(ImportError):
    """A package this part of jupyter-msal needs is missing; IPython shows only the message."""

    def _render_traceback_(self) -> list[str]:
        # IPython (and so every Jupyter kernel) uses this instead of a traceback.
        return [f"\x1b[0;31m{type(self).__name__}:\x1b[0m {self}"]


try:
    import ipywidgets as widgets
except ImportError as exc:
    raise MissingDependency(
        "LoginWidget needs ipywidgets, which this kernel's Python cannot import "
        f"({exc}): run `%pip install ipywidgets`, then restart the kernel.",
        name="ipywidgets",
    ) from None

__all__ = ["STATES", "LoginWidget", "MissingDependency"]

#: The values of :attr:`LoginWidget.state`.
STATES = ("signed_out", "prompt", "signed_in", "error", "cancelled")


def _fit_content() -> widgets.Layout:
    """A button as wide as its label (ipywidgets' fixed default width cuts long labels off)."""
    return widgets.Layout(width="auto", min_width="fit-content", align_self="flex-start")


class LoginWidget(widgets.VBox):
    """Signed-in accounts with a Sign out button each, and a Sign in button that runs the flow.

    Args:
        scopes: scopes to consent to while signing in (optional).
        method: ``"auto"``, ``"device_code"`` or ``"broker"``.
        client: the token-service client (default: the kernel's, server or direct mode).
        poll_interval: seconds between checks of a pending sign-in (the countdown ticks with it).

    Traits other widgets can observe or link to: ``account`` (the
    :class:`~jupyter_msal.models.Account` in use, or ``None``), ``username``, ``accounts``,
    ``state`` and ``error``.
    """

    state = Unicode("signed_out", help="One of STATES.")
    account = AnyTrait(None, allow_none=True, help="The Account in use, or None.")
    username = Unicode("", help="The username of `account`, or ''.")
    accounts = List(help="Every signed-in Account.")
    error = Unicode("", help="What went wrong, in words (state 'error').")
    flow = Dict(help="The FLOW JSON of the current or last sign-in (no secrets).")

    def __init__(
        self,
        *scopes: str | Iterable[str],
        method: str = "auto",
        client: Client | None = None,
        poll_interval: float = 1.0,
        **kwargs: Any,
    ) -> None:
        self._client = client
        self._scopes = scopes
        self._method = method
        self._poll_interval = poll_interval
        self._lock = threading.RLock()
        self._done = threading.Event()
        self._done.set()
        self._watcher: threading.Thread | None = None

        self._title = widgets.HTML("<b>Microsoft Entra ID</b>")
        self._accounts_box = widgets.VBox()
        self._sign_in_button = widgets.Button(
            description="Sign in",
            icon="sign-in",
            button_style="primary",
            tooltip="Sign in",
            layout=_fit_content(),
        )
        self._sign_in_button.on_click(lambda _b: self._run(self.sign_in))
        self._prompt_html = widgets.HTML()
        self._countdown = widgets.Label()
        self._cancel_button = widgets.Button(
            description="Cancel", icon="times", layout=_fit_content()
        )
        self._cancel_button.on_click(lambda _b: self._run(self.cancel))
        self._prompt_box = widgets.VBox(
            [self._prompt_html, widgets.HBox([self._countdown, self._cancel_button])],
            layout=widgets.Layout(display="none"),
        )
        self._message = widgets.HTML()
        super().__init__(
            children=[
                self._title,
                self._accounts_box,
                self._sign_in_button,
                self._prompt_box,
                self._message,
            ],
            **kwargs,
        )
        self.add_class("jupyter-msal-login")
        self.observe(self._on_account, names="account")
        self._run(self.refresh)

    # -- helpers ---------------------------------------------------------------------------

    @property
    def client(self) -> Client:
        """The token-service client this widget uses."""
        return self._client if self._client is not None else get_client()

    def _run(self, action: Any, *args: Any) -> None:
        try:
            action(*args)
        except JupyterMsalError as err:
            self._fail(err)

    def _fail(self, err: BaseException) -> None:
        self.error = str(err)
        self._show_prompt(False)
        self._message.value = f'<span style="color:#a4262c">&#9888; {html.escape(str(err))}</span>'
        self.state = "error"
        self._done.set()

    def _show_prompt(self, visible: bool) -> None:
        self._prompt_box.layout.display = "flex" if visible else "none"
        self._sign_in_button.disabled = visible

    def _on_account(self, change: Any) -> None:
        account = change["new"]
        self.username = account.username if isinstance(account, Account) else ""

    def _render_accounts(self) -> None:
        rows = []
        for acct in self.accounts:
            button = widgets.Button(
                description="Sign out", icon="sign-out", tooltip="Sign out", layout=_fit_content()
            )
            button.on_click(lambda _b, a=acct: self._run(self.sign_out, a))
            label = widgets.HTML(
                f"<b>{html.escape(acct.username)}</b> "
                f'<span style="opacity:0.7">tenant {html.escape(acct.tenant_id)}</span>'
            )
            rows.append(widgets.HBox([label, button]))
        self._accounts_box.children = tuple(rows)
        self._sign_in_button.description = "Sign in another account" if rows else "Sign in"

    # -- actions ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the signed-in accounts (e.g. after signing in from a terminal)."""
        accounts = self.client.accounts()
        with self._lock:
            self.accounts = accounts
            current = self.account
            keep = [a for a in accounts if current and a.home_account_id == current.home_account_id]
            self.account = keep[0] if keep else (accounts[0] if accounts else None)
            self._render_accounts()
            if self.state != "prompt":
                self.state = "signed_in" if accounts else "signed_out"
                self._message.value = (
                    "" if accounts else "Nobody is signed in. Click <b>Sign in</b>."
                )

    def sign_in(self) -> None:
        """Start a sign-in: shows the code, link, copy button and countdown, then waits."""
        with self._lock:
            if self.state == "prompt":
                return
            flow = self.client.start_sign_in(self._method, list(flatten_scopes(self._scopes)))
            self.flow = flow
            self.error = ""
            self._done.clear()
            self._prompt_html.value = render_html(flow, countdown=False)
            self._update_countdown(flow)
            self._message.value = ""
            self._show_prompt(True)
            self.state = "prompt"
            watcher = threading.Thread(
                target=self._watch, args=(str(flow["id"]),), daemon=True, name="jupyter-msal-login"
            )
            self._watcher = watcher
        watcher.start()

    def _update_countdown(self, flow: dict[str, Any]) -> None:
        left = float(flow.get("expires_on") or 0) - time.time()
        self._countdown.value = f"The code expires in {format_remaining(left)}"

    def _watch(self, flow_id: str) -> None:
        def on_update(flow: dict[str, Any]) -> None:
            with self._lock:
                if self.flow.get("id") == flow_id and self.state == "prompt":
                    if flow.get("sign_in_url") != self.flow.get("sign_in_url"):  # a new step
                        self._prompt_html.value = render_html(flow, countdown=False)
                    self.flow = flow
                    self._update_countdown(flow)

        try:
            account = self.client.wait_for_sign_in(
                self.flow, on_update=on_update, interval=self._poll_interval
            )
        except SignInCancelled:
            with self._lock:
                if self.flow.get("id") == flow_id and self.state == "prompt":
                    self._cancelled()
            return
        except JupyterMsalError as err:
            with self._lock:
                if self.flow.get("id") == flow_id and self.state == "prompt":
                    self._fail(err)
            return
        self._signed_in(flow_id, account)

    def _signed_in(self, flow_id: str, account: Account) -> None:
        with self._lock:
            if self.flow.get("id") != flow_id or self.state != "prompt":
                return
            api.clear_cache()
            self._show_prompt(False)
            self.state = "signed_in"  # leave 'prompt' before refresh() looks at it
            try:
                self.refresh()
            except JupyterMsalError as err:
                self._fail(err)
                return
            self.account = next(
                (a for a in self.accounts if a.home_account_id == account.home_account_id),
                account,
            )
            self._message.value = f"Signed in as <b>{html.escape(account.username)}</b>."
            self.state = "signed_in"
            self._done.set()

    def _cancelled(self) -> None:
        self._show_prompt(False)
        self.error = ""
        self._message.value = "Sign-in cancelled."
        self.state = "cancelled"
        self._done.set()

    def cancel(self) -> None:
        """Cancel the pending sign-in (the server forgets its code)."""
        with self._lock:
            if self.state != "prompt":
                return
            flow_id = str(self.flow.get("id"))
            self._cancelled()
        try:
            self.flow = self.client.cancel_sign_in(flow_id)
        except JupyterMsalError as err:
            if not isinstance(err, SignInCancelled):
                self._fail(err)

    def sign_out(self, account: Account | str | None = None) -> list[Account]:
        """Sign out of ``account`` (default: the one in use); returns the accounts removed."""
        target = account if account is not None else self.account
        if target is None:
            return []
        selector = target.home_account_id if isinstance(target, Account) else str(target)
        removed = self.client.sign_out(selector)
        api.clear_cache()
        names = ", ".join(a.username for a in removed) or selector
        self.refresh()
        self._message.value = f"Signed out of {html.escape(names)}."
        return removed

    def wait(self, timeout: float | None = None) -> str:
        """Block until a pending sign-in is over (or ``timeout``); returns :attr:`state`."""
        self._done.wait(timeout)
        return self.state
