"""jupyter_msal.audiences: audience names per cloud, admin overrides, unknown names."""

from __future__ import annotations

import pytest

from jupyter_msal.audiences import Audiences, audience_table, cloud_of, scope_for
from jupyter_msal.config.settings import JupyterMsal
from jupyter_msal.errors import BadRequest, ConfigError, ScopeNotAllowed
from jupyter_msal.scopes import is_audience_name, resolve_scopes

PUBLIC = "https://login.microsoftonline.com/organizations"
CHINA = "https://login.chinacloudapi.cn/contoso.partner.onmschina.cn"
US_GOV = "https://login.microsoftonline.us/contoso.onmicrosoft.us"

#: The table of docs/audiences.md: name -> (public, Azure China, Azure US Government).
DOCUMENTED = {
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
ALIASES = {"management": "arm", "keyvault": "vault", "powerbi": "pbi", "openai": "cognitive"}
CLOUDS = {PUBLIC: 0, CHINA: 1, US_GOV: 2}


def _rows() -> list[tuple[str, str, str | None]]:
    rows = []
    for authority, column in CLOUDS.items():
        for name, uris in DOCUMENTED.items():
            rows.append((authority, name, uris[column]))
        for alias, name in ALIASES.items():
            rows.append((authority, alias, DOCUMENTED[name][column]))
    return rows


@pytest.mark.parametrize(("authority", "name", "uri"), _rows())
def test_every_name_in_every_cloud(authority: str, name: str, uri: str | None) -> None:
    audiences = Audiences(authority, {})
    if uri is None:
        with pytest.raises(BadRequest, match="has no resource in"):
            audiences.resolve(name)
    else:
        assert audiences.resolve(name) == uri + "/.default"


def test_the_table_is_the_documented_one() -> None:
    assert set(audience_table(PUBLIC, {})) == set(DOCUMENTED) | set(ALIASES)


@pytest.mark.parametrize(
    ("authority", "cloud"),
    [
        (PUBLIC, "public"),
        ("https://LOGIN.MICROSOFTONLINE.COM/common", "public"),
        (CHINA, "china"),
        (US_GOV, "usgov"),
        ("https://127.0.0.1:8443/contoso", "public"),
        ("https://login.microsoftonline.us.example.com/x", "public"),
        (None, "public"),
    ],
)
def test_cloud_by_authority_host(authority: str | None, cloud: str) -> None:
    assert cloud_of(authority) == cloud


def test_admin_names_add_and_override() -> None:
    audiences = Audiences(
        CHINA,
        {
            "storage": "https://contoso.blob.core.chinacloudapi.cn",
            "lake": "https://datalake.azure.net/",
            "mail": "https://graph.microsoft.com/Mail.Read",
            "app": "api://contoso-api/.default",
        },
    )
    assert audiences.resolve("storage") == "https://contoso.blob.core.chinacloudapi.cn/.default"
    assert audiences.resolve("lake") == "https://datalake.azure.net/.default"
    assert audiences.resolve("mail") == "https://graph.microsoft.com/Mail.Read"
    assert audiences.resolve("app") == "api://contoso-api/.default"
    # An admin name for a name the cloud lacks makes it usable there.
    assert Audiences(CHINA, {"fabric": "https://x.example"}).resolve("fabric") == (
        "https://x.example/.default"
    )


def test_unknown_name_lists_the_known_ones() -> None:
    audiences = Audiences(PUBLIC, {"lake": "https://datalake.azure.net"})
    with pytest.raises(BadRequest) as info:
        audiences.resolve("stroage")
    assert "'stroage'" in info.value.message
    assert "storage" in info.value.message and "lake" in info.value.message
    assert "storage" in info.value.to_dict()["known_names"]


def test_unknown_names_in_china_leave_out_those_not_offered_there() -> None:
    with pytest.raises(BadRequest) as info:
        Audiences(CHINA, {}).resolve("nope")
    assert "fabric" not in info.value.to_dict()["known_names"]


@pytest.mark.parametrize(
    ("value", "scope"),
    [
        ("https://vault.azure.net", "https://vault.azure.net/.default"),
        ("https://vault.azure.net/", "https://vault.azure.net/.default"),
        ("https://vault.azure.net/.default", "https://vault.azure.net/.default"),
        ("https://graph.microsoft.com/User.Read", "https://graph.microsoft.com/User.Read"),
        (
            "https://analysis.windows.net/powerbi/api",
            "https://analysis.windows.net/powerbi/api/.default",
        ),
        ("499b84ac-1321-427f-aa17-267ca6975798", "499b84ac-1321-427f-aa17-267ca6975798/.default"),
    ],
)
def test_scope_for(value: str, scope: str) -> None:
    assert scope_for(value) == scope


@pytest.mark.parametrize(
    ("scope", "name"),
    [
        ("storage", True),
        ("key-vault_2", True),
        ("openid", False),
        ("offline_access", False),
        ("User.Read", False),
        ("Storage", False),
        ("https://storage.azure.com/.default", False),
        ("storage/.default", False),
        ("2storage", False),
    ],
)
def test_what_counts_as_a_name(scope: str, name: bool) -> None:
    assert is_audience_name(scope) is name


def test_resolve_scopes_replaces_names_before_the_policy() -> None:
    names = Audiences(PUBLIC, {}).resolve
    assert resolve_scopes("storage User.Read openid", names=names) == (
        "User.Read",
        "https://storage.azure.com/.default",
    )
    assert resolve_scopes(["vault", "keyvault"], names=names) == (
        "https://vault.azure.net/.default",
    )
    allowed = ["https://storage.azure.com/*"]
    assert resolve_scopes(["storage"], allowed_scopes=allowed, names=names)
    with pytest.raises(ScopeNotAllowed, match=r"https://vault\.azure\.net/\.default"):
        resolve_scopes(["vault"], allowed_scopes=allowed, names=names)
    # A policy naming the word itself does not let an unresolved name through.
    with pytest.raises(ScopeNotAllowed):
        resolve_scopes(["vault"], allowed_scopes=["vault"], names=names)


def test_without_names_a_word_stays_a_scope() -> None:
    assert resolve_scopes(["storage"]) == ("storage",)


def test_setting_audiences_is_checked() -> None:
    assert JupyterMsal(audiences={"lake": "https://datalake.azure.net"}).audiences == {
        "lake": "https://datalake.azure.net"
    }
    for bad in ({"Lake": "https://x"}, {"openid": "https://x"}, {"lake": "https://x y"}):
        with pytest.raises(ConfigError, match=r"JupyterMsal\.audiences"):
            JupyterMsal(audiences=bad)


def test_setting_audiences_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_MSAL_AUDIENCES", '{"lake": "https://datalake.azure.net"}')
    assert JupyterMsal().audiences == {"lake": "https://datalake.azure.net"}
