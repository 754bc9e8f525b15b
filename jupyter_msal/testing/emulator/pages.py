"""The Entra ID emulator's pages for people: a landing page and the device-login form."""

from __future__ import annotations

import html

from .handlers import EmulatorHandler, page

__all__ = ["DeviceLoginHandler", "IndexHandler"]


class IndexHandler(EmulatorHandler):
    """``GET /``: a landing page for people who open the emulator's URL."""

    def get(self) -> None:
        self.finish(
            page(
                "Entra ID emulator",
                f'<p><a id="devicelogin" href="/devicelogin">Enter a device code</a></p>'
                f"<p>Authority: <code>{html.escape(self.emu.authority())}</code></p>",
            )
        )


class DeviceLoginHandler(EmulatorHandler):
    """The page a user opens to type a device code (``#user-code``, ``#username``,
    ``#approve``, ``#decline``; the answer lands in ``#result``)."""

    def _formpage(self, user_code: str = "", username: str = "", message: str = "") -> str:
        username = username or self.emu.default_username
        result = f'<p id="result" role="alert">{html.escape(message)}</p>' if message else ""
        return page(
            "Enter code",
            f"{result}"
            '<form id="device-login" method="post" action="/devicelogin">'
            '<label for="user-code">Code</label>'
            f'<input id="user-code" name="user_code" value="{html.escape(user_code)}" '
            'autocomplete="off" autofocus placeholder="ABCD-EFGH">'
            '<label for="username">Sign in as</label>'
            f'<input id="username" name="username" value="{html.escape(username)}">'
            '<button id="approve" type="submit" name="action" value="approve">Approve</button>'
            '<button id="decline" type="submit" name="action" value="decline">Decline</button>'
            "</form>",
        )

    def get(self) -> None:
        code = self.get_query_argument("user_code", None) or self.get_query_argument("otc", "")
        self.finish(self._formpage(user_code=code))

    def post(self) -> None:
        user_code = self.get_body_argument("user_code", "").strip()
        username = self.get_body_argument("username", "").strip() or self.emu.default_username
        action = self.get_body_argument("action", "approve")
        if not user_code:
            self.set_status(400)
            self.finish(self._formpage("", username, "Enter the code shown by your app."))
            return
        try:
            if action == "decline":
                self.emu.decline(user_code)
                text = "You declined the sign-in request. You may close this window."
            else:
                self.emu.approve(user_code, username)
                text = f"You are signed in as {username}. You may close this window."
        except LookupError as exc:
            self.set_status(400)
            self.finish(self._formpage(user_code, username, f"That code did not work: {exc}."))
            return
        self.finish(
            page(
                "Signed in" if action != "decline" else "Declined",
                f'<p id="result" role="status">{html.escape(text)}</p>',
            )
        )
