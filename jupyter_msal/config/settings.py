"""The ``JupyterMsal`` settings: one traitlets configurable for the server, the CLI and direct mode.

Set them in ``jupyter_server_config.py`` (or ``jupyter_msal_config.py``)::

    c.JupyterMsal.client_id = "00000000-0000-0000-0000-000000000000"
    c.JupyterMsal.authority = "https://login.microsoftonline.com/contoso.onmicrosoft.com"

Every setting that config does not set defaults to the environment variable
``JUPYTER_MSAL_<NAME>`` (``JUPYTER_MSAL_CLIENT_ID``, ...): the variables are the lowest-priority
config source (:mod:`jupyter_msal.config.environment`), read as traitlets reads
``--JupyterMsal.<name>=...`` on a command line. Lists may also be comma- or space-separated; an
empty variable counts as unset.

A value is checked when it is assigned: by its trait's type, and by a ``@validate`` handler
(:mod:`jupyter_msal.config.checks`) where a type says too little. An invalid value raises
:class:`ConfigError` naming the setting (and the variable, when it came from one).
:meth:`JupyterMsal.check` holds the rules that involve several settings.

:mod:`jupyter_msal.config.files` loads config files as Jupyter does, for direct mode and
``jupyter msal``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traitlets import Bool, Dict, Enum, Float, Int, List, TraitError, Unicode, default, validate
from traitlets.config import Config, Configurable
from traitlets.utils.bunch import Bunch

from ..constants import ENCRYPTION_MODES
from ..errors import ConfigError
from . import checks
from .environment import ENV_PREFIX, env_variable, environment_config

__all__ = [
    "DEFAULT_AUTHORITY",
    "DEFAULT_CLIENT_ID",
    "ENV_PREFIX",
    "SECRET_SETTINGS",
    "JupyterMsal",
    "env_variable",
]

#: The public "developer sign-on" client that azure-identity also defaults to.
DEFAULT_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com/organizations"
#: Settings whose values are never shown (status shows only whether they are set).
SECRET_SETTINGS = ("client_secret", "cache_key")

class JupyterMsal(Configurable):
    """Settings of jupyter-msal (config section ``JupyterMsal``)."""

    client_id = Unicode(
        DEFAULT_CLIENT_ID,
        help="Application (client) id of the app registration that signs users in. The default "
        "is Microsoft's public developer sign-on client, the one azure-identity uses; set your "
        "own app's id when your tenant requires it.",
    ).tag(config=True)

    authority = Unicode(
        DEFAULT_AUTHORITY,
        help="Authority URL: https://<host>/<tenant>. The tenant is a GUID, a domain, "
        "'organizations' (work or school accounts) or 'common'. Sovereign clouds by host: "
        "login.microsoftonline.us, login.chinacloudapi.cn. B2C and CIAM hosts work as msal "
        "accepts them (e.g. https://<tenant>.b2clogin.com/<tenant>.onmicrosoft.com/<policy>).",
    ).tag(config=True)

    oidc_authority = Unicode(
        None,
        allow_none=True,
        help="An OpenID Connect issuer URL to use instead of `authority` (any OIDC provider, or "
        "Entra External ID custom domains). When set, `authority` is ignored.",
    ).tag(config=True)

    instance_discovery = Bool(
        True,
        help="Ask login.microsoftonline.com to validate the authority host (msal's instance "
        "discovery). Turn off for private clouds, ADFS-like hosts, and offline emulators.",
    ).tag(config=True)

    azure_region = Unicode(
        None,
        allow_none=True,
        help="Azure region (e.g. 'westus2') for regional token endpoints, or 'auto' to detect it "
        "on an Azure VM. Applies only to service-principal (app-only) tokens; with user sign-in "
        "it has no effect and status says so.",
    ).tag(config=True)

    broker = Enum(
        ["auto", "always", "never"],
        default_value="auto",
        help="Use the OS authentication broker (WAM on Windows, Company Portal on macOS, "
        "Microsoft Identity Broker on Linux; needs the 'broker' extra). 'auto' uses it when it "
        "is available and falls back to device code saying why; 'always' fails when it is not "
        "available; 'never' does not try.",
    ).tag(config=True)

    sign_in_method = Enum(
        ["auto", "device_code", "auth_code", "broker", "hub"],
        default_value="auto",
        help="How interactive sign-in happens when a client does not ask for a method: 'auto' "
        "(the hub login when the JupyterHub service has one, else the broker when available, "
        "else the authorization-code flow in the browser when the browser can reach the "
        "redirect, else device code), 'device_code', 'auth_code', 'broker' or 'hub'.",
    ).tag(config=True)

    auto_sign_in_methods = List(
        Enum(["hub", "broker", "auth_code", "device_code"]),
        default_value=["hub", "broker", "auth_code", "device_code"],
        help="The methods 'auto' may choose, in the order it tries them: the JupyterHub login "
        "(where `hub_service_url` is set and the hub login was with Entra ID), the broker where "
        "it works, the browser (auth_code) where the browser can reach the redirect (this "
        "server listens on loopback, or `redirect_uri` is set), else device code. Leave "
        "device_code out where Conditional Access blocks it.",
    ).tag(config=True)

    hub_service_url = Unicode(
        None,
        allow_none=True,
        help="URL of the jupyter-msal JupyterHub service, ending in '/services/jupyter-msal/' "
        "(set for every user server by `jupyter_msal.hub.enable(c)` in jupyterhub_config.py). "
        "With it, a user whose hub login was with Entra ID gets tokens without signing in "
        "again (sign-in method 'hub'), and a `redirect_uri` on the hub is routed back to this "
        "server. Needs JUPYTERHUB_API_TOKEN, which JupyterHub sets for its user servers.",
    ).tag(config=True)

    redirect_uri = Unicode(
        None,
        allow_none=True,
        help="Authorization-code sign-in on a remote server: the redirect URI registered on your "
        "app, on this Jupyter server's own origin, ending in '<base_url>jupyter-msal/redirect' "
        "(e.g. 'https://jupyter.contoso.com/jupyter-msal/redirect'); on a JupyterHub with the "
        "jupyter-msal service, the hub's one redirect URI "
        "'<hub>/services/jupyter-msal/redirect' (set by `jupyter_msal.hub.enable(c)`), which "
        "routes each answer back to the server that started the sign-in. Unset, the server "
        "receives the redirect on a loopback listener of its own at http://localhost:<port>/, "
        "which the default client accepts.",
    ).tag(config=True)

    client_capabilities = List(
        Unicode(),
        default_value=["CP1"],
        help="Client capabilities announced to the identity provider. 'CP1' (the default, as "
        "azure-identity sends when CAE is on) says this client handles claims challenges, so "
        "Continuous Access Evaluation can revoke tokens early. An empty list announces none.",
    ).tag(config=True)

    default_scopes = List(
        Unicode(),
        default_value=[],
        help="Scopes used when a token request names none, e.g. "
        "['https://management.azure.com/.default'].",
    ).tag(config=True)

    allowed_scopes = List(
        Unicode(),
        default_value=[],
        help="Admin policy: patterns that every requested scope must match, e.g. "
        "['https://storage.azure.com/*', 'https://*.vault.azure.net/.default', 'User.Read']. "
        "A URL pattern is matched part by part: the host label by label ('*' never crosses a "
        "'.'), the path with '*' across segments, and a scope with a '.' or '..' segment or any "
        "percent-encoding is refused; a bare pattern matches bare scopes; '*' alone allows "
        "everything. Empty allows every scope. OpenID scopes (openid, profile, offline_access, "
        "email) are always allowed. See docs/security.md.",
    ).tag(config=True)

    allowed_tenants = List(
        Unicode(),
        default_value=[],
        help="Admin policy: the tenants (ids or domain names) a request may name, e.g. "
        "['contoso.onmicrosoft.com']; empty or '*': any the account can reach. Others are "
        "refused (403 tenant_not_allowed) before any request to the identity provider; "
        "requests naming no tenant are not affected. See docs/tenants.md.",
    ).tag(config=True)

    audiences = Dict(
        value_trait=Unicode(),
        key_trait=Unicode(),
        default_value={},
        help="Audience names added or overridden by the admin: name -> resource URI (its "
        "'/.default' scope is asked for) or full scope, e.g. "
        "{'lake': 'https://datalake.azure.net'}. "
        "A name is a lower-case word; it wins over a built-in name. Users write names where a "
        "scope goes (%msal_token storage); allowed_scopes applies to the scope a name stands "
        "for. See docs/audiences.md.",
    ).tag(config=True)

    cache_path = Unicode(
        help="The token cache file. Default: <jupyter data dir>/msal/token_cache.bin. The "
        "folder is made 0700 and the file 0600; the server and direct-mode kernels/CLI share it "
        "under a cross-process lock.",
    ).tag(config=True)

    cache_encryption = Enum(
        list(ENCRYPTION_MODES),
        default_value="auto",
        help="Encryption of the token cache: 'auto' uses `cache_key` when set, else the OS "
        "keyring when usable, else plaintext with a warning in status and logs; 'required' "
        "refuses to start without encryption; 'none' stores plaintext (0600) without a warning.",
    ).tag(config=True)

    cache_key = Unicode(
        None,
        allow_none=True,
        help="Secret key that encrypts the token cache (a Fernet key from `jupyter msal "
        "generate-key`, or any long random string). Prefer the environment variable "
        "JUPYTER_MSAL_CACHE_KEY over config files. Never shown by status.",
    ).tag(config=True)

    ca_bundle = Unicode(
        None,
        allow_none=True,
        help="PEM file of CA certificates trusted for the identity provider (TLS-inspecting "
        "proxies, private clouds). Takes effect even when REQUESTS_CA_BUNDLE is set.",
    ).tag(config=True)

    http_timeout = Float(
        30.0,
        min=0.1,
        max=600.0,
        help="Seconds to wait for the identity provider on each HTTP request before the request "
        "fails with 'identity provider unreachable'.",
    ).tag(config=True)

    client_secret = Unicode(
        None,
        allow_none=True,
        help="Service principal mode: the app's client secret. With it (or "
        "`client_certificate_path`) tokens are app-only (client credentials), nobody signs in, "
        "and `azure_region` applies. Prefer the environment variable JUPYTER_MSAL_CLIENT_SECRET.",
    ).tag(config=True)

    client_certificate_path = Unicode(
        None,
        allow_none=True,
        help="Service principal mode: PEM file holding the app's certificate and its private "
        "key (unencrypted). Used instead of `client_secret`.",
    ).tag(config=True)

    allowed_hosts = List(
        Unicode(),
        default_value=[],
        help="If set, the only hosts (fnmatch patterns, e.g. 'login.microsoftonline.com', "
        "'*.login.microsoft.com') the extension may send HTTP requests to; anything else is "
        "refused before it leaves the machine. Empty allows every host.",
    ).tag(config=True)

    max_pending_sign_ins = Int(
        8,
        min=0,
        help="How many sign-ins may wait for the user at the same time.",
    ).tag(config=True)

    token_refresh_margin = Int(
        300,
        min=0,
        help="Seconds before expiry at which a cached access token is no longer handed out and "
        "a fresh one is fetched instead.",
    ).tag(config=True)

    managed_identity_endpoint = Bool(
        True,
        help="Serve the signed-in user's tokens to the kernels and terminals this server starts "
        "through the App Service managed-identity protocol: the server sets IDENTITY_ENDPOINT "
        "and IDENTITY_HEADER in their environment, so DefaultAzureCredential, "
        "ManagedIdentityCredential and msal's ManagedIdentityClient work unmodified. Left off "
        "automatically when the server's environment already has a real managed identity "
        "(IDENTITY_ENDPOINT or MSI_ENDPOINT).",
    ).tag(config=True)

    azure_tools = Bool(
        True,
        help="Sign the Azure CLI (az 2.73 or later) and AzCopy in the kernels and terminals this "
        "server starts in as the signed-in user, through the managed-identity endpoint: az gets "
        "a private AZURE_CONFIG_DIR (0700, removed when the server stops) whose profile lists "
        "the user's tenant and subscriptions, azcopy gets AZCOPY_AUTO_LOGIN_TYPE=MSI. The user's "
        "own login wins (AZURE_CONFIG_DIR already set or an account in ~/.azure; "
        "AZCOPY_AUTO_LOGIN_TYPE already set). Off: their environment is exactly Jupyter's own. "
        "Needs managed_identity_endpoint.",
    ).tag(config=True)

    resource_manager_url = Unicode(
        "",
        help="The Azure Resource Manager URL the Azure CLI in kernels and terminals uses and "
        "the user's subscriptions are listed from (see azure_tools). Empty: the one of the "
        "authority's cloud (https://management.azure.com/ for the public cloud, "
        ".chinacloudapi.cn for Azure China, .usgovcloudapi.net for Azure US Government). Set it "
        "for another cloud or an offline emulator; az then uses a cloud named JupyterMsal.",
    ).tag(config=True)

    cache_lock_timeout = Float(
        10.0,
        min=0.0,
        max=600.0,
        help="Seconds a change of the token cache waits for another process holding its lock "
        "(a stopped or hung process keeps it). Then a sign-out fails with 'cache locked' (HTTP "
        "503), while tokens just obtained are kept in memory and saved once the lock is free.",
    ).tag(config=True)

    @default("cache_path")
    def _default_cache_path(self) -> str:
        from jupyter_core.paths import jupyter_data_dir

        return str(Path(jupyter_data_dir()) / "msal" / "token_cache.bin")

    @validate("client_id")
    def _valid_client_id(self, proposal: Bunch) -> str:
        return checks.not_blank(proposal.trait.name, proposal.value)

    @validate("authority", "oidc_authority")
    def _valid_authority(self, proposal: Bunch) -> str | None:
        return checks.authority_url(proposal.trait.name, proposal.value)

    @validate("azure_region")
    def _valid_region(self, proposal: Bunch) -> str | None:
        return checks.region_name(proposal.trait.name, proposal.value)

    @validate("ca_bundle", "client_certificate_path")
    def _valid_file(self, proposal: Bunch) -> str | None:
        return checks.readable_file(proposal.trait.name, proposal.value)

    @validate("redirect_uri", "hub_service_url")
    def _valid_url(self, proposal: Bunch) -> str | None:
        return checks.http_url(proposal.trait.name, proposal.value)

    @validate("resource_manager_url")
    def _valid_resource_manager_url(self, proposal: Bunch) -> str:
        return checks.http_url(proposal.trait.name, proposal.value) if proposal.value else ""

    @validate("audiences")
    def _valid_audiences(self, proposal: Bunch) -> dict[str, str]:
        return checks.audience_names(proposal.trait.name, proposal.value)

    @validate("allowed_scopes")
    def _valid_patterns(self, proposal: Bunch) -> list[str]:
        return checks.patterns(proposal.trait.name, proposal.value)

    @validate("allowed_tenants")
    def _valid_tenants(self, proposal: Bunch) -> list[str]:
        return checks.tenants(proposal.trait.name, proposal.value)

    def __init__(self, **kwargs: Any) -> None:
        """Settings from ``config`` (or ``parent``'s), keyword arguments and the environment.

        Keyword arguments win over config, config over the ``JUPYTER_MSAL_*`` variables.
        Raises :class:`ConfigError` naming the setting when a value is invalid.
        """
        parent = kwargs.get("parent")
        config = kwargs.pop("config", None)
        if config is None:
            config = parent.config if parent is not None else Config()
        merged = environment_config(JupyterMsal, skip=kwargs)
        from_environment = dict(merged.JupyterMsal)
        merged.merge(config)
        section = merged.JupyterMsal
        # The variables whose values survived the merge: an invalid one is named in the error.
        named = {n for n, v in from_environment.items() if n in section and section[n] is v}
        try:
            super().__init__(config=merged, **kwargs)
        except (TraitError, ConfigError) as err:
            found = checks.config_error(err, JupyterMsal.class_trait_names(config=True))
            raise checks.naming_the_variable(found, named) from err

    def check(self) -> None:
        """Check the rules that involve several settings (each value is valid on its own by
        now); :class:`ConfigError` names the setting to change."""
        if self.client_secret and self.client_certificate_path:
            raise ConfigError.about(
                "client_secret", "set either client_secret or client_certificate_path, not both"
            )
        if self.broker == "never" and self.sign_in_method == "broker":
            raise ConfigError.about(
                "sign_in_method", "is 'broker' but JupyterMsal.broker is 'never'"
            )
        if self.cache_encryption == "none" and self.cache_key:
            raise ConfigError.about("cache_encryption", "is 'none' but a cache_key is set")

    @property
    def service_principal(self) -> bool:
        """True when a client credential is configured (app-only tokens, no sign-in)."""
        return bool(self.client_secret or self.client_certificate_path)

    def public_dict(self) -> dict[str, Any]:
        """Every effective setting that is not secret (secrets as ``<name>_set`` booleans)."""
        out: dict[str, Any] = {}
        for name in sorted(self.class_trait_names(config=True)):
            value = getattr(self, name)
            if name in SECRET_SETTINGS:
                out[f"{name}_set"] = bool(value)
            else:
                out[name] = list(value) if isinstance(value, list) else value
        return out
