"""The ``jupyterhub_config.py`` of :class:`~jupyter_msal.testing.hub.JupyterHubProcess`.

One function per part of the file: where everything listens and keeps its files, the user
servers' environment (with the per-user cache key of docs/jupyterhub.md), the spawner, the
login (OAuthenticator's Entra ID login against the emulator, or JupyterHub's dummy login) and
the call of :func:`jupyter_msal.hub.enable` an admin writes.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

__all__ = ["HUB_CLIENT_ID", "HUB_PYTHON_ENV_DEFAULT", "HubSetup", "config_text"]

#: The client id of the hub's app registration in the emulator (a confidential client).
HUB_CLIENT_ID = "7d0c52a4-6b0e-4f1e-9a3c-2f6f1b8e5a10"
#: Where ``scripts/ensure-hub`` builds the user servers' Python when run as root, unless
#: ``JUPYTER_MSAL_HUB_PYTHON`` says otherwise.
HUB_PYTHON_ENV_DEFAULT = "/opt/jupyter-msal-hub-python"


class HubSetup(Protocol):
    """What the config is written from (a :class:`~jupyter_msal.testing.hub.JupyterHubProcess`)."""

    url: str
    hub_port: int
    proxy_api_port: int
    service_port: int
    workdir: Path
    users: Sequence[str]
    guests: Sequence[str]
    admin_token: str
    cache_secret: str
    client_secret: str
    tenant_id: str
    ca_path: Path
    user_environment: dict[str, str]
    as_root: bool
    authenticator: str
    extra_config: str

    @property
    def authority(self) -> str:
        """The hub app's authority in the emulator."""


def _hub_lines(hub: HubSetup, proxy: str) -> list[str]:
    """Addresses, the hub's files, and the hub's own behaviour."""
    work = hub.workdir
    return [
        f"c.JupyterHub.bind_url = {hub.url!r}",
        f"c.JupyterHub.hub_bind_url = 'http://127.0.0.1:{hub.hub_port}'",
        f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{hub.proxy_api_port}'",
        f"c.ConfigurableHTTPProxy.command = [{proxy!r}]",
        f"c.JupyterHub.db_url = 'sqlite:///{work / 'jupyterhub.sqlite'}'",
        f"c.JupyterHub.cookie_secret_file = {str(work / 'cookie_secret')!r}",
        f"c.JupyterHub.pid_file = {str(work / 'jupyterhub.pid')!r}",
        f"c.ConfigurableHTTPProxy.pid_file = {str(work / 'proxy.pid')!r}",
        "c.JupyterHub.cleanup_servers = False",
        "c.JupyterHub.default_url = '/hub/home'",
        "c.JupyterHub.redirect_to_server = False",
        "c.Authenticator.enable_auth_state = True",
        f"c.Authenticator.allowed_users = {set(hub.users) | set(hub.guests)!r}",
        f"c.JupyterHub.services = [{{'name': 'test-admin', 'api_token': {hub.admin_token!r}}}]",
        "c.JupyterHub.load_roles = [{'name': 'test-admin', 'services': ['test-admin'], "
        "'scopes': ['admin:users', 'admin:servers', 'tokens', 'admin:auth_state', "
        "'list:users', 'read:users', 'list:services', 'read:services']}]",
    ]


def _user_server_lines(hub: HubSetup, python_env: Path) -> list[str]:
    """The user servers: their environment (the per-user cache key of docs/jupyterhub.md,
    derived from a hub secret) and how they start."""
    user_env = {
        "JUPYTER_MSAL_AUTHORITY": hub.authority,
        "JUPYTER_MSAL_CA_BUNDLE": str(hub.ca_path),
        "JUPYTER_MSAL_INSTANCE_DISCOVERY": "false",
        "JUPYTER_MSAL_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "JUPYTER_MSAL_HTTP_TIMEOUT": "8",
        **hub.user_environment,
    }
    lines = [
        "c.Spawner.default_url = '/lab'",
        "c.Spawner.start_timeout = 90",
        "c.Spawner.http_timeout = 90",
        "c.Spawner.args = ['--LabApp.news_url=None', '--LabApp.check_for_updates_class="
        "jupyterlab.NeverCheckForUpdate']",
        f"_CACHE_SECRET = bytes.fromhex({hub.cache_secret!r})",
        "def _cache_key(spawner):",
        "    name = spawner.user.name.encode()",
        "    digest = hmac.new(_CACHE_SECRET, name, hashlib.sha256).digest()",
        "    return base64.urlsafe_b64encode(digest).decode()  # a Fernet key: no KDF",
        f"c.Spawner.environment = {{**{user_env!r}, 'JUPYTER_MSAL_CACHE_KEY': _cache_key}}",
    ]
    if hub.as_root:  # real Linux users, from the Python every user can read
        return [
            *lines,
            "c.JupyterHub.spawner_class = 'localprocess'",
            f"c.Spawner.cmd = [{str(python_env / 'bin' / 'jupyterhub-singleuser')!r}]",
        ]
    return [
        *lines,
        "c.JupyterHub.spawner_class = 'simple'",
        f"c.Spawner.home_dir_template = {str(hub.workdir / 'homes' / '{username}')!r}",
        f"c.Spawner.cmd = [{sys.executable!r}, '-m', 'jupyterhub.singleuser']",
    ]


def _login_lines(hub: HubSetup) -> list[str]:
    """The hub's login: OAuthenticator's Entra ID login against the emulator, or dummy."""
    if hub.authenticator != "azuread":
        return [
            "c.JupyterHub.authenticator_class = 'dummy'",
            f"c.DummyAuthenticator.password = {hub.admin_token!r}",
        ]
    authority = hub.authority
    return [
        "c.JupyterHub.authenticator_class = 'azuread'",
        f"c.AzureAdOAuthenticator.client_id = {HUB_CLIENT_ID!r}",
        f"c.AzureAdOAuthenticator.client_secret = {hub.client_secret!r}",
        f"c.AzureAdOAuthenticator.tenant_id = {hub.tenant_id!r}",
        f"c.AzureAdOAuthenticator.authorize_url = {authority + '/oauth2/v2.0/authorize'!r}",
        f"c.AzureAdOAuthenticator.token_url = {authority + '/oauth2/v2.0/token'!r}",
        f"c.AzureAdOAuthenticator.oauth_callback_url = {hub.url + 'hub/oauth_callback'!r}",
        "c.AzureAdOAuthenticator.scope = ['openid', 'profile', 'offline_access']",
        "c.AzureAdOAuthenticator.username_claim = 'preferred_username'",
        f"c.AzureAdOAuthenticator.http_request_kwargs = {{'ca_certs': {str(hub.ca_path)!r}}}",
    ]


def _enable_lines(hub: HubSetup) -> list[str]:
    """``jupyter_msal.hub.enable(c, ...)`` as an admin calls it, then the test's extra lines."""
    settings: dict[str, Any] = {
        "ca_bundle": str(hub.ca_path),
        "instance_discovery": False,
        "http_timeout": 8,
        "allowed_hosts": ["127.0.0.1", "localhost"],
    }
    if hub.authenticator != "azuread":  # the admin names the app for the service
        settings.update(
            client_id=HUB_CLIENT_ID, client_secret=hub.client_secret, authority=hub.authority
        )
    lines = [
        f"jupyter_msal.hub.enable(c, public_url={hub.url!r}, port={hub.service_port}, "
        f"settings={settings!r})"
    ]
    return [*lines, hub.extra_config] if hub.extra_config else lines


def config_text(hub: HubSetup, *, proxy: str, python_env: Path) -> str:
    """The whole ``jupyterhub_config.py`` for ``hub``."""
    lines = [
        "import base64, hashlib, hmac",
        "import jupyter_msal.hub",
        *_hub_lines(hub, proxy),
        *_user_server_lines(hub, python_env),
        *_login_lines(hub),
        *_enable_lines(hub),
    ]
    return "\n".join(lines) + "\n"
