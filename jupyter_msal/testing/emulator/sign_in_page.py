"""The Entra ID emulator's sign-in page for the authorization-code flow.

With ``emulator.auth_code_sign_in_page = True`` the authorize endpoint shows a page for
people (``#username``, ``#sign-in``, ``#cancel``) instead of signing in at once; the form
posts back to the same address with the original request carried in hidden fields, and the
browser is then redirected to the client with a code (or ``error=access_denied``).
"""

from __future__ import annotations

import html

from .handlers import AuthorizeHandler, page, single_values

__all__ = ["AuthorizePageHandler"]

_OWN_FIELDS = ("username", "action")


class AuthorizePageHandler(AuthorizeHandler):
    """``GET|POST /{tenant}/oauth2/v2.0/authorize`` with the optional page for people."""

    def get(self, tenant: str) -> None:
        if not self.emu.auth_code_sign_in_page:
            super().get(tenant)
            return
        query = single_values(self.request.query_arguments)
        if not query.get("client_id") or not query.get("redirect_uri"):
            super().get(tenant)  # the endpoint's own error page
            return
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in query.items()
            if k not in _OWN_FIELDS
        )
        username = query.get("login_hint") or self.emu.default_username
        self.finish(
            page(
                "Sign in",
                '<form id="sign-in-form" method="post">'
                f"{hidden}"
                '<label for="username">Sign in as</label>'
                f'<input id="username" name="username" value="{html.escape(username)}">'
                '<button id="sign-in" type="submit" name="action" value="sign-in">Sign in</button>'
                '<button id="cancel" type="submit" name="action" value="cancel">Cancel</button>'
                "</form>",
            )
        )

    def post(self, tenant: str) -> None:
        form = single_values(self.request.body_arguments)
        action = form.pop("action", "sign-in")
        username = form.pop("username", "").strip() or self.emu.default_username
        redirect_uri = form.get("redirect_uri", "")
        if not form.get("client_id") or not redirect_uri:
            self.set_status(400)
            self.finish(
                page("Sign-in error", '<p id="result">client_id and redirect_uri are required</p>')
            )
            return
        mode = form.get("response_mode", "query")
        if action == "cancel":
            params = {"error": "access_denied", "error_description": "AADSTS65004: User declined."}
            if form.get("state"):
                params["state"] = form["state"]
            self.send_back(redirect_uri, params, mode)
            return
        redirect_uri, params = self.emu.handle_authorize(tenant, {**form, "login_hint": username})
        self.send_back(redirect_uri, params, mode)
