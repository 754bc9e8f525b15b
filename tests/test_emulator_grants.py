"""Tests of the Entra ID emulator's refresh, scope handling and other grants, driven by
real msal over real TLS on loopback."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from emulator_helpers import ARM, STORAGE, authorize, control, raw_token, sign_in

from jupyter_msal.testing import DEFAULT_TENANT_ID, EntraEmulator, decode_jwt, wait_until
from jupyter_msal.testing.emulator.tokens import EmulatorGrantError, resolve_scopes

# msal nudges towards form_post; the query mode is what these tests exercise
pytestmark = pytest.mark.filterwarnings("ignore:response_mode=:UserWarning")


# ------------------------------------------------------------------------- refresh


def test_silent_uses_cache_then_refreshes_with_rotation(msal_emulator: EntraEmulator) -> None:
    app, first = sign_in(msal_emulator)
    account = app.get_accounts()[0]
    cached = app.acquire_token_silent(STORAGE, account=account)
    assert cached["token_source"] == "cache"
    assert cached["access_token"] == first["access_token"]
    assert msal_emulator.counts["grant:refresh_token"] == 0

    forced = app.acquire_token_silent(STORAGE, account=account, force_refresh=True)
    assert forced["token_source"] == "identity_provider"
    assert forced["access_token"] != first["access_token"]
    assert forced["refresh_token"] != first["refresh_token"]  # rotated
    assert msal_emulator.counts["grant:refresh_token"] == 1

    # the same refresh token serves another resource, as Entra's multi-resource RTs do
    arm = app.acquire_token_silent(ARM, account=account)
    assert decode_jwt(arm["access_token"])["aud"] == "https://management.core.windows.net/"
    assert msal_emulator.counts["grant:refresh_token"] == 2


def test_short_lifetime_forces_refresh(msal_emulator: EntraEmulator) -> None:
    msal_emulator.access_token_lifetime = 1
    app, first = sign_in(msal_emulator)
    assert first["expires_in"] == 1
    account = app.get_accounts()[0]
    # msal treats a token with under 5 minutes left as expired: no sleep needed
    again = app.acquire_token_silent(STORAGE, account=account)
    assert again["token_source"] == "identity_provider"
    assert msal_emulator.counts["grant:refresh_token"] == 1
    msal_emulator.access_token_lifetime = 3600
    later = app.acquire_token_silent(STORAGE, account=account)
    assert later["token_source"] == "identity_provider"
    assert app.acquire_token_silent(STORAGE, account=account)["token_source"] == "cache"


def test_refresh_in_triggers_proactive_refresh(msal_emulator: EntraEmulator) -> None:
    msal_emulator.refresh_in = 0
    app, _ = sign_in(msal_emulator)
    account = app.get_accounts()[0]
    result = app.acquire_token_silent(STORAGE, account=account)
    assert result["token_source"] == "identity_provider"


def test_expand_default_scope_answers_like_entra(msal_emulator: EntraEmulator) -> None:
    msal_emulator.expand_default_scope = True
    app, result = sign_in(msal_emulator)
    assert result["scope"].split() == ["https://storage.azure.com/user_impersonation"]
    assert decode_jwt(result["access_token"])["aud"] == "https://storage.azure.com"
    # msal filed the token under the expanded scope, so it misses it for R/.default
    account = app.get_accounts()[0]
    again = app.acquire_token_silent(STORAGE, account=account)
    assert again["token_source"] == "identity_provider"
    assert msal_emulator.counts["grant:refresh_token"] == 1

    assert control(msal_emulator, "config", {"expand_default_scope": False}).json()["ok"]
    assert msal_emulator.expand_default_scope is False
    _, plain = sign_in(msal_emulator)
    assert "https://storage.azure.com/.default" in plain["scope"].split()


def test_jupyter_msal_env(msal_emulator: EntraEmulator, tmp_path: Path) -> None:
    assert msal_emulator.jupyter_msal_env() == {
        "JUPYTER_MSAL_AUTHORITY": f"{msal_emulator.url}/organizations",
        "JUPYTER_MSAL_CA_BUNDLE": msal_emulator.ca_bundle_path,
        "JUPYTER_MSAL_INSTANCE_DISCOVERY": "false",
        "JUPYTER_MSAL_RESOURCE_MANAGER_URL": msal_emulator.url,
    }
    full = msal_emulator.jupyter_msal_env(
        DEFAULT_TENANT_ID, cache_path=tmp_path / "c.bin", http_timeout=2.5
    )
    assert full == {
        "JUPYTER_MSAL_AUTHORITY": f"{msal_emulator.url}/{DEFAULT_TENANT_ID}",
        "JUPYTER_MSAL_CA_BUNDLE": msal_emulator.ca_bundle_path,
        "JUPYTER_MSAL_INSTANCE_DISCOVERY": "false",
        "JUPYTER_MSAL_RESOURCE_MANAGER_URL": msal_emulator.url,
        "JUPYTER_MSAL_CACHE_PATH": str(tmp_path / "c.bin"),
        "JUPYTER_MSAL_CACHE_ENCRYPTION": "none",
        "JUPYTER_MSAL_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "JUPYTER_MSAL_AUTO_SIGN_IN_METHODS": "broker,device_code",
        "JUPYTER_MSAL_HTTP_TIMEOUT": "2.5",
    }


def test_wait_until() -> None:
    calls: list[int] = []
    assert (
        wait_until(lambda: calls.append(1) or (len(calls) >= 3 and "done"), 5, interval=0) == "done"
    )
    with pytest.raises(TimeoutError, match=r"still nothing \(waited 0.05 s\)"):
        wait_until(lambda: None, 0.05, message=lambda: "still nothing")
    with pytest.raises(ZeroDivisionError):
        wait_until(lambda: 1 / 0)


def test_revoked_refresh_token(msal_emulator: EntraEmulator) -> None:
    app, _ = sign_in(msal_emulator)
    other = msal_emulator.public_client_app()
    flow = other.initiate_device_flow(STORAGE)
    msal_emulator.approve(flow["user_code"], username="carol@contoso.com")
    other.acquire_token_by_device_flow(flow)

    assert msal_emulator.revoke_refresh_tokens("ada@contoso.com") == 1
    account = app.get_accounts()[0]
    result = app.acquire_token_silent_with_error(STORAGE, account=account, force_refresh=True)
    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [50173]
    assert app.acquire_token_silent(STORAGE, account=account, force_refresh=True) is None
    # carol is unaffected
    carol = other.get_accounts()[0]
    assert other.acquire_token_silent(STORAGE, account=carol, force_refresh=True)["access_token"]
    # a new sign-in gets a working refresh token again
    app2, _ = sign_in(msal_emulator)
    assert app2.acquire_token_silent(STORAGE, account=app2.get_accounts()[0], force_refresh=True)


def test_single_use_refresh_tokens(msal_emulator: EntraEmulator) -> None:
    _, first = sign_in(msal_emulator)
    data = {
        "grant_type": "refresh_token",
        "client_id": "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        "refresh_token": first["refresh_token"],
        "scope": "https://storage.azure.com/.default offline_access openid",
    }
    assert raw_token(msal_emulator, data).status_code == 200
    assert raw_token(msal_emulator, data).status_code == 200  # Entra RTs survive use by default
    msal_emulator.refresh_token_single_use = True
    reused = raw_token(msal_emulator, data)
    assert reused.status_code == 400 and reused.json()["error_codes"] == [70008]
    other_client = raw_token(msal_emulator, {**data, "client_id": "someone-else"})
    assert other_client.json()["error"] == "invalid_grant"


def test_claims_are_forwarded(msal_emulator: EntraEmulator) -> None:
    app, first = sign_in(msal_emulator, client_capabilities=["CP1"])
    assert decode_jwt(first["access_token"])["xms_cc"] == ["CP1"]
    account = app.get_accounts()[0]
    challenge = json.dumps({"access_token": {"acrs": {"essential": True, "value": "c1"}}})
    result = app.acquire_token_silent(STORAGE, account=account, claims_challenge=challenge)
    assert result["token_source"] == "identity_provider"
    seen = decode_jwt(result["access_token"])["claims_seen"]
    assert seen["access_token"]["acrs"]["value"] == "c1"
    assert msal_emulator.requests[-1]["claims"] is True


# ----------------------------------------------------------------------- scopes


def test_scope_resolution() -> None:
    graph = resolve_scopes("User.Read Mail.Read openid profile offline_access")
    assert graph.resource == "https://graph.microsoft.com"
    assert graph.response_scopes == ("User.Read", "Mail.Read", "openid", "profile", "email")
    assert graph.openid and graph.offline_access
    graph_default = resolve_scopes("https://graph.microsoft.com/.default")
    assert graph_default.response_scopes == (
        "https://graph.microsoft.com/User.Read",
        "https://graph.microsoft.com/.default",
    )
    assert not graph_default.openid
    api = resolve_scopes("api://0c1d/Data.Read openid")
    assert (api.resource, api.scp) == ("api://0c1d", ("Data.Read",))
    only_oidc = resolve_scopes("openid profile offline_access")
    assert only_oidc.resource == "https://graph.microsoft.com"
    with pytest.raises(EmulatorGrantError) as mixed:
        resolve_scopes("https://storage.azure.com/.default User.Read")
    assert mixed.value.code == 28000
    with pytest.raises(EmulatorGrantError) as app_only:
        resolve_scopes("https://storage.azure.com/user_impersonation", app_only=True)
    assert app_only.value.code == 1002012


def test_mixed_resources_rejected_by_devicecode(msal_emulator: EntraEmulator) -> None:
    flow = msal_emulator.public_client_app().initiate_device_flow([*STORAGE, "User.Read"])
    assert "user_code" not in flow
    assert flow["error"] == "invalid_scope"


# ------------------------------------------------------------------ other grants


def test_client_credentials(msal_emulator: EntraEmulator) -> None:
    cca = msal_emulator.confidential_client_app(client_id="app-1", client_credential="s3cret")
    result = cca.acquire_token_for_client(STORAGE)
    assert "refresh_token" not in result and "id_token" not in result
    claims = decode_jwt(result["access_token"])
    assert claims["idtyp"] == "app" and claims["appid"] == "app-1"
    assert claims["aud"] == "https://storage.azure.com"
    assert claims["tid"] == DEFAULT_TENANT_ID
    assert cca.acquire_token_for_client(STORAGE)["token_source"] == "cache"
    assert msal_emulator.counts["grant:client_credentials"] == 1

    msal_emulator.client_secrets["app-2"] = "right"
    wrong = msal_emulator.confidential_client_app(client_id="app-2", client_credential="wrong")
    result = wrong.acquire_token_for_client(STORAGE)
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000215]
    right = msal_emulator.confidential_client_app(client_id="app-2", client_credential="right")
    assert "access_token" in right.acquire_token_for_client(STORAGE)

    assertion = msal_emulator.confidential_client_app(
        client_id="app-3", client_credential={"client_assertion": lambda: "e30.e30.sig"}
    )
    assert "access_token" in assertion.acquire_token_for_client(STORAGE)

    not_default = cca.acquire_token_for_client(["https://storage.azure.com/user_impersonation"])
    assert not_default["error"] == "invalid_scope"

    missing = raw_token(
        msal_emulator,
        {"grant_type": "client_credentials", "client_id": "x", "scope": STORAGE[0]},
        tenant=DEFAULT_TENANT_ID,
    )
    assert missing.status_code == 401 and missing.json()["error_codes"] == [7000218]


def test_auth_code_flow_with_pkce(msal_emulator: EntraEmulator) -> None:
    app = msal_emulator.public_client_app()
    flow = app.initiate_auth_code_flow(
        STORAGE, redirect_uri="http://localhost:8400/callback", login_hint="dan@contoso.com"
    )
    assert "code_challenge_method=S256" in flow["auth_uri"]
    auth_response = authorize(msal_emulator, flow)
    assert auth_response["state"] == flow["state"]
    result = app.acquire_token_by_auth_code_flow(flow, auth_response)
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == "dan@contoso.com"
    assert app.get_accounts()[0]["username"] == "dan@contoso.com"
    assert (
        msal_emulator.counts["authorize"] == 1
        and msal_emulator.counts["grant:authorization_code"] == 1
    )

    # the code is single-use
    replay = raw_token(
        msal_emulator,
        {
            "grant_type": "authorization_code",
            "client_id": app.client_id,
            "code": auth_response["code"],
            "redirect_uri": flow["redirect_uri"],
            "code_verifier": flow["code_verifier"],
        },
    )
    assert replay.json()["error_codes"] == [54005]


def test_auth_code_pkce_mismatch_and_redirect_mismatch(msal_emulator: EntraEmulator) -> None:
    app = msal_emulator.public_client_app()
    flow = app.initiate_auth_code_flow(STORAGE, redirect_uri="http://localhost:8400/cb")
    auth_response = authorize(msal_emulator, flow)
    flow["code_verifier"] = "x" * 43
    result = app.acquire_token_by_auth_code_flow(flow, auth_response)
    assert result["error"] == "invalid_grant" and result["error_codes"] == [501481]

    flow = app.initiate_auth_code_flow(STORAGE, redirect_uri="http://localhost:8400/cb")
    code = authorize(msal_emulator, flow)["code"]
    wrong = raw_token(
        msal_emulator,
        {
            "grant_type": "authorization_code",
            "client_id": app.client_id,
            "code": code,
            "redirect_uri": "http://localhost:9999/elsewhere",
            "code_verifier": flow["code_verifier"],
        },
    )
    assert wrong.json()["error"] == "invalid_grant"


def test_auth_code_form_post(msal_emulator: EntraEmulator) -> None:
    app = msal_emulator.public_client_app()
    flow = app.initiate_auth_code_flow(
        STORAGE, redirect_uri="http://localhost:8400/cb", response_mode="form_post"
    )
    page = msal_emulator.http_session().get(flow["auth_uri"], allow_redirects=False)
    assert page.status_code == 200
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    result = app.acquire_token_by_auth_code_flow(flow, fields)
    assert "access_token" in result, result
