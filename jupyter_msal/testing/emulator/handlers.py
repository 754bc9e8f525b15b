"""Tornado handlers of the Entra ID emulator's identity endpoints, and their common base.

Every identity endpoint is counted, logged (without secrets), and subject to injected latency
and faults before it does its real work.
"""

from __future__ import annotations

import asyncio
import html
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import tornado.web

from .tokens import EmulatorGrantError

if TYPE_CHECKING:
    from .grants import EmulatorGrants

__all__ = [
    "AuthorizeHandler",
    "DeviceCodeHandler",
    "DiscoveryHandler",
    "EmulatorHandler",
    "InstanceDiscoveryHandler",
    "JwksHandler",
    "LogoutHandler",
    "NotFoundHandler",
    "TokenHandler",
    "page",
    "single_values",
]

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


def page(title: str, content: str) -> str:
    """An HTML page of the emulator with ``title`` and ``content`` (already escaped HTML)."""
    return _PAGE.format(title=html.escape(title), content=content)


def single_values(arguments: dict[str, list[bytes]]) -> dict[str, str]:
    """Request arguments with one value each (the last one given)."""
    return {k: v[-1].decode("utf-8", "replace") for k, v in arguments.items() if v}


class EmulatorHandler(tornado.web.RequestHandler):
    """Common base of every emulator handler: no caching, JSON answers, no XSRF cookie."""

    emu: EmulatorGrants

    def initialize(self, emu: EmulatorGrants) -> None:
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


class _IdentityHandler(EmulatorHandler):
    """An identity-provider endpoint: counted, logged, subject to latency and faults."""

    endpoint: str | None = None

    @property
    def form(self) -> dict[str, str]:
        """Query and form-body parameters, one value each (the body wins)."""
        values = single_values(self.request.query_arguments)
        values.update(single_values(self.request.body_arguments))
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
            generation = self.emu.generation
            await asyncio.sleep(delay)
            if self.emu.generation != generation:
                # the emulator was reset while this request waited: it belongs to a test that
                # has ended, so it must not take the faults or codes of the next one
                self.write_json({"error": "temporarily_unavailable"}, 503)
                return
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
        query = single_values(self.request.query_arguments)
        try:
            redirect_uri, params = self.emu.handle_authorize(tenant, query)
        except ValueError as exc:
            self.set_status(400)
            self.finish(page("Sign-in error", f'<p id="result">{html.escape(str(exc))}</p>'))
            return
        self.send_back(redirect_uri, params, query.get("response_mode", "query"))

    def send_back(self, redirect_uri: str, params: dict[str, str], mode: str) -> None:
        """Send the browser to ``redirect_uri`` with ``params`` the way ``mode`` asks."""
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
            self.finish(page("Signed out", '<p id="result">You have signed out.</p>'))


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
