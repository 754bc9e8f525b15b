"""The ``JupyterMsal`` settings: one traitlets configurable for the server, the CLI and direct mode.

Set them in ``jupyter_server_config.py`` (or ``jupyter_msal_config.py``)::

    c.JupyterMsal.client_id = "00000000-0000-0000-0000-000000000000"
    c.JupyterMsal.authority = "https://login.microsoftonline.com/contoso.onmicrosoft.com"

Every setting that config does not set defaults to the environment variable
``JUPYTER_MSAL_<NAME>`` (``JUPYTER_MSAL_CLIENT_ID``, ...): one ``@default`` handler per setting,
which parses the variable as traitlets parses ``--JupyterMsal.<name>=...`` on a command line.
Lists may also be comma- or space-separated; an empty variable counts as unset.

:mod:`jupyter_msal.config.files` loads config files as Jupyter does, for direct mode and
``jupyter msal``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from traitlets import (
    Bool,
    Enum,
    Float,
    Int,
    List,
    TraitError,
    TraitType,
    Unicode,
    default,
)
from traitlets.config import Configurable
from traitlets.config.loader import (
    DeferredConfigList,
    DeferredConfigString,
)
from traitlets.traitlets import DefaultHandler

from ..errors import ConfigError

__all__ = [
    "DEFAULT_AUTHORITY",
    "DEFAULT_CLIENT_ID",
    "ENV_PREFIX",
    "SECRET_SETTINGS",
    "JupyterMsal",
    "config_error",
    "env_variable",
]

#: The public "developer sign-on" client that azure-identity also defaults to.
DEFAULT_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com/organizations"
ENV_PREFIX = "JUPYTER_MSAL_"
#: Settings whose values are never shown (status shows only whether they are set).
SECRET_SETTINGS = ("client_secret", "cache_key")

_REGION_RE = re.compile(r"^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$")
#: How traitlets' own error messages name a trait ("The 'http_timeout' trait of ...").
_TRAIT_IN_MESSAGE = re.compile(r"'(\w+)' trait")


def env_variable(name: str) -> str:
    """The environment variable a setting defaults to: ``JUPYTER_MSAL_<NAME>``."""
    return ENV_PREFIX + name.upper()


def _default_cache_path() -> str:
    from jupyter_core.paths import jupyter_data_dir

    return str(Path(jupyter_data_dir()) / "msal" / "token_cache.bin")


#: Built-in defaults that are computed rather than written on the trait.
_COMPUTED_DEFAULTS = {"cache_path": _default_cache_path}


def _from_string(raw: str, trait: TraitType[Any, Any]) -> Any:
    """``raw`` read as traitlets reads a command-line value for ``trait``.

    A list is a JSON array, or items separated by commas or white space, each read as one
    ``--JupyterMsal.<name> <item>``. What cannot be read comes back as it is, so that
    validating it raises traitlets' own error.
    """
    if not isinstance(trait, List):
        return DeferredConfigString(raw).get_value(trait)
    try:
        items = json.loads(raw) if raw.startswith("[") else re.split(r"[,\s]+", raw)
    except ValueError:
        return raw
    return DeferredConfigList(item for item in items if item != "").get_value(trait)


def _environment_default(name: str) -> DefaultHandler:
    """The ``@default`` handler of setting ``name``: its variable when set, else the built-in."""

    @default(name)
    def from_environment(self: JupyterMsal) -> Any:
        raw = os.environ.get(env_variable(name), "").strip()
        trait = self.traits()[name]
        if not raw:
            return _COMPUTED_DEFAULTS.get(name, trait.default)()
        return _from_string(raw, trait)

    return from_environment


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
        help="Admin policy: shell-style patterns (fnmatch) that every requested scope must "
        "match, e.g. ['https://storage.azure.com/*', 'User.Read']. Empty allows every scope. "
        "OpenID scopes (openid, profile, offline_access, email) are always allowed.",
    ).tag(config=True)

    cache_path = Unicode(
        help="The token cache file. Default: <jupyter data dir>/msal/token_cache.bin. The "
        "folder is made 0700 and the file 0600; the server and direct-mode kernels/CLI share it "
        "under a cross-process lock.",
    ).tag(config=True)

    cache_encryption = Enum(
        ["auto", "required", "none"],
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

    cache_lock_timeout = Float(
        10.0,
        min=0.0,
        max=600.0,
        help="Seconds a change of the token cache waits for another process holding its lock "
        "(a stopped or hung process keeps it). Then a sign-out fails with 'cache locked' (HTTP "
        "503), while tokens just obtained are kept in memory and saved once the lock is free.",
    ).tag(config=True)

    # Every setting defaults to its JUPYTER_MSAL_<NAME> variable: one @default handler per
    # setting is added to this class body, so traitlets consults the variable exactly when config
    # and keyword arguments leave the setting unset, and validates what it returns.
    # (Settings go above this loop.)
    for _name, _value in list(vars().items()):
        if isinstance(_value, TraitType) and _value.metadata.get("config"):
            vars()[f"_{_name}_environment_default"] = _environment_default(_name)
    del _name, _value

    def __init__(self, **kwargs: Any) -> None:
        """Settings from ``config`` (or ``parent``'s), keyword arguments and the environment.

        Raises :class:`ConfigError` naming the setting when a value is invalid.
        """
        try:
            super().__init__(**kwargs)
        except TraitError as err:
            raise config_error(err) from err
        # Settle every setting now, so that an invalid variable fails here, not at first use.
        # Configured values are valid by now: only a value from the environment can fail.
        for name in self.trait_names(config=True):
            try:
                getattr(self, name)
            except TraitError as err:
                raise ConfigError(
                    name, f"environment variable {env_variable(name)} is invalid: {err}"
                ) from err

    def check(self) -> None:
        """Check values that need more than their type; :class:`ConfigError` names the setting."""
        if not self.client_id.strip():
            raise ConfigError("client_id", "must not be empty")
        for name in ("authority", "oidc_authority"):
            value = getattr(self, name)
            if value is None:
                continue
            parts = urlsplit(value)
            if parts.scheme != "https" or not parts.hostname or not parts.path.strip("/"):
                raise ConfigError(
                    name,
                    f"{value!r} is not an https://<host>/<tenant> URL "
                    "(e.g. https://login.microsoftonline.com/organizations)",
                )
        region = self.azure_region
        if region is not None and region != "auto" and not _REGION_RE.fullmatch(region):
            raise ConfigError(
                "azure_region", f"{region!r} is not an Azure region name like 'westus2' or 'auto'"
            )
        for name in ("ca_bundle", "client_certificate_path"):
            path = getattr(self, name)
            if path:
                _check_readable_file(name, path)
        if self.client_secret and self.client_certificate_path:
            raise ConfigError(
                "client_secret", "set either client_secret or client_certificate_path, not both"
            )
        if self.broker == "never" and self.sign_in_method == "broker":
            raise ConfigError("sign_in_method", "is 'broker' but JupyterMsal.broker is 'never'")
        redirect = self.redirect_uri
        if redirect is not None:
            parts = urlsplit(redirect)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError("redirect_uri", f"{redirect!r} is not an http(s) URL")
        hub = self.hub_service_url
        if hub is not None:
            parts = urlsplit(hub)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError("hub_service_url", f"{hub!r} is not an http(s) URL")
        if self.cache_encryption == "none" and self.cache_key:
            raise ConfigError("cache_encryption", "is 'none' but a cache_key is set")
        bad = [p for p in self.allowed_scopes if not p.strip()]
        if bad:
            raise ConfigError("allowed_scopes", "contains an empty pattern")

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


def _check_readable_file(setting: str, path: str) -> None:
    """:class:`ConfigError` naming ``setting`` unless ``path`` is a file this process can read.

    The file is opened: ``os.access`` says yes to root whatever the permissions. ``stat``
    comes first, as ``Path.is_file`` (which raises ``PermissionError`` for a file in a folder
    this user cannot enter, or in newer Pythons answers False) cannot tell the cases apart.
    """
    try:
        os.stat(path)
        if not Path(path).is_file():
            raise ConfigError(setting, f"{path!r} is not a file")
        with open(path, "rb"):
            pass
    except (FileNotFoundError, NotADirectoryError) as err:
        raise ConfigError(setting, f"file {path!r} does not exist") from err
    except OSError as err:
        if isinstance(err, PermissionError):
            why = "permission denied (the file, or a folder above it, is not readable by this user)"
        else:
            why = err.strerror or str(err)
        raise ConfigError(setting, f"cannot read {path}: {why}") from err


def config_error(err: TraitError) -> ConfigError:
    """A traitlets validation error as a :class:`ConfigError` naming its setting."""
    settings = JupyterMsal.class_trait_names(config=True)
    named = [n for n in _TRAIT_IN_MESSAGE.findall(str(err)) if n in settings]
    if named:
        return ConfigError(named[0], str(err))
    return ConfigError(None, f"invalid JupyterMsal configuration: {err}")
