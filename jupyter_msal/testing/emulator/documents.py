"""Discovery documents of the Entra ID emulator (pure functions of its URL and a tenant)."""

from __future__ import annotations

from typing import Any

from .tokens import is_guid

GRANT_DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
GRANT_REFRESH_TOKEN = "refresh_token"
GRANT_AUTHORIZATION_CODE = "authorization_code"
GRANT_CLIENT_CREDENTIALS = "client_credentials"


def issuer_for(base_url: str, tenant: str, default_tenant_id: str) -> str:
    """The ``issuer`` a tenant's discovery document advertises, as Entra ID does it: the GUID
    for a tenant id, the literal ``{tenantid}`` placeholder for the multi-tenant names."""
    if is_guid(tenant):
        return f"{base_url}/{tenant}/v2.0"
    if tenant.lower() in ("common", "organizations", "consumers"):
        return f"{base_url}/{{tenantid}}/v2.0"
    return f"{base_url}/{default_tenant_id}/v2.0"


def openid_configuration(base_url: str, tenant: str, default_tenant_id: str) -> dict[str, Any]:
    """The OpenID Connect discovery document of ``tenant``.

    msal 1.39 reads ``authorization_endpoint`` and ``token_endpoint`` (required),
    ``device_authorization_endpoint`` (for device flow) and ``issuer`` (checked only with
    ``oidc_authority``); the rest is there for other clients.
    """
    base = f"{base_url}/{tenant}"
    return {
        "issuer": issuer_for(base_url, tenant, default_tenant_id),
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "response_types_supported": ["code"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "grant_types_supported": [
            GRANT_AUTHORIZATION_CODE,
            GRANT_REFRESH_TOKEN,
            GRANT_CLIENT_CREDENTIALS,
            GRANT_DEVICE_CODE,
        ],
        "code_challenge_methods_supported": ["S256", "plain"],
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "preferred_username",
            "name",
            "tid",
            "oid",
            "ver",
        ],
        "request_uri_parameter_supported": False,
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "tenant_region_scope": None,
        "cloud_instance_name": "emulator.invalid",
        "msgraph_host": "graph.microsoft.com",
    }


def instance_metadata(base_url: str, tenant: str) -> dict[str, Any]:
    """An instance discovery answer, for apps given ``instance_discovery=<emulator URL>``."""
    host = base_url.split("://", 1)[1]
    return {
        "tenant_discovery_endpoint": f"{base_url}/{tenant}/v2.0/.well-known/openid-configuration",
        "api-version": "1.1",
        "metadata": [
            {"preferred_network": host, "preferred_cache": host, "aliases": [host]},
        ],
    }
