"""Audience names: ``storage`` for ``https://storage.azure.com/.default``, per Azure cloud.

Pure data and functions (no msal, no I/O)::

    cloud_of("https://login.chinacloudapi.cn/contoso.cn")  -> "china"
    audience_table(authority, {})  -> {"arm": "https://management.azure.com/.default", ...}
    scope_for("https://vault.azure.net")  -> "https://vault.azure.net/.default"

The cloud is chosen by the host of the configured authority: ``login.microsoftonline.com``
(public), ``login.chinacloudapi.cn`` (Azure China), ``login.microsoftonline.us`` (Azure US
Government); any other host (an emulator, another OpenID provider) counts as public. The
service turns a name a user writes into its scope before policy and before any request
(:func:`jupyter_msal.scopes.resolve_scopes`); admins add or override names with the setting
``JupyterMsal.audiences``. docs/audiences.md shows the table and where each URI comes from.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from .errors import BadRequest

__all__ = [
    "ALIASES",
    "BUILT_IN",
    "CLOUDS",
    "CLOUD_HOSTS",
    "DISPLAY_NAMES",
    "OTHER_URIS",
    "Audiences",
    "audience_table",
    "cloud_of",
    "display_name",
    "scope_for",
    "unknown_name",
]

PUBLIC, CHINA, US_GOVERNMENT = "public", "china", "usgov"
#: The clouds, in the order of the columns of :data:`BUILT_IN`, with the words shown for them.
CLOUDS = {PUBLIC: "Azure public cloud", CHINA: "Azure China", US_GOVERNMENT: "Azure US Government"}
#: The authority host of each cloud (azure-identity's ``AzureAuthorityHosts``).
CLOUD_HOSTS = {
    "login.microsoftonline.com": PUBLIC,
    "login.chinacloudapi.cn": CHINA,
    "login.microsoftonline.us": US_GOVERNMENT,
}

# name -> (public, Azure China, Azure US Government) resource URI; None: not offered there.
# Sources: azure-cli's cloud definitions (azure/cli/core/cloud.py: resource_manager,
# microsoft_graph_resource_id, vault_dns_suffix's resource, sql_management,
# synapse_analytics_resource_id); Azure Pipelines' azure-arm-rest scopes per cloud (storage,
# cosmos, eventhubs, servicebus, cognitiveservices); azureml-core's _AML_RESOURCE_ID_DICT (ml);
# the Kusto, Power BI, Fabric and Azure DevOps documentation (kusto, pbi, fabric, devops).
BUILT_IN: dict[str, tuple[str, str | None, str | None]] = {
    "arm": (
        "https://management.azure.com",
        "https://management.chinacloudapi.cn",
        "https://management.usgovcloudapi.net",
    ),
    "storage": (
        "https://storage.azure.com",
        "https://storage.azure.cn",
        "https://storage.azure.us",
    ),
    "vault": (
        "https://vault.azure.net",
        "https://vault.azure.cn",
        "https://vault.usgovcloudapi.net",
    ),
    "graph": (
        "https://graph.microsoft.com",
        "https://microsoftgraph.chinacloudapi.cn",
        "https://graph.microsoft.us",
    ),
    "sql": (
        "https://database.windows.net",
        "https://database.chinacloudapi.cn",
        "https://database.usgovcloudapi.net",
    ),
    "cosmos": ("https://cosmos.azure.com", "https://cosmos.azure.cn", "https://cosmos.azure.us"),
    "kusto": (
        "https://kusto.kusto.windows.net",
        "https://kusto.kusto.chinacloudapi.cn",
        "https://kusto.kusto.usgovcloudapi.net",
    ),
    "pbi": (
        "https://analysis.windows.net/powerbi/api",
        "https://analysis.chinacloudapi.cn/powerbi/api",
        "https://analysis.usgovcloudapi.net/powerbi/api",
    ),
    "fabric": ("https://api.fabric.microsoft.com", None, None),
    "synapse": (
        "https://dev.azuresynapse.net",
        "https://dev.azuresynapse.azure.cn",
        "https://dev.azuresynapse.usgovcloudapi.net",
    ),
    # Azure DevOps Services' application id: it runs in the public cloud only.
    "devops": ("499b84ac-1321-427f-aa17-267ca6975798", None, None),
    "ml": ("https://ml.azure.com", "https://ml.azure.cn", "https://ml.azure.us"),
    "cognitive": (
        "https://cognitiveservices.azure.com",
        "https://cognitiveservices.azure.cn",
        "https://cognitiveservices.azure.us",
    ),
    "eventhubs": (
        "https://eventhubs.azure.net",
        "https://eventhubs.azure.cn",
        "https://eventhubs.azure.us",
    ),
    "servicebus": (
        "https://servicebus.azure.net",
        "https://servicebus.azure.cn",
        "https://servicebus.azure.us",
    ),
}
#: Other names for built-in names.
ALIASES = {"management": "arm", "keyvault": "vault", "powerbi": "pbi", "openai": "cognitive"}
#: What each built-in name is called in Azure's own words (shown to users, e.g. in a
#: notification that a tool asked for a token).
DISPLAY_NAMES = {
    "arm": "Azure Resource Manager",
    "storage": "Azure Storage",
    "vault": "Azure Key Vault",
    "graph": "Microsoft Graph",
    "sql": "Azure SQL Database",
    "cosmos": "Azure Cosmos DB",
    "kusto": "Azure Data Explorer",
    "pbi": "Power BI",
    "fabric": "Microsoft Fabric",
    "synapse": "Azure Synapse Analytics",
    "devops": "Azure DevOps",
    "ml": "Azure Machine Learning",
    "cognitive": "Azure AI services",
    "eventhubs": "Azure Event Hubs",
    "servicebus": "Azure Service Bus",
}
#: Resource URIs that stand for a built-in name besides those of :data:`BUILT_IN` (the
#: Azure CLI asks for Resource Manager tokens with the classic management URI).
OTHER_URIS = {
    "https://management.core.windows.net": "arm",
    "https://management.core.chinacloudapi.cn": "arm",
    "https://management.core.usgovcloudapi.net": "arm",
}


def cloud_of(authority: str | None) -> str:
    """The cloud (a key of :data:`CLOUDS`) of an authority URL, by its host; public otherwise."""
    host = (urlsplit(authority or "").hostname or "").lower()
    return CLOUD_HOSTS.get(host, PUBLIC)


def scope_for(value: str) -> str:
    """The scope for a resource URI (``<URI>/.default``), or ``value`` when it is a scope.

    A scope is a value ending in ``/.default``, or a URL whose last path segment holds a
    ``.`` (``https://graph.microsoft.com/User.Read``); anything else is a resource URI (a URL,
    with or without a path, or an application id).
    """
    if value.endswith("/.default"):
        return value
    path = urlsplit(value).path if "://" in value else ""
    if "." in path.rstrip("/").rpartition("/")[2]:
        return value
    return value.rstrip("/") + "/.default"


def _resource_key(value: str) -> str:
    """A resource URI or scope reduced to compare resources: no ``/.default``, no trailing
    slash, lower case."""
    value = value.strip()
    if value.endswith("/.default"):
        value = value[: -len("/.default")]
    return value.rstrip("/").lower()


def display_name(resource: str) -> str | None:
    """The name of a built-in resource in any cloud (``Azure Storage`` for
    ``https://storage.azure.com/.default``); None for a resource this table does not know."""
    key = _resource_key(resource)
    for name, uris in BUILT_IN.items():
        if key in (_resource_key(uri) for uri in uris if uri):
            return DISPLAY_NAMES.get(name)
    name = OTHER_URIS.get(key)
    return DISPLAY_NAMES.get(name) if name else None


def audience_table(authority: str | None, overrides: Mapping[str, str]) -> dict[str, str | None]:
    """Every name with its scope in the cloud of ``authority`` (None: not offered there).

    ``overrides`` (the setting ``audiences``: name -> resource URI or scope) add names or
    replace built-in ones, aliases included. Sorted by name.
    """
    column = list(CLOUDS).index(cloud_of(authority))
    table: dict[str, str | None] = {}
    for name, uris in BUILT_IN.items():
        uri = uris[column]
        table[name] = scope_for(uri) if uri else None
    for alias, name in ALIASES.items():
        table[alias] = table[name]
    for name, value in overrides.items():
        table[name] = scope_for(value)
    return dict(sorted(table.items()))


def unknown_name(name: str, table: Mapping[str, str | None], authority: str | None) -> BadRequest:
    """The error for a name that has no scope here: unknown, or not offered in this cloud."""
    example = "https://storage.azure.com/.default"
    if name in table:
        return BadRequest(
            f"The audience name {name!r} has no resource in {CLOUDS[cloud_of(authority)]}: "
            f"give a full scope instead (e.g. {example}).",
            hint="See `jupyter msal scopes` for the names this server knows.",
        )
    known = [n for n, scope in table.items() if scope]
    return BadRequest(
        f"Unknown audience name {name!r}. Known names: {', '.join(known)}. "
        f"Or give a full scope, e.g. {example}.",
        hint="An admin adds names with JupyterMsal.audiences.",
        known_names=known,
    )


class Audiences:
    """The names of one configuration: :meth:`resolve` a name, :meth:`document` them all."""

    def __init__(self, authority: str | None, overrides: Mapping[str, str]) -> None:
        """Names for the cloud of ``authority``, with the admin's ``overrides``."""
        self.authority = authority
        self.cloud = cloud_of(authority)
        self.table = audience_table(authority, overrides)

    def resolve(self, name: str) -> str:
        """The scope ``name`` stands for; :class:`BadRequest` listing the names otherwise."""
        scope = self.table.get(name)
        if scope is None:
            raise unknown_name(name, self.table, self.authority)
        return scope

    def document(self) -> dict[str, object]:
        """``{"cloud": ..., "audiences": [{"name", "scope"}, ...]}`` (scope None: not here)."""
        return {
            "cloud": self.cloud,
            "audiences": [{"name": n, "scope": s} for n, s in self.table.items()],
        }
