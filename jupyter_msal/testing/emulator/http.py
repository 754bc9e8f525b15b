"""The tornado applications of the Entra ID emulator: which handler serves which path."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import tornado.web

from .arm import ArmListHandler
from .control import ControlHandler, StateHandler
from .handlers import (
    DeviceCodeHandler,
    DiscoveryHandler,
    InstanceDiscoveryHandler,
    JwksHandler,
    LogoutHandler,
    NotFoundHandler,
    TokenHandler,
)
from .pages import DeviceLoginHandler, IndexHandler
from .resource import ProtectedResourceHandler
from .sign_in_page import AuthorizePageHandler

if TYPE_CHECKING:
    from .grants import EmulatorGrants

__all__ = ["make_application", "make_sign_in_page_application"]

log = logging.getLogger("jupyter_msal.testing.emulator")


def _log_request(handler: tornado.web.RequestHandler) -> None:
    # path only: query strings may carry user codes or state
    log.debug(
        "%s %s -> %s (%.1f ms)",
        handler.request.method,
        handler.request.path,
        handler.get_status(),
        1000 * handler.request.request_time(),
    )


def make_sign_in_page_application(emu: EmulatorGrants) -> tornado.web.Application:
    """Only the human device-login page, for a plain-HTTP listener on loopback."""
    kw = {"emu": emu}
    return tornado.web.Application(
        [(r"/devicelogin", DeviceLoginHandler, kw)],
        default_handler_class=NotFoundHandler,
        default_handler_args=kw,
        log_function=_log_request,
    )


def make_application(emu: EmulatorGrants) -> tornado.web.Application:
    """The tornado application serving ``emu``."""
    tenant = r"([^/]+)"
    kw = {"emu": emu}
    return tornado.web.Application(
        [
            (r"/", IndexHandler, kw),
            (r"/devicelogin", DeviceLoginHandler, kw),
            (r"/_emulator/state", StateHandler, kw),
            (r"/_emulator/([a-z-]+)", ControlHandler, kw),
            (r"/_resource/(.*)", ProtectedResourceHandler, kw),
            (r"/(subscriptions|tenants)", ArmListHandler, kw),
            (rf"/{tenant}/v2\.0/\.well-known/openid-configuration", DiscoveryHandler, kw),
            (rf"/{tenant}/oauth2/v2\.0/devicecode", DeviceCodeHandler, kw),
            (rf"/{tenant}/oauth2/v2\.0/token", TokenHandler, kw),
            (rf"/{tenant}/oauth2/v2\.0/authorize", AuthorizePageHandler, kw),
            (rf"/{tenant}/oauth2/v2\.0/logout", LogoutHandler, kw),
            (rf"/{tenant}/discovery/v2\.0/keys", JwksHandler, kw),
            (r"/discovery/v2\.0/keys", JwksHandler, kw),
            (rf"/{tenant}/discovery/instance", InstanceDiscoveryHandler, kw),
        ],
        default_handler_class=NotFoundHandler,
        default_handler_args=kw,
        log_function=_log_request,
    )
