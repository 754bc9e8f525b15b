"""The Key Vault stand-in (``jupyter_msal.testing.keyvault``) against the real clients.

``azure-keyvault-secrets`` parses the stand-in's challenge as a real vault's, and azure-identity's
own ``ClientSecretCredential`` (client credentials at the emulator) shows the rules jupyter-msal's
``Credential`` follows: a credential with a tenant of its own gets the challenge's tenant only
when ``additionally_allowed_tenants`` allows it. The notebook side is in
tests/kernel/test_kernel_keyvault.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient
from azure.keyvault.secrets._shared.http_challenge import HttpChallenge

from jupyter_msal.testing import DEFAULT_TENANT_ID as HOME
from jupyter_msal.testing import EntraEmulator
from jupyter_msal.testing.keyvault import VAULT_RESOURCE, KeyVault

GUEST = "b2b0b2b0-0000-4000-8000-00000000b0b0"
APP_ID = "00000000-0000-0000-0000-00000000c11e"


@pytest.fixture
def vault(msal_emulator: EntraEmulator) -> Iterator[KeyVault]:
    """A vault of tenant GUEST holding one secret."""
    with KeyVault(msal_emulator, GUEST) as kv:
        kv.set_secret("db-password", "s3cret")
        yield kv


def _credential(emulator: EntraEmulator, **kwargs: Any) -> ClientSecretCredential:
    """azure-identity's own credential of tenant HOME, at the emulator."""
    return ClientSecretCredential(
        HOME,
        APP_ID,
        "emulator-secret",
        authority=emulator.url,
        disable_instance_discovery=True,
        connection_verify=emulator.ca_bundle_path,
        **kwargs,
    )


def _client(vault: KeyVault, credential: Any) -> SecretClient:
    return SecretClient(
        vault.url,
        credential,
        verify_challenge_resource=False,
        connection_verify=vault.emulator.ca_bundle_path,
    )


def test_the_challenge_is_one_the_client_parses(vault: KeyVault) -> None:
    answer = requests.get(
        f"{vault.url}secrets/db-password/?api-version=7.6",
        verify=vault.emulator.ca_bundle_path,
        timeout=30,
    )
    assert answer.status_code == 401
    assert answer.json()["error"]["message"].startswith("AKV10000")
    challenge = HttpChallenge(answer.url, answer.headers["WWW-Authenticate"])
    assert challenge.tenant_id == GUEST
    assert challenge.get_resource() == VAULT_RESOURCE
    assert challenge.get_authorization_server() == f"{vault.emulator.url}/{GUEST}"


def test_a_credential_allowed_the_tenant_reads_the_secret(
    vault: KeyVault, msal_emulator: EntraEmulator
) -> None:
    client = _client(vault, _credential(msal_emulator, additionally_allowed_tenants=["*"]))
    assert client.get_secret("db-password").value == "s3cret"
    assert [(r["status"], r["tid"]) for r in vault.requests] == [(401, None), (200, GUEST)]
    assert msal_emulator.token_requests_at(GUEST, "client_credentials") == 1
    with pytest.raises(ResourceNotFoundError, match="was not found"):
        client.get_secret("no-such-secret")


def test_azure_identity_refuses_an_unlisted_tenant_without_a_request(
    vault: KeyVault, msal_emulator: EntraEmulator
) -> None:
    with pytest.raises(ClientAuthenticationError, match="additionally_allowed_tenants"):
        _client(vault, _credential(msal_emulator)).get_secret("db-password")
    assert msal_emulator.counts["token"] == 0
    assert [(r["status"], r["tid"]) for r in vault.requests] == [(401, None)]


class _HomeTenantOnly:
    """A credential that ignores ``tenant_id``, as managed identity does."""

    def __init__(self, emulator: EntraEmulator) -> None:
        self.app = emulator.confidential_client_app(APP_ID, tenant=HOME)

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        result = self.app.acquire_token_for_client(list(scopes))
        return AccessToken(result["access_token"], 2_000_000_000)


def test_a_token_of_another_tenant_is_refused_as_akv10032(
    vault: KeyVault, msal_emulator: EntraEmulator
) -> None:
    with pytest.raises(ClientAuthenticationError, match="AKV10032: Invalid issuer") as caught:
        _client(vault, _HomeTenantOnly(msal_emulator)).get_secret("db-password")
    assert f"https://sts.windows.net/{GUEST}/" in str(caught.value)
    statuses = [(r["status"], r["tid"]) for r in vault.requests]
    assert statuses[0] == (401, None) and (401, HOME) in statuses
    assert all(status == 401 for status, _ in statuses)


def test_a_token_for_another_audience_is_refused(
    vault: KeyVault, msal_emulator: EntraEmulator
) -> None:
    app = msal_emulator.confidential_client_app(APP_ID, tenant=GUEST)
    token = app.acquire_token_for_client(["https://storage.azure.com/.default"])["access_token"]
    answer = requests.get(
        f"{vault.url}secrets/db-password/?api-version=7.6",
        headers={"Authorization": f"Bearer {token}"},
        verify=msal_emulator.ca_bundle_path,
        timeout=30,
    )
    assert answer.status_code == 401 and "WWW-Authenticate" in answer.headers
    assert answer.json()["error"]["message"].startswith("AKV10022: Invalid audience")
    assert vault.requests[-1]["tid"] == GUEST and token not in repr(vault.requests)
