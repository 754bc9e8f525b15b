"""Settings: environment defaults, validation, secrets hidden; regions honestly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from traitlets import Bool, Dict, Enum, Float, Int, List
from traitlets.config import Config

from jupyter_msal.config.files import load_settings
from jupyter_msal.config.settings import DEFAULT_AUTHORITY, DEFAULT_CLIENT_ID, JupyterMsal
from jupyter_msal.errors import ConfigError, IdentityProviderUnreachable
from jupyter_msal.identity.transport import GuardedSession
from jupyter_msal.service import TokenService
from jupyter_msal.status import status_document

APP_SCOPE = "https://management.azure.com/.default"


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("JUPYTER_MSAL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path))
    settings = JupyterMsal()
    assert settings.client_id == DEFAULT_CLIENT_ID == "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
    assert settings.authority == DEFAULT_AUTHORITY
    assert settings.cache_path == str(tmp_path / "msal" / "token_cache.bin")
    settings.check()


def test_environment_defaults_and_config_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_MSAL_DEFAULT_SCOPES", "a/.default, b/.default")
    monkeypatch.setenv("JUPYTER_MSAL_ALLOWED_SCOPES", '["x/*", "y"]')
    monkeypatch.setenv("JUPYTER_MSAL_INSTANCE_DISCOVERY", "false")
    monkeypatch.setenv("JUPYTER_MSAL_HTTP_TIMEOUT", "2.5")
    monkeypatch.setenv("JUPYTER_MSAL_CLIENT_ID", "from-env")
    settings = JupyterMsal(config=Config({"JupyterMsal": {"client_id": "from-config"}}))
    assert settings.default_scopes == ["a/.default", "b/.default"]
    assert settings.allowed_scopes == ["x/*", "y"]
    assert settings.instance_discovery is False
    assert settings.http_timeout == 2.5
    assert settings.client_id == "from-config"  # config wins over the environment


#: Variables for settings that only accept some strings (checked when they are assigned).
VALID_STRINGS = {
    "authority": "https://login.example.org/from-env",
    "oidc_authority": "https://login.example.org/from-env/v2.0",
    "azure_region": "westus2",
    "redirect_uri": "https://jupyter.example.org/jupyter-msal/redirect",
    "hub_service_url": "https://hub.example.org/services/jupyter-msal/",
    "resource_manager_url": "https://management.example.org/",
}
#: Lists whose items must be of a kind: the variable's text and the list it means.
VALID_LISTS = {
    "allowed_tenants": (
        "contoso.onmicrosoft.com, fabrikam.com",
        ["contoso.onmicrosoft.com", "fabrikam.com"],
    ),
}


def _sample(trait: Any) -> tuple[str, Any]:
    """A variable's text for ``trait`` that differs from its default, and the value it means."""
    if trait.name in VALID_STRINGS:
        return VALID_STRINGS[trait.name], VALID_STRINGS[trait.name]
    if trait.name in VALID_LISTS:
        return VALID_LISTS[trait.name]
    if isinstance(trait, Enum):
        return str(trait.values[-1]), trait.values[-1]
    if isinstance(trait, Bool):
        return ("false", False) if trait.default() else ("true", True)
    if isinstance(trait, Int):
        return "7", 7
    if isinstance(trait, Float):
        return "7.5", 7.5
    if isinstance(trait, List):
        item = getattr(trait, "_trait", None)
        if isinstance(item, Enum):  # a list of choices: the last two, in reverse
            values = list(item.values or ())[-2:][::-1]
            return ", ".join(values), values
        return "p, q", ["p", "q"]
    if isinstance(trait, Dict):
        return '{"lake": "https://datalake.azure.net"}', {"lake": "https://datalake.azure.net"}
    return "~/from-env", str(Path("~/from-env").expanduser())


def test_every_setting_reads_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(Path(__file__).parent))  # "~/<file>" names a readable file
    readable = {"ca_bundle", "client_certificate_path"}
    expected = {}
    for name, trait in JupyterMsal.class_traits(config=True).items():
        raw, expected[name] = _sample(trait)
        if name in readable:
            raw, expected[name] = f"~/{Path(__file__).name}", __file__
        monkeypatch.setenv(f"JUPYTER_MSAL_{name.upper()}", raw)
    settings = JupyterMsal()
    assert {name: getattr(settings, name) for name in expected} == expected


@pytest.mark.parametrize(
    ("env", "setting", "words"),
    [
        ({"JUPYTER_MSAL_HTTP_TIMEOUT": "soon"}, "http_timeout", "JUPYTER_MSAL_HTTP_TIMEOUT"),
        ({"JUPYTER_MSAL_HTTP_TIMEOUT": "0"}, "http_timeout", "not be less than 0.1"),
        ({"JUPYTER_MSAL_BROKER": "sometimes"}, "broker", "JUPYTER_MSAL_BROKER"),
        ({"JUPYTER_MSAL_INSTANCE_DISCOVERY": "perhaps"}, "instance_discovery", "boolean"),
    ],
)
def test_bad_environment_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], setting: str, words: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        JupyterMsal()
    assert info.value.setting == setting
    assert f"JupyterMsal.{setting}" in str(info.value) and words in str(info.value)


@pytest.mark.parametrize(
    ("values", "setting"),
    [
        ({"authority": "http://login.microsoftonline.com/x"}, "authority"),
        ({"authority": "https://login.microsoftonline.com"}, "authority"),
        ({"oidc_authority": "not a url"}, "oidc_authority"),
        ({"azure_region": "West US 2"}, "azure_region"),
        ({"ca_bundle": "/nonexistent.pem"}, "ca_bundle"),
        ({"client_certificate_path": "/nonexistent.pem"}, "client_certificate_path"),
        ({"client_id": " "}, "client_id"),
        ({"broker": "never", "sign_in_method": "broker"}, "sign_in_method"),
        ({"cache_encryption": "none", "cache_key": "k"}, "cache_encryption"),
    ],
)
def test_check_names_the_setting(values: dict[str, Any], setting: str) -> None:
    with pytest.raises(ConfigError) as info:
        JupyterMsal(**values).check()
    assert info.value.setting == setting
    assert str(info.value).startswith(f"JupyterMsal.{setting}: ")


def test_sovereign_and_b2c_authorities_are_accepted() -> None:
    for authority in (
        "https://login.microsoftonline.us/contoso.onmicrosoft.us",
        "https://login.chinacloudapi.cn/organizations",
        "https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin",
        "https://contoso.ciamlogin.com/contoso.onmicrosoft.com",
    ):
        JupyterMsal(authority=authority).check()


def test_environment_is_only_a_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keywords win over variables; empty variables are unset; ``None`` empties a setting."""
    monkeypatch.setenv("JUPYTER_MSAL_AUTHORITY", "https://login.microsoftonline.com/env")
    monkeypatch.setenv("JUPYTER_MSAL_AZURE_REGION", "None")
    monkeypatch.setenv("JUPYTER_MSAL_CLIENT_ID", "  ")
    monkeypatch.setenv("JUPYTER_MSAL_DEFAULT_SCOPES", "a b,c")
    settings = JupyterMsal(authority="https://login.microsoftonline.com/kw")
    assert settings.authority == "https://login.microsoftonline.com/kw"
    assert settings.azure_region is None
    assert settings.client_id == DEFAULT_CLIENT_ID
    assert settings.default_scopes == ["a", "b", "c"]
    appended = Config()
    appended.JupyterMsal.default_scopes.append("d")
    assert JupyterMsal(config=appended).default_scopes == ["a", "b", "c", "d"]


@pytest.fixture
def config_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))
    for name in ("JUPYTER_MSAL_CLIENT_ID", "JUPYTER_MSAL_AUTHORITY", "JUPYTER_MSAL_HTTP_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_load_settings_reads_config_files(config_dir: Path) -> None:
    (config_dir / "jupyter_server_config.py").write_text(
        "c.JupyterMsal.default_scopes = ['from/.default']\nc.ServerApp.port = 1\n"
        "c.JupyterMsal.authority = 'https://login.microsoftonline.com/server'\n"
    )
    (config_dir / "jupyter_msal_config.json").write_text(
        '{"JupyterMsal": {"client_id": "json-id",'
        ' "authority": "https://login.microsoftonline.com/msal"}}'
    )
    settings = load_settings()
    assert settings.default_scopes == ["from/.default"]
    assert settings.client_id == "json-id"
    # As in the server: jupyter_server_config comes after the extension's own file.
    assert settings.authority == "https://login.microsoftonline.com/server"
    given = Config({"JupyterMsal": {"client_id": "given"}})
    assert load_settings(given).client_id == "given"


@pytest.mark.parametrize(
    ("name", "text", "setting", "words"),
    [
        ("jupyter_msal_config.py", "c.JupyterMsal.authority = \n", None, "invalid syntax"),
        ("jupyter_server_config.json", "{not json", None, "Expecting property name"),
        ("jupyter_msal_config.py", "c.JupyterMsal.http_timeout = 'soon'\n", "http_timeout", ""),
        ("jupyter_msal_config.py", "c.JupyterMsal.broker = 'x'\n", "broker", "any of"),
    ],
)
def test_config_file_errors_name_the_file_or_the_setting(
    config_dir: Path, name: str, text: str, setting: str | None, words: str
) -> None:
    (config_dir / name).write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert info.value.setting == setting
    if setting is None:
        assert str(info.value).startswith(f"cannot load config file {config_dir / name}: ")
    else:
        assert str(info.value).startswith(f"JupyterMsal.{setting}: The '{setting}' trait")
    assert words in str(info.value)


def test_status_never_shows_secrets(msal_env: dict[str, str], tmp_path: Path) -> None:
    settings = JupyterMsal(
        client_secret="very-secret-value",
        cache_key="another-secret-key-xyz",
        cache_encryption="auto",
    )
    service = TokenService(settings)
    try:
        status = status_document(service)
    finally:
        service.close()
    text = repr(status)
    assert "very-secret-value" not in text and "another-secret-key-xyz" not in text
    assert status["config"]["client_secret_set"] is True
    assert status["config"]["cache_key_set"] is True
    assert status["cache"]["encrypted"] is True and status["cache"]["encryption"] == "key"
    assert status["mode"] == "service_principal"


class RegionalRouter(GuardedSession):
    """Sends requests for ``<region>.127.0.0.1`` to the emulator, remembering where msal aimed.

    The emulator's discovery document is rewritten to name the regional host, as a regional
    Entra endpoint would; nothing is sent anywhere but loopback.
    """

    def __init__(self, emulator: Any, region: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.emulator_url = emulator.url
        self.regional = f"https://{region}.127.0.0.1"
        self.aimed_at: list[str] = []

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> Any:
        self.aimed_at.append(str(url).split("?")[0])
        routed = str(url).replace(self.regional, self.emulator_url)
        response = super().request(method, routed, *args, **kwargs)
        if routed != url and "openid-configuration" in routed:
            response._content = response.content.replace(
                self.emulator_url.encode(), self.regional.encode()
            )
        return response


def test_service_principal_uses_the_regional_endpoint(
    msal_emulator: Any, msal_env: dict[str, str]
) -> None:
    tenant = msal_emulator.default_tenant_id  # msal wants a tenant for app-only tokens
    settings = JupyterMsal(
        client_secret="s3cret", azure_region="westus2", authority=msal_emulator.authority(tenant)
    )
    session = RegionalRouter(
        msal_emulator,
        "westus2",
        verify=msal_env["JUPYTER_MSAL_CA_BUNDLE"],
        timeout=5,
        allowed_hosts=["127.0.0.1", "westus2.127.0.0.1"],
        block_imds=True,
    )
    service = TokenService(settings, http_session=session)
    try:
        token = service.acquire_token([APP_SCOPE])
        status = status_document(service)
    finally:
        service.close()
    assert token.token in msal_emulator.issued_access_tokens
    assert token.account is None
    assert f"https://westus2.127.0.0.1/{tenant}/oauth2/v2.0/token" in session.aimed_at
    imds = "http://169.254.169.254/metadata/instance/compute"
    assert imds not in session.requested_urls  # msal asks (to log a mismatch); we refuse
    assert list(session.refused_urls) in ([], [imds])
    assert msal_emulator.counts["grant:client_credentials"] == 1
    assert status["region"] == {
        "configured": "westus2",
        "applies": True,
        "note": "Region 'westus2': app-only tokens use the regional token endpoint.",
    }


def test_service_principal_region_never_leaves_loopback(
    msal_emulator: Any, msal_env: dict[str, str]
) -> None:
    """Without routing, the regional host is refused before any packet leaves the machine."""
    service = TokenService(JupyterMsal(client_secret="s3cret", azure_region="westus2"))
    try:
        with pytest.raises(IdentityProviderUnreachable) as info:
            service.acquire_token([APP_SCOPE])
        sent, refused = list(service.http.requested_urls), list(service.http.refused_urls)
    finally:
        service.close()
    assert "not in JupyterMsal.allowed_hosts" in str(info.value)
    assert refused[-1].startswith("https://westus2.127.0.0.1/organizations/")
    assert all(u.startswith(msal_emulator.url) for u in sent)


def test_imds_is_refused_unless_allowed() -> None:
    session = GuardedSession(allowed_hosts=["127.0.0.1"])
    with pytest.raises(requests.ConnectionError, match="allowed_hosts"):
        session.get("http://169.254.169.254/metadata/instance/compute")
    assert session.refused_urls[-1] == "http://169.254.169.254/metadata/instance/compute"
    assert not session.requested_urls
    blocked = GuardedSession(block_imds=True)
    with pytest.raises(requests.ConnectionError, match="IMDS region probe skipped"):
        blocked.get("http://169.254.169.254/metadata/instance/compute")


async def test_user_mode_region_is_reported_as_not_applicable(
    msal_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, jp_serverapp: Any, api: Any
) -> None:
    service = next(iter(jp_serverapp.extension_manager.extension_apps["jupyter_msal"])).service
    service.settings.azure_region = "westus2"
    status, body = await api("GET", "status")
    assert status == 200
    assert body["region"]["configured"] == "westus2"
    assert body["region"]["applies"] is False
    assert "has no effect" in body["region"]["note"]
    assert any("has no effect" in w for w in body["warnings"])


def test_the_server_reads_jupyter_msal_config_files(
    start_server: Any, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    """``jupyter_msal_config.py`` in the config folder reaches the server's settings, and
    ``jupyter_server_config`` wins over it, as for every Jupyter extension."""
    config = tmp_path / "server" / "config"
    config.mkdir(parents=True)
    (config / "jupyter_msal_config.py").write_text(
        "c.JupyterMsal.default_scopes = ['https://storage.azure.com/.default']\n"
        "c.JupyterMsal.max_pending_sign_ins = 3\n"
    )
    server = start_server()
    extra = config / "jupyter_server_config.json"
    status = server.request("GET", "jupyter-msal/status")
    assert status["config"]["default_scopes"] == ["https://storage.azure.com/.default"]
    assert status["config"]["max_pending_sign_ins"] == 3
    server.stop()

    settings = {**json.loads(extra.read_text()), "JupyterMsal": {"max_pending_sign_ins": 5}}
    extra.write_text(json.dumps(settings))
    status = server.start().request("GET", "jupyter-msal/status")
    assert status["config"]["max_pending_sign_ins"] == 5
    assert status["config"]["default_scopes"] == ["https://storage.azure.com/.default"]
