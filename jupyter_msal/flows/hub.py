"""Sign-in method ``hub``: the user's JupyterHub login, through the jupyter-msal hub service.

Nothing is shown to the user: when the hub login was with Entra ID the flow succeeds at once
with that account; otherwise it fails saying why, and ``auto`` moves on to this server's own
methods.
"""

from __future__ import annotations

from ..errors import SignInFailed
from ..identity.hub_link import HubLink
from ..models import SignInMethod
from .flow import SignInFlow

__all__ = ["HubSignIn"]


class HubSignIn:
    """The account of the hub login, as a sign-in that needs no step from the user."""

    method = SignInMethod.HUB

    def __init__(self, link: HubLink) -> None:
        self.link = link

    def unavailable_reason(self) -> str | None:
        """Why the hub login gives no tokens here (asks the hub service, answer reused 30 s),
        or why it could not give the last token asked of it (for a minute: a sign-in then
        uses this server's own methods)."""
        reason = self.link.recent_refusal() or self.link.reason()
        return None if reason is None else f"the JupyterHub login cannot be used: {reason}"

    def start(self, flow: SignInFlow) -> None:
        """Succeed with the hub login's account, or fail with the service's reason."""
        account = self.link.account(fresh=True)
        if account is None:
            flow.fail(SignInFailed(f"The JupyterHub login cannot be used: {self.link.reason()}"))
            return
        flow.prompt.message = f"Signed in through JupyterHub as {account.username}."
        flow.succeed(account)
