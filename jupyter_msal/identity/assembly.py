"""The parts of one configuration below the sign-in flows, built from its settings.

:func:`assemble` opens the persisted cache, builds the HTTP session, detects the broker, builds
the msal application and the account store, starts the worker pools and links to the
JupyterHub service when there is one. The token service (``jupyter_msal.service``) holds the
result; nothing here sends a request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..cache import TokenCacheHandle, open_token_cache
from ..config.settings import JupyterMsal
from .accounts import AccountStore
from .broker_detect import BrokerStatus, detect_broker
from .hub_link import HubLink
from .msal_app import MsalApp, region_note
from .transport import GuardedSession
from .workers import Workers

__all__ = ["IdentityParts", "assemble", "http_session"]


@dataclass(frozen=True)
class IdentityParts:
    """What a token service is made of, below its sign-in flows."""

    #: The HTTP session msal uses.
    http: GuardedSession
    #: The persisted token cache.
    cache: TokenCacheHandle
    #: Whether the OS broker can be used here.
    broker: BrokerStatus
    #: The msal application.
    msal: MsalApp
    #: The signed-in accounts, read from the cache.
    accounts: AccountStore
    #: The thread pools that keep blocking calls off the event loop.
    workers: Workers
    #: The JupyterHub service's link (sign-in method ``hub``), on a hub that enabled it.
    hub: HubLink | None


def http_session(settings: JupyterMsal) -> GuardedSession:
    """The HTTP session msal uses with ``settings``: CA bundle, timeout, allowed hosts, and
    IMDS blocked when the region is given (msal would only ask IMDS to compare it)."""
    region = settings.azure_region
    return GuardedSession(
        verify=settings.ca_bundle or True,
        timeout=settings.http_timeout,
        allowed_hosts=settings.allowed_hosts,
        block_imds=bool(region and region != "auto"),
        log=logging.getLogger("jupyter_msal.http"),
    )


def assemble(
    settings: JupyterMsal, *, log: logging.Logger, http: GuardedSession | None = None
) -> IdentityParts:
    """The parts for ``settings`` (checked already); ``http`` replaces the HTTP session."""
    http = http or http_session(settings)
    cache = open_token_cache(
        settings.cache_path,
        encryption=settings.cache_encryption,
        key=settings.cache_key,
        log=log,
        lock_timeout=settings.cache_lock_timeout,
    )
    broker = detect_broker(settings.broker)
    msal = MsalApp(
        settings,
        token_cache=cache.cache,
        http=http,
        broker=broker.available and not settings.service_principal,
        http_cache=cache.http_cache,
    )
    if not settings.service_principal and settings.azure_region:
        log.warning("jupyter-msal: %s", region_note(settings))
    return IdentityParts(
        http=http,
        cache=cache,
        broker=broker,
        msal=msal,
        accounts=AccountStore(settings, cache.cache),
        workers=Workers(),
        hub=_hub_link(settings, log),
    )


def _hub_link(settings: JupyterMsal, log: logging.Logger) -> HubLink | None:
    """The link to the JupyterHub service, when this server runs under one that has it."""
    if settings.service_principal:
        return None
    return HubLink.from_environment(
        settings.hub_service_url,
        timeout=settings.http_timeout,
        verify=settings.ca_bundle or True,
        log=log,
    )
