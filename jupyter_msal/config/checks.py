"""Checks of one setting's value, each raising :class:`ConfigError` naming the setting.

``JupyterMsal`` calls them from its ``@validate`` handlers, so an invalid value fails when it
is assigned (from config, the environment, a keyword or later); rules that involve several
settings are ``JupyterMsal.check``'s. Each check returns the value it accepts; ``None`` (a
setting left unset) is always accepted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection
from pathlib import Path
from urllib.parse import urlsplit

from traitlets import TraitError

from ..errors import BadRequest, ConfigError
from ..scopes import check_scope, check_tenant, is_audience_name
from .environment import env_variable

__all__ = [
    "audience_names",
    "authority_url",
    "config_error",
    "http_url",
    "naming_the_variable",
    "not_blank",
    "patterns",
    "readable_file",
    "region_name",
    "tenants",
]

_REGION_RE = re.compile(r"^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def not_blank(setting: str, value: str) -> str:
    """``value`` unless it is empty or white space."""
    if not value.strip():
        raise ConfigError.about(setting, "must not be empty")
    return value


def authority_url(setting: str, value: str | None) -> str | None:
    """``value`` if it is an ``https://<host>/<tenant>`` URL."""
    if value is not None:
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname or not parts.path.strip("/"):
            raise ConfigError.about(
                setting,
                f"{value!r} is not an https://<host>/<tenant> URL "
                "(e.g. https://login.microsoftonline.com/organizations)",
            )
    return value


def http_url(setting: str, value: str | None) -> str | None:
    """``value`` if it is an http(s) URL with a host."""
    if value is not None:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError.about(setting, f"{value!r} is not an http(s) URL")
    return value


def region_name(setting: str, value: str | None) -> str | None:
    """``value`` if it is an Azure region name (``westus2``) or ``auto``."""
    if value is not None and value != "auto" and not _REGION_RE.fullmatch(value):
        raise ConfigError.about(
            setting, f"{value!r} is not an Azure region name like 'westus2' or 'auto'"
        )
    return value


def patterns(setting: str, value: list[str]) -> list[str]:
    """``value`` unless one of its patterns is empty."""
    if any(not pattern.strip() for pattern in value):
        raise ConfigError.about(setting, "contains an empty pattern")
    return value


def tenants(setting: str, value: list[str]) -> list[str]:
    """Tenant ids and domain names (``*``: any), each in lower case."""
    accepted: list[str] = []
    for tenant in value:
        if tenant.strip() == "*":
            accepted.append("*")
            continue
        try:
            accepted.append(check_tenant(tenant))
        except BadRequest as err:
            raise ConfigError.about(setting, err.message) from None
    return accepted


def audience_names(setting: str, value: dict[str, str]) -> dict[str, str]:
    """``value`` when each name is a lower-case word other than an OpenID scope and each
    resource URI or scope is one scope-token (printable ASCII, no space, quote or backslash)."""
    for name, target in value.items():
        if not is_audience_name(name):
            raise ConfigError.about(
                setting, f"{name!r} is not an audience name (a lower-case word like 'lake')"
            )
        try:
            check_scope(target)
        except BadRequest:
            raise ConfigError.about(
                setting, f"{name!r}: {target!r} is not a resource URI or scope"
            ) from None
    return value


def readable_file(setting: str, path: str | None) -> str | None:
    """``path`` if it is empty or a file this process can read.

    The file is opened: ``os.access`` says yes to root whatever the permissions. ``stat``
    comes first, as ``Path.is_file`` (which raises ``PermissionError`` for a file in a folder
    this user cannot enter, or in newer Pythons answers False) cannot tell the cases apart.
    """
    if not path:
        return path
    try:
        os.stat(path)
        if not Path(path).is_file():
            raise ConfigError.about(setting, f"{path!r} is not a file")
        with open(path, "rb"):
            pass
    except (FileNotFoundError, NotADirectoryError) as err:
        raise ConfigError.about(setting, f"file {path!r} does not exist") from err
    except OSError as err:
        if isinstance(err, PermissionError):
            why = "permission denied (the file, or a folder above it, is not readable by this user)"
        else:
            why = err.strerror or str(err)
        raise ConfigError.about(setting, f"cannot read {path}: {why}") from err
    return path


#: How traitlets' own error messages name a trait ("The 'http_timeout' trait of ...").
_TRAIT_IN_MESSAGE = re.compile(r"'(\w+)' trait")


def config_error(err: TraitError | ConfigError, settings: Collection[str] = ()) -> ConfigError:
    """A traitlets validation error as a :class:`ConfigError` naming its setting (one of
    ``settings``, the names of the configurable's settings)."""
    if isinstance(err, ConfigError):
        return err
    named = [n for n in _TRAIT_IN_MESSAGE.findall(str(err)) if n in settings]
    if named:
        return ConfigError.about(named[0], str(err))
    return ConfigError(f"invalid JupyterMsal configuration: {err}")


def naming_the_variable(err: ConfigError, variables: set[str]) -> ConfigError:
    """``err``, saying which environment variable held the value when one of ``variables`` did."""
    if err.setting not in variables:
        return err
    problem = err.message.removeprefix(f"JupyterMsal.{err.setting}: ")
    return ConfigError.about(
        err.setting, f"environment variable {env_variable(err.setting)} is invalid: {problem}"
    )
