"""The files of the Azure CLI's private configuration folder: profile, config, custom cloud.

The Azure CLI reads its accounts from ``$AZURE_CONFIG_DIR/azureProfile.json``. An account
whose user is ``systemAssignedIdentity`` (type ``servicePrincipal``, ``assignedIdentityInfo``
``MSI``) is a managed-identity account: for its tokens az (2.73 and later, through msal's
``ManagedIdentityClient``) asks the endpoint named by ``IDENTITY_ENDPOINT`` with the secret in
``IDENTITY_HEADER``, which is the server's managed-identity endpoint. So a profile listing the
signed-in user's subscriptions as such accounts makes ``az`` act as that user with no login.

Pure functions except :func:`write_private`; nothing here asks the network.
"""

from __future__ import annotations

import configparser
import io
import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..audiences import CHINA, PUBLIC, US_GOVERNMENT, cloud_of
from ..cache.private_files import fsync_folder, open_private, write_all

__all__ = [
    "MANAGED_IDENTITY_USER",
    "PROFILE_FILE",
    "SIGNED_OUT_NAME",
    "AzureCloud",
    "cloud_for",
    "clouds_text",
    "config_text",
    "merge_profile",
    "profile_entries",
    "read_profile",
    "write_private",
]

PROFILE_FILE = "azureProfile.json"
#: The user of an az managed-identity account (system-assigned), as ``az login --identity``
#: writes it.
MANAGED_IDENTITY_USER = {
    "name": "systemAssignedIdentity",
    "type": "servicePrincipal",
    "assignedIdentityInfo": "MSI",
}
#: The name of the one account listed while nobody is signed in: az then still asks the
#: endpoint, whose answer says how to sign in.
SIGNED_OUT_NAME = "N/A (sign in to jupyter-msal first)"
_NO_TENANT = "00000000-0000-0000-0000-000000000000"
#: The name of the custom cloud registered when Resource Manager is not a known cloud's.
CUSTOM_CLOUD = "JupyterMsal"


@dataclass(frozen=True)
class AzureCloud:
    """The az cloud the private folder selects, and where its Resource Manager is."""

    #: az's cloud name (``AzureCloud``, ``AzureChinaCloud``, ``AzureUSGovernment`` or custom).
    name: str
    #: Resource Manager's URL, ending in ``/``.
    resource_manager: str
    #: The audience az asks Resource Manager tokens for (``active_directory_resource_id``).
    arm_audience: str
    #: The authority host (``https://login.microsoftonline.com``) az's cloud names.
    login: str

    @property
    def custom(self) -> bool:
        """Whether az must be told about this cloud (a ``clouds.config`` section)."""
        return self.name == CUSTOM_CLOUD

    @property
    def arm_scope(self) -> str:
        """The scope of a Resource Manager token."""
        return self.arm_audience + "/.default"


_KNOWN = {
    PUBLIC: AzureCloud(
        "AzureCloud",
        "https://management.azure.com/",
        "https://management.core.windows.net/",
        "https://login.microsoftonline.com",
    ),
    CHINA: AzureCloud(
        "AzureChinaCloud",
        "https://management.chinacloudapi.cn/",
        "https://management.core.chinacloudapi.cn/",
        "https://login.chinacloudapi.cn",
    ),
    US_GOVERNMENT: AzureCloud(
        "AzureUSGovernment",
        "https://management.usgovcloudapi.net/",
        "https://management.core.usgovcloudapi.net/",
        "https://login.microsoftonline.us",
    ),
}


def cloud_for(authority: str | None, resource_manager_url: str = "") -> AzureCloud:
    """The az cloud for an authority, or a custom one for another Resource Manager URL."""
    known = _KNOWN[cloud_of(authority)]
    if not resource_manager_url:
        return known
    url = resource_manager_url.rstrip("/") + "/"
    if url.lower() == known.resource_manager:
        return known
    login = (authority or known.login).rstrip("/").rpartition("/")[0] or known.login
    return AzureCloud(CUSTOM_CLOUD, url, known.arm_audience, login)


def config_text(cloud: AzureCloud, user_config: str | None) -> str:
    """az's ``config`` file: the user's own settings (output format, defaults, telemetry
    choice) with the cloud chosen and az's log files off (they would record commands)."""
    parser = configparser.ConfigParser(interpolation=None)
    if user_config:
        try:
            parser.read_string(user_config)
        except configparser.Error:
            parser = configparser.ConfigParser(interpolation=None)
    for section, key, value in (
        ("cloud", "name", cloud.name),
        ("core", "first_run", "no"),
        ("logging", "enable_log_file", "no"),
    ):
        if not parser.has_section(section):
            parser.add_section(section)
        parser.set(section, key, value)
    out = io.StringIO()
    parser.write(out)
    return out.getvalue()


def clouds_text(cloud: AzureCloud) -> str:
    """az's ``clouds.config`` registering a custom cloud (empty for a known one)."""
    if not cloud.custom:
        return ""
    base = _KNOWN[PUBLIC]
    lines = [
        f"[{cloud.name}]",
        f"endpoint_resource_manager = {cloud.resource_manager}",
        f"endpoint_management = {base.arm_audience}",
        f"endpoint_active_directory = {cloud.login}",
        f"endpoint_active_directory_resource_id = {cloud.arm_audience}",
        "endpoint_active_directory_graph_resource_id = https://graph.windows.net/",
        "endpoint_microsoft_graph_resource_id = https://graph.microsoft.com/",
        "endpoint_sql_management = https://management.core.windows.net:8443/",
        "suffix_storage_endpoint = core.windows.net",
        "suffix_keyvault_dns = .vault.azure.net",
        "suffix_sql_server_hostname = .database.windows.net",
        "suffix_acr_login_server_endpoint = .azurecr.io",
    ]
    return "\n".join(lines) + "\n"


def profile_entries(
    subscriptions: Iterable[Mapping[str, Any]] | None, tenant_id: str | None, cloud: AzureCloud
) -> list[dict[str, Any]]:
    """Managed-identity accounts for Resource Manager's subscriptions (its JSON ``value``).

    With a tenant but no subscriptions: one tenant-level account, as ``az login
    --allow-no-subscriptions`` makes. Without a tenant (nobody signed in): one account named
    :data:`SIGNED_OUT_NAME`.
    """
    entries = []
    for sub in subscriptions or ():
        sub_tenant = str(sub.get("tenantId") or tenant_id or "")
        entries.append(
            {
                "id": str(sub.get("subscriptionId") or str(sub.get("id", "")).rpartition("/")[2]),
                "name": str(sub.get("displayName") or ""),
                "state": str(sub.get("state") or "Enabled"),
                "user": dict(MANAGED_IDENTITY_USER),
                "isDefault": False,
                "tenantId": sub_tenant,
                "environmentName": cloud.name,
                "homeTenantId": sub_tenant,
                "managedByTenants": list(sub.get("managedByTenants") or []),
            }
        )
    if not entries:
        tenant = tenant_id or _NO_TENANT
        entries.append(
            {
                "id": tenant,
                "name": "N/A(tenant level account)" if tenant_id else SIGNED_OUT_NAME,
                "state": "Enabled",
                "user": dict(MANAGED_IDENTITY_USER),
                "isDefault": False,
                "tenantId": tenant,
                "environmentName": cloud.name,
            }
        )
    return entries


def _ours(entry: Mapping[str, Any]) -> bool:
    user = entry.get("user") or {}
    return (
        user.get("name") == MANAGED_IDENTITY_USER["name"]
        and user.get("assignedIdentityInfo") == MANAGED_IDENTITY_USER["assignedIdentityInfo"]
    )


def merge_profile(existing: Mapping[str, Any] | None, ours: list[dict[str, Any]]) -> dict[str, Any]:
    """The profile with ``ours`` replacing the managed-identity accounts of ``existing``.

    Accounts az added itself (an ``az login`` run in a terminal) stay, and so does the
    default chosen with ``az account set`` when it is still listed; otherwise the first of
    ``ours`` is the default.
    """
    existing = existing or {}
    listed = list(existing.get("subscriptions") or [])
    previous = next((e.get("id") for e in listed if e.get("isDefault")), None)
    accounts = [dict(e) for e in listed if not _ours(e)] + [dict(e) for e in ours]
    default = previous if any(e.get("id") == previous for e in accounts) else ours[0]["id"]
    chosen = False
    for entry in accounts:
        entry["isDefault"] = not chosen and entry.get("id") == default
        chosen = chosen or entry["isDefault"]
    profile = {k: v for k, v in existing.items() if k != "subscriptions"}
    profile["subscriptions"] = accounts
    return profile


def write_private(folder: str, name: str, text: str) -> None:
    """Replace ``folder/name`` atomically with ``text`` (0600, links never followed)."""
    path = os.path.join(folder, name)
    temporary = f"{path}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = open_private(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        write_all(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    fsync_folder(folder)


def read_profile(folder: str) -> dict[str, Any] | None:
    """The profile in ``folder`` (az writes it with a byte-order mark), None if unreadable."""
    try:
        with open(os.path.join(folder, PROFILE_FILE), encoding="utf-8-sig") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
