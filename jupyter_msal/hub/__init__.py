"""jupyter-msal on JupyterHub: one call in ``jupyterhub_config.py``.

::

    c.JupyterHub.authenticator_class = "azuread"
    c.Authenticator.enable_auth_state = True          # JUPYTERHUB_CRYPT_KEY must be set
    c.AzureAdOAuthenticator.client_id = "..."         # the hub's app registration
    c.AzureAdOAuthenticator.client_secret = "..."
    c.AzureAdOAuthenticator.tenant_id = "..."

    import jupyter_msal.hub
    jupyter_msal.hub.enable(c, public_url="https://hub.contoso.com")

:func:`enable` runs the jupyter-msal service in the hub (:mod:`jupyter_msal.hub.web`), gives
it the roles it needs, lets users' servers call it, and tells every user server where it is.
Then a user whose hub login was with Entra ID gets tokens in every kernel with no second
sign-in (sign-in method ``hub``), and the hub's one redirect URI (``public_url`` +
``/services/jupyter-msal/redirect``) routes auth-code sign-ins back to the server that
started them.

This module imports nothing heavy: it runs inside ``jupyterhub_config.py``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ..config.environment import env_variable

__all__ = ["DEFAULT_PORT", "SERVICE_NAME", "enable"]

#: The service's name: its URL prefix is ``<hub base_url>services/<name>/``.
SERVICE_NAME = "jupyter-msal"
#: The loopback port the service listens on unless ``enable(c, port=...)`` says otherwise.
DEFAULT_PORT = 10101
#: Scopes of the service's own role: read and write back users' ``auth_state``.
SERVICE_SCOPES = ("read:users", "admin:auth_state", "admin:users")
#: The scopes of JupyterHub's default ``server`` role (a user server's own API token).
_SERVER_TOKEN_SCOPES = ("users:activity!user", "access:servers!server")
#: Where the hub app's registration may be configured, most specific first.
_AUTHENTICATOR_SECTIONS = ("AzureAdOAuthenticator", "GenericOAuthenticator", "OAuthenticator")
#: Variables of the service's environment that :func:`enable` never logs.
_SECRET_VARIABLES = frozenset({"JUPYTER_MSAL_CLIENT_SECRET", "JUPYTER_MSAL_CACHE_KEY"})


def _configured(section: Any, key: str) -> Any:
    """``section[key]`` when the config file set it (not a lazy placeholder), else None."""
    if key in section:
        value = section[key]
        if isinstance(value, (str, list, dict, bool, int, float)):
            return value
    return None


def _authenticator_setting(c: Any, key: str, env: str | None = None) -> str:
    for name in _AUTHENTICATOR_SECTIONS:
        value = _configured(c[name], key)
        if isinstance(value, str) and value:
            return value
    return os.environ.get(env, "") if env else ""


def _authority(c: Any) -> str:
    """The hub app's authority, from the authenticator's token URL or tenant."""
    token_url = _authenticator_setting(c, "token_url")
    if token_url:
        parts = urlsplit(token_url)
        path = parts.path
        for suffix in ("/oauth2/v2.0/token", "/oauth2/token"):
            if path.endswith(suffix):
                return f"{parts.scheme}://{parts.netloc}{path[: -len(suffix)]}"
    tenant = _authenticator_setting(c, "tenant_id", "AAD_TENANT_ID")
    return f"https://login.microsoftonline.com/{tenant}" if tenant else ""


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value))
    return str(value)


def _extend(section: Any, key: str, extra: list[Any]) -> None:
    """Add ``extra`` to a list setting: to the list configured so far, or lazily (traitlets
    applies it to whatever list the setting has when the hub loads its config, also when
    this file is merged into another config, as TLJH does with its config folder)."""
    current = _configured(section, key)
    if isinstance(current, list):
        current.extend(x for x in extra if x not in current)
    else:
        section[key].extend(extra)


def _spawner_environment(c: Any, variables: dict[str, str]) -> None:
    """Add ``variables`` to every spawner's environment: ``c.Spawner`` (lazily when unset) and
    any subclass section that set its own (Zero to JupyterHub sets ``c.KubeSpawner``'s)."""
    for name in list(c.keys()):
        if name.endswith("Spawner") and name != "Spawner":
            own = _configured(c[name], "environment")
            if isinstance(own, dict):
                own.update(variables)
    current = _configured(c.Spawner, "environment")
    if isinstance(current, dict):
        current.update(variables)
    else:
        c.Spawner.environment.update(variables)


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (JupyterHub keeps only that of its public URL)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _service_environment(c: Any, settings: Mapping[str, Any]) -> dict[str, str]:
    """The hub app's settings for the service: ``JUPYTER_MSAL_*`` of the hub's environment,
    the authenticator's registration, then ``settings``."""
    env = {k: v for k, v in os.environ.items() if k.startswith("JUPYTER_MSAL_")}
    found = {
        "client_id": _authenticator_setting(c, "client_id", "OAUTH_CLIENT_ID"),
        "client_secret": _authenticator_setting(c, "client_secret", "OAUTH_CLIENT_SECRET"),
        "authority": _authority(c),
    }
    env.update({env_variable(k): v for k, v in found.items() if v})
    env.update({env_variable(k): _env_value(v) for k, v in settings.items()})
    missing = [k for k in ("client_id", "client_secret") if not env.get(env_variable(k))]
    if missing:
        raise ValueError(
            "jupyter_msal.hub.enable: the hub's Entra ID app is not configured: set "
            + " and ".join(f"c.AzureAdOAuthenticator.{k}" for k in missing)
            + " before calling enable(c), or pass settings={...}."
        )
    return env


def _service_entry(
    c: Any, name: str, url: str, bind_url: str | None, settings: Mapping[str, Any]
) -> dict[str, Any]:
    """The ``c.JupyterHub.services`` entry that runs the service."""
    environment = _service_environment(c, settings)
    if bind_url:
        environment["JUPYTER_MSAL_HUB_BIND_URL"] = bind_url
    return {
        "name": name,
        "url": url,
        "command": [sys.executable, "-m", "jupyter_msal.hub"],
        "environment": environment,
        "display": False,
    }


def _add_roles(hub: Any, name: str, access: str) -> tuple[dict[str, Any], list[str]]:
    """Add the service's role, and ``access`` to the ``user`` role: (the service's role, the
    user role's scopes as JupyterHub will load them)."""
    role = {
        "name": f"{name}-service",
        "description": "jupyter-msal: read users' hub logins, store rotated refresh tokens",
        "scopes": list(SERVICE_SCOPES),
        "services": [name],
    }
    default_user_role = {"name": "user", "scopes": ["self", access]}
    roles = _configured(hub, "load_roles")
    if not isinstance(roles, list):
        hub.load_roles.extend([role, default_user_role])
        return role, list(default_user_role["scopes"])
    user_role = next((r for r in roles if r.get("name") == "user"), None)
    if user_role is None:
        roles.extend([role, default_user_role])
        return role, list(default_user_role["scopes"])
    user_role.setdefault("scopes", ["self"]).append(access)
    roles.append(role)
    return role, list(user_role["scopes"])


def _add_server_token_scope(c: Any, access: str) -> list[str]:
    """Let user servers' own API tokens call the service; the scopes they get now."""
    scopes = _configured(c.Spawner, "server_token_scopes")
    if isinstance(scopes, list):
        scopes.extend([access] if access not in scopes else [])
        return list(scopes)
    # unset means the `server` role: its scopes, and ours
    c.Spawner.server_token_scopes = [*_SERVER_TOKEN_SCOPES, access]
    return list(c.Spawner.server_token_scopes)


def _as_helm_values(
    service: dict[str, Any],
    role: dict[str, Any],
    user_scopes: list[str],
    server_token_scopes: list[str],
    user_environment: dict[str, str],
) -> dict[str, Any]:
    """What :func:`enable` added, in the shape of a Zero to JupyterHub ``values.yaml``."""
    return {
        "hub": {
            "services": {service["name"]: {k: v for k, v in service.items() if k != "name"}},
            "loadRoles": {
                role["name"]: {k: v for k, v in role.items() if k != "name"},
                "user": {"scopes": user_scopes},
            },
            "config": {"Spawner": {"server_token_scopes": server_token_scopes}},
        },
        "singleuser": {"extraEnv": dict(user_environment)},
    }


def _redacted(value: Any) -> Any:
    """``value`` with the secrets among its environment variables replaced (for logs)."""
    if isinstance(value, dict):
        return {
            k: "<redacted>" if k in _SECRET_VARIABLES else _redacted(v) for k, v in value.items()
        }
    return value


def enable(
    c: Any,
    *,
    public_url: str | None = None,
    port: int = DEFAULT_PORT,
    url: str | None = None,
    bind_url: str | None = None,
    user_url: str | None = None,
    settings: Mapping[str, Any] | None = None,
    name: str = SERVICE_NAME,
) -> dict[str, Any]:
    """Run the jupyter-msal service in this hub and connect every user server to it.

    Call it at the end of ``jupyterhub_config.py``, after the Entra ID login is configured.

    Args:
        c: the config object of ``jupyterhub_config.py``.
        public_url: the hub's public address (``https://hub.contoso.com``; only its origin
            counts, the path is ``c.JupyterHub.base_url``); with it, auth-code sign-ins on
            user servers use the one redirect URI
            ``<public_url><base_url>services/<name>/redirect`` (register it on the app the
            user servers sign in with). Default: ``c.JupyterHub.public_url`` when set.
        port: the loopback port the service listens on (when ``url`` is not given).
        url: where the hub and its proxy reach the service, when not on this machine's
            loopback (Kubernetes: ``http://hub:10101``, the hub pod's service name).
        bind_url: the address the service listens on, when it differs from ``url``
            (Kubernetes: ``http://0.0.0.0:10101``).
        user_url: the service's address as user servers reach it, when that is not ``url``
            (default: ``<url><base_url>services/<name>/``).
        settings: ``JupyterMsal`` settings for the service (``{"ca_bundle": "..."}``);
            ``client_id``, ``client_secret`` and ``authority`` default to the
            authenticator's.
        name: the service's name in JupyterHub.

    Returns:
        What it added, as a Zero to JupyterHub ``values.yaml`` holds it (``hub.services``,
        ``hub.loadRoles``, ``hub.config.Spawner.server_token_scopes``,
        ``singleuser.extraEnv``); also logged at debug level (``jupyter_msal.hub``), secrets
        redacted. The service's environment holds the hub app's client secret.
    """
    hub = c.JupyterHub
    base_url = _configured(hub, "base_url") or "/"
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    prefix = f"{base_url}services/{name}/"
    service_url = (url or f"http://127.0.0.1:{port}").rstrip("/")
    service = _service_entry(c, name, service_url, bind_url, settings or {})
    if _configured(c.Authenticator, "enable_auth_state") is not True:
        warnings.warn(
            "jupyter_msal.hub.enable: set c.Authenticator.enable_auth_state = True, or users "
            "sign in again on their servers (the hub login's refresh token is not kept).",
            stacklevel=2,
        )
    _extend(hub, "services", [service])
    access = f"access:services!service={name}"
    role, user_scopes = _add_roles(hub, name, access)
    server_token_scopes = _add_server_token_scope(c, access)
    to_users = {env_variable("hub_service_url"): user_url or f"{service_url}{prefix}"}
    public = public_url or _configured(hub, "public_url")
    if public:
        to_users[env_variable("redirect_uri")] = f"{_origin(public)}{prefix}redirect"
    _spawner_environment(c, to_users)
    return _report(_as_helm_values(service, role, user_scopes, server_token_scopes, to_users))


def _report(added: dict[str, Any]) -> dict[str, Any]:
    """Log ``added`` at debug level (secrets redacted); returns it."""
    log = logging.getLogger("jupyter_msal.hub")
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "jupyter_msal.hub.enable added (as Zero to JupyterHub values): %s",
            json.dumps(_redacted(added), indent=2),
        )
    return added
