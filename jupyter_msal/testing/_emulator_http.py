"""Tornado handlers of the Entra ID emulator: identity endpoints, sign-in page, test controls."""

from __future__ import annotations

import asyncio
import html
import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import tornado.web

from ._emulator_tokens import EmulatorGrantError

if TYPE_CHECKING:
    from .emulator import EntraEmulator

log = logging.getLogger("jupyter_msal.testing.emulator")

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}
label{{display:block;margin-top:1rem}}input{{font-size:1.1rem;width:100%;padding:.3rem}}
button{{margin-top:1rem;margin-right:.5rem;font-size:1rem;padding:.4rem 1rem}}
.note{{color:#555;font-size:.9rem}}</style></head>
<body><h1>{title}</h1>{content}
<p class="note">jupyter-msal Entra ID emulator &mdash; offline testing only, no real accounts.</p>
</body></html>"""


def _page(title: str, content: str) -> str:
    return _PAGE.format(title=html.escape(title), content=content)


def _single_values(arguments: dict[str, list[bytes]]) -> dict[str, str]:
    return {k: v[-1].decode("utf-8", "replace") for k, v in arguments.items() if v}


class _EmulatorHandler(tornado.web.RequestHandler):
    """Common base: quiet, no caching."""

    emu: EntraEmulator

    def initialize(self, emu: EntraEmulator) -> None:
        self.emu = emu

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("Pragma", "no-cache")

    def write_json(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body))

    def check_xsrf_cookie(self) -> None:  # the emulator has no cookies to protect
        return None


class _IdentityHandler(_EmulatorHandler):
    """An identity-provider endpoint: counted, logged, subject to latency and faults."""

    endpoint: str | None = None

    @property
    def form(self) -> dict[str, str]:
        """Query and form-body parameters, one value each (the body wins)."""
        values = _single_values(self.request.query_arguments)
        values.update(_single_values(self.request.body_arguments))
        return values

    @property
    def correlation_id(self) -> str | None:
        return self.request.headers.get("client-request-id")

    async def prepare(self) -> None:
        form = self.form
        self._entry: dict[str, Any] = {
            "method": self.request.method,
            "path": self.request.path,
            "grant_type": form.get("grant_type"),
            "host": self.request.host,
            "client_id": form.get("client_id"),
            "scope": form.get("scope"),
            "claims": bool(form.get("claims")),
            "status": None,
        }
        self.emu.record(self.endpoint, self._entry)
        if self.correlation_id:
            self.set_header("client-request-id", self.correlation_id)
        if self.endpoint is None:
            return
        delay = self.emu.latency_for(self.endpoint)
        if delay > 0:
            await asyncio.sleep(delay)
        fault = self.emu.take_fault(self.endpoint)
        if fault is not None:
            self.set_status(fault.status)
            self.set_header("Content-Type", fault.content_type)
            for name, value in fault.headers.items():
                self.set_header(name, value)
            self.finish(self.emu.fault_body(fault, self.correlation_id))

    def finish(self, chunk: str | bytes | dict[str, Any] | None = None) -> Any:
        # log the status before the client can see the answer
        entry = getattr(self, "_entry", None)
        if entry is not None:
            self.emu.set_status(entry, self.get_status())
        return super().finish(chunk)

    def write_grant_error(self, exc: EmulatorGrantError) -> None:
        self.write_json(self.emu.error_body(exc, self.correlation_id), exc.status)


class DiscoveryHandler(_IdentityHandler):
    """``GET /{tenant}/v2.0/.well-known/openid-configuration``."""

    endpoint = "discovery"

    def get(self, tenant: str) -> None:
        self.write_json(self.emu.openid_configuration(tenant))


class InstanceDiscoveryHandler(_IdentityHandler):
    """``GET /{tenant}/discovery/instance`` (only for apps told to use this host for it)."""

    endpoint = "instance_discovery"

    def get(self, tenant: str) -> None:
        target = self.get_query_argument("authorization_endpoint", "")
        path = urlsplit(target).path.strip("/").split("/")
        self.write_json(self.emu.instance_metadata(path[0] if path and path[0] else tenant))


class JwksHandler(_IdentityHandler):
    """``GET /{tenant}/discovery/v2.0/keys``: the signing keys."""

    endpoint = "jwks"

    def get(self, tenant: str | None = None) -> None:
        self.write_json(self.emu.jwks())


class DeviceCodeHandler(_IdentityHandler):
    """``POST /{tenant}/oauth2/v2.0/devicecode``."""

    endpoint = "devicecode"

    def post(self, tenant: str) -> None:
        try:
            self.write_json(self.emu.handle_devicecode(tenant, self.form))
        except EmulatorGrantError as exc:
            self.write_grant_error(exc)


class TokenHandler(_IdentityHandler):
    """``POST /{tenant}/oauth2/v2.0/token``: every grant."""

    endpoint = "token"

    def post(self, tenant: str) -> None:
        try:
            body = self.emu.handle_token(
                tenant, self.form, self.request.headers.get("Authorization")
            )
        except EmulatorGrantError as exc:
            self.write_grant_error(exc)
            return
        self.write_json(body)


class AuthorizeHandler(_IdentityHandler):
    """``GET /{tenant}/oauth2/v2.0/authorize``: signs in at once and redirects back."""

    endpoint = "authorize"

    def get(self, tenant: str) -> None:
        query = _single_values(self.request.query_arguments)
        try:
            redirect_uri, params = self.emu.handle_authorize(tenant, query)
        except ValueError as exc:
            self.set_status(400)
            self.finish(_page("Sign-in error", f'<p id="result">{html.escape(str(exc))}</p>'))
            return
        mode = query.get("response_mode", "query")
        if mode == "form_post":
            fields = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in params.items()
            )
            self.finish(
                "<!DOCTYPE html><html><body onload='document.forms[0].submit()'>"
                f'<form method="post" action="{html.escape(redirect_uri)}">{fields}'
                "<noscript><button>Continue</button></noscript></form></body></html>"
            )
            return
        parts = urlsplit(redirect_uri)
        if mode == "fragment":
            target = urlunsplit(parts._replace(fragment=urlencode(params)))
        else:
            query_string = (
                f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
            )
            target = urlunsplit(parts._replace(query=query_string))
        self.redirect(target, status=302)


class LogoutHandler(_IdentityHandler):
    """``GET /{tenant}/oauth2/v2.0/logout``."""

    def get(self, tenant: str) -> None:
        target = self.get_query_argument("post_logout_redirect_uri", None)
        if target:
            self.redirect(target)
        else:
            self.finish(_page("Signed out", '<p id="result">You have signed out.</p>'))


class NotFoundHandler(_IdentityHandler):
    """Anything else: a JSON 404 (logged in ``requests``, not counted)."""

    async def prepare(self) -> None:
        await super().prepare()  # logged (handy when msal calls a path not emulated), not counted
        self.write_json(
            {
                "error": "not_found",
                "error_description": f"No emulated endpoint at {self.request.path}",
            },
            404,
        )


class IndexHandler(_EmulatorHandler):
    """``GET /``: a landing page for people who open the emulator's URL."""

    def get(self) -> None:
        self.finish(
            _page(
                "Entra ID emulator",
                f'<p><a id="devicelogin" href="/devicelogin">Enter a device code</a></p>'
                f"<p>Authority: <code>{html.escape(self.emu.authority())}</code></p>",
            )
        )


class DeviceLoginHandler(_EmulatorHandler):
    """The page a user opens to type a device code (``#user-code``, ``#username``,
    ``#approve``, ``#decline``; the answer lands in ``#result``)."""

    def _form_page(self, user_code: str = "", username: str = "", message: str = "") -> str:
        username = username or self.emu.default_username
        result = f'<p id="result" role="alert">{html.escape(message)}</p>' if message else ""
        return _page(
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
        self.finish(self._form_page(user_code=code))

    def post(self) -> None:
        user_code = self.get_body_argument("user_code", "").strip()
        username = self.get_body_argument("username", "").strip() or self.emu.default_username
        action = self.get_body_argument("action", "approve")
        if not user_code:
            self.set_status(400)
            self.finish(self._form_page("", username, "Enter the code shown by your app."))
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
            self.finish(self._form_page(user_code, username, f"That code did not work: {exc}."))
            return
        self.finish(
            _page(
                "Signed in" if action != "decline" else "Declined",
                f'<p id="result" role="status">{html.escape(text)}</p>',
            )
        )


class StateHandler(_EmulatorHandler):
    """``GET /_emulator/state``: pending codes, counts, request log (no secrets)."""

    def get(self) -> None:
        self.write_json(self.emu.state())


class ControlHandler(_EmulatorHandler):
    """``POST /_emulator/<action>`` with a JSON object body."""

    def post(self, action: str) -> None:
        body = self.request.body.strip()
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if body and content_type != "application/json":
            # refuse form posts, so a web page cannot drive the emulator cross-site
            self.write_json({"ok": False, "error": "send a JSON body"}, 415)
            return
        try:
            args = json.loads(body) if body else {}
        except ValueError:
            self.write_json({"ok": False, "error": "body is not JSON"}, 400)
            return
        if not isinstance(args, dict):
            self.write_json({"ok": False, "error": "body must be a JSON object"}, 400)
            return
        try:
            result = self._dispatch(action, args)
        except LookupError as exc:
            self.write_json({"ok": False, "error": str(exc).strip("'\"")}, 404)
            return
        except (TypeError, ValueError) as exc:
            self.write_json({"ok": False, "error": str(exc)}, 400)
            return
        self.write_json({"ok": True, **result})

    def _dispatch(self, action: str, args: dict[str, Any]) -> dict[str, Any]:
        emu = self.emu
        if action == "approve":
            code = emu.approve(args.get("user_code"), args.get("username"), args.get("tenant_id"))
            return {"user_code": code}
        if action == "decline":
            return {"user_code": emu.decline(args.get("user_code"))}
        if action == "expire":
            return {"user_code": emu.expire(args.get("user_code"))}
        if action == "latency":
            emu.set_latency(float(args.get("seconds", 0)), args.get("endpoint", "token"))
            return {}
        if action == "error":
            emu.inject_error(
                status=int(args.get("status", 500)),
                body=args.get("body"),
                endpoint=args.get("endpoint", "token"),
                count=args.get("count", 1),
                content_type=args.get("content_type", "application/json"),
                headers=args.get("headers"),
            )
            return {}
        if action == "aadsts":
            emu.inject_aadsts(
                code=int(args.get("code", 50076)),
                error=args.get("error", "interaction_required"),
                endpoint=args.get("endpoint", "token"),
                count=args.get("count", 1),
                description=args.get("description"),
                status=int(args.get("status", 400)),
                extra=args.get("extra"),
            )
            return {}
        if action == "revoke":
            return {"revoked": emu.revoke_refresh_tokens(args.get("username"))}
        if action == "reset":
            emu.reset_counts()
            return {}
        if action == "clear-faults":
            emu.clear_faults()
            return {}
        if action == "auto-approve":
            emu.auto_approve = args.get("username")
            return {"auto_approve": emu.auto_approve}
        if action == "config":
            for name in (
                "access_token_lifetime",
                "device_code_lifetime",
                "device_code_interval",
            ):
                if name in args:
                    setattr(emu, name, int(args[name]))
            if "default_username" in args:
                emu.default_username = str(args["default_username"])
            if "refresh_token_single_use" in args:
                emu.refresh_token_single_use = bool(args["refresh_token_single_use"])
            return {}
        raise LookupError(f"unknown control action {action!r}")


def _log_request(handler: tornado.web.RequestHandler) -> None:
    # path only: query strings may carry user codes or state
    log.debug(
        "%s %s -> %s (%.1f ms)",
        handler.request.method,
        handler.request.path,
        handler.get_status(),
        1000 * handler.request.request_time(),
    )


def make_sign_in_page_application(emu: EntraEmulator) -> tornado.web.Application:
    """Only the human device-login page, for a plain-HTTP listener on loopback."""
    kw = {"emu": emu}
    return tornado.web.Application(
        [(r"/devicelogin", DeviceLoginHandler, kw)],
        default_handler_class=NotFoundHandler,
        default_handler_args=kw,
        log_function=_log_request,
    )


def make_application(emu: EntraEmulator) -> tornado.web.Application:
    """The tornado application serving ``emu``."""
    tenant = r"([^/]+)"
    kw = {"emu": emu}
    return tornado.web.Application(
        [
            (r"/", IndexHandler, kw),
            (r"/devicelogin", DeviceLoginHandler, kw),
            (r"/_emulator/state", StateHandler, kw),
            (r"/_emulator/([a-z-]+)", ControlHandler, kw),
            (rf"/{tenant}/v2\.0/\.well-known/openid-configuration", DiscoveryHandler, kw),
            (rf"/{tenant}/oauth2/v2\.0/devicecode", DeviceCodeHandler, kw),
            (rf"/{tenant}/oauth2/v2\.0/token", TokenHandler, kw),
            (rf"/{tenant}/oauth2/v2\.0/authorize", AuthorizeHandler, kw),
            (rf"/{tenant}/oauth2/v2\.0/logout", LogoutHandler, kw),
            (rf"/{tenant}/discovery/v2\.0/keys", JwksHandler, kw),
            (r"/discovery/v2\.0/keys", JwksHandler, kw),
            (rf"/{tenant}/discovery/instance", InstanceDiscoveryHandler, kw),
        ],
        default_handler_class=NotFoundHandler,
        default_handler_args=kw,
        log_function=_log_request,
    )
