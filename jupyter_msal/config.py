"""The ``JupyterMsal`` settings: one traitlets configurable, read by the server and by direct mode.

Set them in ``jupyter_server_config.py`` (or ``jupyter_msal_config.py``)::

    c.JupyterMsal.client_id = "00000000-0000-0000-0000-000000000000"
    c.JupyterMsal.authority = "https://login.microsoftonline.com/contoso.onmicrosoft.com"

Every setting that config does not set is read from the environment variable
``JUPYTER_MSAL_<NAME>`` (``JUPYTER_MSAL_CLIENT_ID``, ...): lists are comma- or
space-separated (or a JSON array), booleans are ``true``/``false``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from traitlets import Bool, Enum, Float, Int, List, TraitError, Unicode, default, validate
from traitlets.config import Config, Configurable

from .errors import ConfigError

__all__ = [
    "DEFAULT_AUTHORITY",
    "DEFAULT_CLIENT_ID",
    "ENV_PREFIX",
    "SECRET_SETTINGS",
    "JupyterMsal",
    "load_settings",
]

#: The public "developer sign-on" client that azure-identity also defaults to.
DEFAULT_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com/organizations"
ENV_PREFIX = "JUPYTER_MSAL_"
#: Settings whose values are never shown (status shows only whether they are set).
SECRET_SETTINGS = ("client_secret", "cache_key")

_REGION_RE = re.compile(r"^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _default_cache_path() -> str:
    from jupyter_core.paths import jupyter_data_dir

    return str(Path(jupyter_data_dir()) / "msal" / "token_cache.bin")


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
        ["auto", "device_code", "broker"],
        default_value="auto",
        help="How interactive sign-in happens when a client does not ask for a method: 'auto' "
        "(broker when available, else device code), 'device_code' or 'broker'.",
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
        help="How many sign-ins may wait for the user at the same time.",
    ).tag(config=True)

    token_refresh_margin = Int(
        300,
        help="Seconds before expiry at which a cached access token is no longer handed out and "
        "a fresh one is fetched instead.",
    ).tag(config=True)

    @default("cache_path")
    def _cache_path_default(self) -> str:
        return _default_cache_path()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._apply_environment(kwargs)

    # -- environment defaults ---------------------------------------------------------------

    def _apply_environment(self, explicit: Mapping[str, Any]) -> None:
        configured = set(self.config.get(type(self).__name__, {})) | set(explicit)
        for name in self.class_trait_names(config=True):
            if name in configured:
                continue
            var = ENV_PREFIX + name.upper()
            raw = os.environ.get(var)
            if raw is None:
                continue
            try:
                setattr(self, name, _parse_env(self.traits()[name], raw))
            except (TraitError, ValueError) as err:
                raise ConfigError(name, f"environment variable {var} is invalid: {err}") from err

    # -- validation ---------------------------------------------------------------------------

    @validate("http_timeout")
    def _check_timeout(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if not 0 < value <= 600:
            raise TraitError(f"http_timeout must be between 0 and 600 seconds, not {value}")
        return value

    @validate("max_pending_sign_ins", "token_refresh_margin")
    def _check_non_negative(self, proposal: dict[str, Any]) -> int:
        if int(proposal["value"]) < 0:
            raise TraitError(f"{proposal['trait'].name} must not be negative")
        return int(proposal["value"])

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
            if path and not Path(path).is_file():
                raise ConfigError(name, f"file {path!r} does not exist")
        if self.client_secret and self.client_certificate_path:
            raise ConfigError(
                "client_secret", "set either client_secret or client_certificate_path, not both"
            )
        if self.broker == "never" and self.sign_in_method == "broker":
            raise ConfigError("sign_in_method", "is 'broker' but JupyterMsal.broker is 'never'")
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


def _parse_env(trait: Any, raw: str) -> Any:
    raw = raw.strip()
    if isinstance(trait, Bool):
        low = raw.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(f"expected true or false, not {raw!r}")
    if isinstance(trait, List):
        if raw.startswith("["):
            value = json.loads(raw)
            if not isinstance(value, list):
                raise ValueError("expected a JSON array")
            return [str(v) for v in value]
        return [p for p in re.split(r"[,\s]+", raw) if p]
    if isinstance(trait, Float):
        return float(raw)
    if isinstance(trait, Int):
        return int(raw)
    if isinstance(trait, Unicode) and trait.allow_none and raw == "":
        return None
    return raw


def load_settings(config: Config | None = None) -> JupyterMsal:
    """Settings for direct mode and the CLI: the same files and variables the server reads.

    Reads the ``JupyterMsal`` section of ``jupyter_server_config`` and ``jupyter_msal_config``
    (``.json`` and ``.py``) in every Jupyter config directory, lowest priority first, then
    ``config`` (if given) on top, then environment variables for what is still unset.
    """
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config.loader import (
        ConfigFileNotFound,
        JSONFileConfigLoader,
        PyFileConfigLoader,
    )

    merged = Config()
    for folder in reversed(jupyter_config_path()):
        for stem in ("jupyter_server_config", "jupyter_msal_config"):
            for loader_cls, suffix in (
                (JSONFileConfigLoader, ".json"),
                (PyFileConfigLoader, ".py"),
            ):
                if not (Path(folder) / (stem + suffix)).is_file():
                    continue
                try:
                    loaded = loader_cls(stem + suffix, path=folder).load_config()
                except ConfigFileNotFound:
                    continue
                except Exception as err:  # a user's config file may raise anything
                    raise ConfigError(
                        "config", f"cannot read {Path(folder) / (stem + suffix)}: {err}"
                    ) from err
                if "JupyterMsal" in loaded:
                    merged.merge(Config({"JupyterMsal": loaded["JupyterMsal"]}))
    if config is not None:
        merged.merge(config)
    try:
        return JupyterMsal(config=merged)
    except TraitError as err:
        raise ConfigError("config", str(err)) from err


def settings_markdown() -> str:
    """The reference of every setting, from the ``help=`` texts (docs/configuration.md)."""
    lines = [
        "# Configuration",
        "",
        "<!-- Generated from jupyter_msal/config.py by `python -m jupyter_msal.config`;"
        " a test keeps it in sync. -->",
        "",
        "Every setting lives in the `JupyterMsal` section of `jupyter_server_config.py` (or",
        "`jupyter_msal_config.py`, `.json` works too) and can also be set with an environment",
        "variable `JUPYTER_MSAL_<NAME>`, used when config does not set it. Lists in environment",
        "variables are comma- or space-separated (or a JSON array); booleans are `true`/`false`.",
        "Invalid values stop the extension at startup with a message naming the setting.",
        "`jupyter msal status` shows what is in effect (secrets only as set / not set).",
        "",
    ]
    for name in sorted(JupyterMsal.class_trait_names(config=True)):
        trait = JupyterMsal.class_traits()[name]
        default = (
            "<jupyter data dir>/msal/token_cache.bin"
            if name == "cache_path"
            else repr(trait.default())
        )
        if isinstance(trait, Enum):
            kind = " | ".join(f"`{v}`" for v in trait.values or ())
        else:
            kind = type(trait).__name__
        lines += [
            f"## `{name}`",
            "",
            f"- type: {kind}; default: `{default}`",
            f"- environment: `{ENV_PREFIX}{name.upper()}`",
            "",
            str(trait.help),
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(settings_markdown(), end="")
