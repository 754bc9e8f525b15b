"""The Azure CLI's private profile: clouds, accounts, merging with what az wrote itself."""

from __future__ import annotations

import configparser
import json
import os
import stat
from pathlib import Path

import pytest

from jupyter_msal.server import azure_cli_profile as profile

TENANT = "11111111-2222-3333-4444-555555555555"
SUBSCRIPTIONS = [
    {
        "id": "/subscriptions/aaaa",
        "subscriptionId": "aaaa",
        "displayName": "Research",
        "state": "Enabled",
        "tenantId": TENANT,
        "managedByTenants": [{"tenantId": "x"}],
    },
    {"id": "/subscriptions/bbbb", "displayName": "Teaching", "tenantId": TENANT},
]


@pytest.mark.parametrize(
    ("authority", "name", "arm", "audience"),
    [
        (
            "https://login.microsoftonline.com/organizations",
            "AzureCloud",
            "https://management.azure.com/",
            "https://management.core.windows.net/",
        ),
        (
            "https://login.chinacloudapi.cn/contoso.cn",
            "AzureChinaCloud",
            "https://management.chinacloudapi.cn/",
            "https://management.core.chinacloudapi.cn/",
        ),
        (
            "https://login.microsoftonline.us/common",
            "AzureUSGovernment",
            "https://management.usgovcloudapi.net/",
            "https://management.core.usgovcloudapi.net/",
        ),
    ],
)
def test_known_clouds(authority: str, name: str, arm: str, audience: str) -> None:
    cloud = profile.cloud_for(authority)
    assert (cloud.name, cloud.resource_manager, cloud.arm_audience) == (name, arm, audience)
    assert cloud.arm_scope == audience + "/.default" and not cloud.custom
    assert profile.clouds_text(cloud) == ""
    # the cloud's own Resource Manager named explicitly is still that cloud
    assert profile.cloud_for(authority, arm.rstrip("/")) == cloud


def test_another_resource_manager_is_a_custom_cloud() -> None:
    cloud = profile.cloud_for("https://127.0.0.1:8443/organizations", "https://127.0.0.1:8443")
    assert cloud.custom and cloud.name == "JupyterMsal"
    assert cloud.resource_manager == "https://127.0.0.1:8443/"
    parser = configparser.ConfigParser()
    parser.read_string(profile.clouds_text(cloud))
    section = parser["JupyterMsal"]
    assert section["endpoint_resource_manager"] == "https://127.0.0.1:8443/"
    assert section["endpoint_active_directory"] == "https://127.0.0.1:8443"
    assert section["endpoint_active_directory_resource_id"] == cloud.arm_audience


def test_config_keeps_the_users_settings_and_sets_the_cloud() -> None:
    cloud = profile.cloud_for(None)
    mine = "[core]\noutput = table\nfirst_run = yes\n[defaults]\ngroup = rg1\n"
    parser = configparser.ConfigParser()
    parser.read_string(profile.config_text(cloud, mine))
    assert parser["core"]["output"] == "table" and parser["defaults"]["group"] == "rg1"
    assert parser["core"]["first_run"] == "no"
    assert parser["cloud"]["name"] == "AzureCloud"
    assert parser["logging"]["enable_log_file"] == "no"
    # a config az could not read either is replaced, not copied
    parser = configparser.ConfigParser()
    parser.read_string(profile.config_text(cloud, "no section header\n"))
    assert parser.sections() == ["cloud", "core", "logging"]


def test_entries_for_subscriptions_tenant_and_signed_out() -> None:
    cloud = profile.cloud_for(None)
    listed = profile.profile_entries(SUBSCRIPTIONS, TENANT, cloud)
    assert [(e["id"], e["name"], e["tenantId"]) for e in listed] == [
        ("aaaa", "Research", TENANT),
        ("bbbb", "Teaching", TENANT),
    ]
    assert all(e["user"] == profile.MANAGED_IDENTITY_USER for e in listed)
    assert all(e["environmentName"] == "AzureCloud" for e in listed)
    assert listed[0]["managedByTenants"] == [{"tenantId": "x"}]
    (tenant_level,) = profile.profile_entries([], TENANT, cloud)
    assert tenant_level["id"] == TENANT and tenant_level["name"] == "N/A(tenant level account)"
    (signed_out,) = profile.profile_entries(None, None, cloud)
    assert signed_out["name"] == profile.SIGNED_OUT_NAME


def test_merge_keeps_what_az_added_and_the_chosen_default() -> None:
    cloud = profile.cloud_for(None)
    own_login = {
        "id": "cccc",
        "name": "Personal",
        "user": {"name": "me@contoso.com", "type": "user"},
        "isDefault": False,
    }
    first = profile.merge_profile(
        {"installationId": "i", "subscriptions": [own_login]},
        profile.profile_entries(SUBSCRIPTIONS, TENANT, cloud),
    )
    assert first["installationId"] == "i"
    assert [(e["id"], e["isDefault"]) for e in first["subscriptions"]] == [
        ("cccc", False),
        ("aaaa", True),
        ("bbbb", False),
    ]
    # `az account set -s bbbb`, then a new sign-in rewrites our accounts: bbbb stays default
    for entry in first["subscriptions"]:
        entry["isDefault"] = entry["id"] == "bbbb"
    second = profile.merge_profile(first, profile.profile_entries(SUBSCRIPTIONS, TENANT, cloud))
    assert [e["id"] for e in second["subscriptions"] if e["isDefault"]] == ["bbbb"]
    # sign-out: the default moves to the signed-out entry, az's own login stays listed
    third = profile.merge_profile(second, profile.profile_entries(None, None, cloud))
    assert [e["name"] for e in third["subscriptions"]] == ["Personal", profile.SIGNED_OUT_NAME]
    assert [e["isDefault"] for e in third["subscriptions"]] == [False, True]


def test_write_private_is_atomic_0600_and_refuses_links(tmp_path: Path) -> None:
    folder = tmp_path / "az"
    folder.mkdir(mode=0o700)
    profile.write_private(str(folder), profile.PROFILE_FILE, json.dumps({"subscriptions": []}))
    written = folder / profile.PROFILE_FILE
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert profile.read_profile(str(folder)) == {"subscriptions": []}
    assert sorted(os.listdir(folder)) == [profile.PROFILE_FILE]  # no temporary file left
    # az writes the profile with a byte-order mark: still read
    written.write_bytes(b"\xef\xbb\xbf" + json.dumps({"subscriptions": [1]}).encode())
    assert profile.read_profile(str(folder)) == {"subscriptions": [1]}
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    (folder / "config").symlink_to(target)  # replaced, never written through
    profile.write_private(str(folder), "config", "[core]\n")
    assert target.read_text() == "keep" and not (folder / "config").is_symlink()
    assert profile.read_profile(str(tmp_path / "missing")) is None
