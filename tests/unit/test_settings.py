"""jupyter_msal.config: the JUPYTER_MSAL_* variables as the lowest config source, checks on
assignment, and ``check()`` for the rules across settings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config, Configurable

from jupyter_msal.config import checks
from jupyter_msal.config.environment import environment_config, from_string
from jupyter_msal.config.settings import DEFAULT_CLIENT_ID, JupyterMsal
from jupyter_msal.constants import ENCRYPTION_MODES
from jupyter_msal.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No JUPYTER_MSAL_* variable of the machine reaches these tests."""
    for name in list(os.environ):
        if name.startswith("JUPYTER_MSAL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path))


def test_the_environment_is_a_config_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_MSAL_CLIENT_ID", " from-env ")
    monkeypatch.setenv("JUPYTER_MSAL_AUTHORITY", "")
    monkeypatch.setenv("JUPYTER_MSAL_DEFAULT_SCOPES", "a, b c")
    monkeypatch.setenv("JUPYTER_MSAL_HTTP_TIMEOUT", "2.5")
    monkeypatch.setenv("JUPYTER_MSAL_NOT_A_SETTING", "x")
    config = environment_config(JupyterMsal)
    assert config == {
        "JupyterMsal": {
            "client_id": "from-env",
            "default_scopes": ["a", "b", "c"],
            "http_timeout": 2.5,
        }
    }
    assert environment_config(JupyterMsal, skip=["client_id"]).JupyterMsal.get("client_id") is None
    assert environment_config(Configurable, environ={}) == {"Configurable": {}}


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("default_scopes", '["a b", "c"]', ["a b", "c"]),
        ("default_scopes", "a,,b", ["a", "b"]),
        ("default_scopes", "[not json", "[not json"),
        ("instance_discovery", "false", False),
        ("instance_discovery", "0", False),
        ("max_pending_sign_ins", "3", 3),
        ("azure_region", "None", None),
        ("auto_sign_in_methods", "broker device_code", ["broker", "device_code"]),
    ],
)
def test_variables_read_as_command_line_values(name: str, raw: str, value: Any) -> None:
    assert from_string(raw, JupyterMsal.class_traits()[name]) == value


def test_precedence_keywords_then_config_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_MSAL_CLIENT_ID", "from-env")
    monkeypatch.setenv("JUPYTER_MSAL_AUTHORITY", "https://login.example.org/env")
    monkeypatch.setenv("JUPYTER_MSAL_DEFAULT_SCOPES", "a b")
    config = Config({"JupyterMsal": {"client_id": "from-config"}})
    config.JupyterMsal.default_scopes.append("c")
    settings = JupyterMsal(config=config, authority="https://login.example.org/kw")
    assert settings.client_id == "from-config"
    assert settings.authority == "https://login.example.org/kw"
    assert settings.default_scopes == ["a", "b", "c"]  # config appends to the variable's list
    assert JupyterMsal().client_id == "from-env"
    assert config.JupyterMsal.client_id == "from-config" and "authority" not in config.JupyterMsal


def test_a_parents_config_is_read_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_MSAL_CLIENT_ID", "from-env")
    monkeypatch.setenv("JUPYTER_MSAL_HTTP_TIMEOUT", "3")
    parent = Configurable(config=Config({"JupyterMsal": {"client_id": "from-parent"}}))
    settings = JupyterMsal(parent=parent)
    assert (settings.client_id, settings.http_timeout) == ("from-parent", 3.0)


def test_defaults_without_variables(tmp_path: Path) -> None:
    settings = JupyterMsal()
    assert settings.client_id == DEFAULT_CLIENT_ID
    assert settings.cache_path == str(tmp_path / "msal" / "token_cache.bin")
    assert JupyterMsal.class_traits()["cache_encryption"].values == list(ENCRYPTION_MODES)
    settings.check()


@pytest.mark.parametrize(
    ("setting", "value", "words"),
    [
        ("client_id", "  ", "must not be empty"),
        ("authority", "http://login.example.org/t", "https://<host>/<tenant>"),
        ("authority", "https://login.example.org/", "https://<host>/<tenant>"),
        ("oidc_authority", "not a url", "https://<host>/<tenant>"),
        ("azure_region", "West US 2", "Azure region name"),
        ("redirect_uri", "ftp://x/redirect", "http(s) URL"),
        ("hub_service_url", "/services/jupyter-msal/", "http(s) URL"),
        ("allowed_scopes", ["https://storage.azure.com/*", " "], "empty pattern"),
        ("ca_bundle", "/nonexistent/ca.pem", "does not exist"),
        ("client_certificate_path", "/", "is not a file"),
    ],
)
def test_a_bad_value_fails_when_assigned(setting: str, value: Any, words: str) -> None:
    settings = JupyterMsal()
    before = getattr(settings, setting)
    with pytest.raises(ConfigError) as info:
        setattr(settings, setting, value)
    assert info.value.setting == setting and words in str(info.value)
    assert str(info.value).startswith(f"JupyterMsal.{setting}: ")
    assert getattr(settings, setting) == before
    with pytest.raises(ConfigError, match=f"^JupyterMsal.{setting}: "):
        JupyterMsal(**{setting: value})
    with pytest.raises(ConfigError, match=f"^JupyterMsal.{setting}: "):
        JupyterMsal(config=Config({"JupyterMsal": {setting: value}}))


def test_good_values_and_none_are_accepted(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("pem")
    settings = JupyterMsal(
        authority="https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_signin",
        azure_region="auto",
        ca_bundle=str(bundle),
        redirect_uri="http://localhost:8888/jupyter-msal/redirect",
        allowed_scopes=["User.Read"],
    )
    settings.azure_region = "westus2"
    settings.azure_region = None
    settings.ca_bundle = None
    settings.oidc_authority = None
    assert settings.ca_bundle is None and settings.azure_region is None


def test_a_bad_variable_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_MSAL_AUTHORITY", "http://login.example.org/t")
    with pytest.raises(ConfigError) as info:
        JupyterMsal()
    assert info.value.setting == "authority"
    assert str(info.value).startswith(
        "JupyterMsal.authority: environment variable JUPYTER_MSAL_AUTHORITY is invalid: "
        "'http://login.example.org/t' is not an https://<host>/<tenant> URL"
    )
    # A keyword or config that sets the setting hides the variable, invalid or not.
    assert JupyterMsal(authority="https://login.example.org/t").authority.endswith("/t")
    config = Config({"JupyterMsal": {"authority": "https://login.example.org/c"}})
    assert JupyterMsal(config=config).authority.endswith("/c")


def test_a_bad_config_value_does_not_blame_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_MSAL_HTTP_TIMEOUT", "5")
    with pytest.raises(ConfigError) as info:
        JupyterMsal(config=Config({"JupyterMsal": {"http_timeout": "soon"}}))
    assert info.value.setting == "http_timeout"
    assert "JUPYTER_MSAL_HTTP_TIMEOUT" not in str(info.value)


@pytest.mark.parametrize(
    ("values", "setting"),
    [
        ({"client_secret": "s", "client_certificate_path": __file__}, "client_secret"),
        ({"broker": "never", "sign_in_method": "broker"}, "sign_in_method"),
        ({"cache_encryption": "none", "cache_key": "k"}, "cache_encryption"),
    ],
)
def test_check_holds_the_rules_across_settings(values: dict[str, Any], setting: str) -> None:
    settings = JupyterMsal(**values)  # each value is valid on its own
    with pytest.raises(ConfigError) as info:
        settings.check()
    assert info.value.setting == setting


def test_checks_return_what_they_accept() -> None:
    assert checks.authority_url("authority", None) is None
    assert checks.http_url("redirect_uri", "https://h/p") == "https://h/p"
    assert checks.region_name("azure_region", "auto") == "auto"
    assert checks.patterns("allowed_scopes", []) == []
    assert checks.readable_file("ca_bundle", "") == ""
    assert checks.not_blank("client_id", "x") == "x"
