"""The sign-in methods one configuration offers, in a :class:`SignInRegistry`.

A new sign-in method is one new module implementing :class:`SignInStrategy` and one line here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..audit import EventSink
from ..config.settings import JupyterMsal
from ..identity.broker_detect import BrokerStatus
from ..identity.hub_link import HubLink
from ..models import SignInMethod
from ..scopes import check_tenant, check_tenant_policy, resolve_scopes
from .auth_code import AuthCodeSignIn
from .broker import BrokerSignIn
from .device_code import DeviceCodeSignIn
from .hub import HubSignIn
from .registry import SignInRegistry
from .strategy import SignInContext, SignInStrategy

__all__ = ["configured_sign_ins"]


def configured_sign_ins(
    settings: JupyterMsal,
    context: SignInContext,
    *,
    broker: BrokerStatus,
    log: logging.Logger,
    events: EventSink | None,
    hub: HubLink | None,
    names: Callable[[str], str] | None = None,
) -> SignInRegistry:
    """The registry of the sign-in methods ``settings`` allows (none for a service principal).

    ``hub`` is the JupyterHub service's link, if this server runs under one that has it;
    ``names`` resolves audience names in the scopes a sign-in consents to.
    """
    return SignInRegistry(
        [] if settings.service_principal else _strategies(settings, context, broker, hub),
        default_method=SignInMethod.parse(settings.sign_in_method),
        broker_required=settings.broker == "always",
        explain_fallback=settings.broker != "never",
        resolve_scopes=lambda scopes: resolve_scopes(
            scopes, allowed_scopes=settings.allowed_scopes, names=names
        ),
        max_pending=settings.max_pending_sign_ins,
        log=log,
        auto_methods=[SignInMethod.parse(m) for m in settings.auto_sign_in_methods],
        events=events,
        check_tenant=lambda tenant: _sign_in_tenant(settings, context, tenant),
    )


def _sign_in_tenant(settings: JupyterMsal, context: SignInContext, tenant: str) -> str | None:
    """The tenant a sign-in names, as token requests take it: a tenant id or domain name in
    lower case, allowed by ``allowed_tenants``, on an Entra ID authority; None for the
    configured authority's own tenant."""
    own = context.msal.own_tenant(check_tenant(tenant))
    if own is not None:
        check_tenant_policy(own, settings.allowed_tenants)
        context.msal.tenant_authority(own)  # an oidc_authority names one issuer: refused
    return own


def _strategies(
    settings: JupyterMsal, context: SignInContext, broker: BrokerStatus, hub: HubLink | None
) -> list[SignInStrategy]:
    """One strategy per sign-in method a user may use here."""
    # With the hub service and a redirect URI (the hub's one callback), the hub routes
    # each answer back here by the state this server registers with it.
    routed = hub is not None and settings.redirect_uri is not None
    strategies: list[SignInStrategy] = [
        DeviceCodeSignIn(context),
        AuthCodeSignIn(
            context,
            redirect_uri=settings.redirect_uri,
            register_state=hub.register_state if hub is not None and routed else None,
        ),
        BrokerSignIn(context, broker),
    ]
    if hub is not None:
        strategies.append(HubSignIn(hub))
    return strategies
