"""Tests of the Entra ID emulator, driven by real msal over real TLS on loopback."""

from __future__ import annotations

import base64
import json
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import msal
import pytest
import requests

from jupyter_msal.testing import DEFAULT_TENANT_ID, EntraEmulator, decode_jwt, wait_until
from jupyter_msal.testing.emulator.tokens import EmulatorGrantError, resolve_scopes

STORAGE = ["https://storage.azure.com/.default"]
ARM = ["https://management.core.windows.net//.default"]
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GUEST_TENANT = "3c9a6f0e-2b7d-4e1a-8c55-0a1b2c3d4e5f"
REPO = Path(__file__).resolve().parents[1]
# msal nudges towards form_post; the query mode is what these tests exercise
pytestmark = pytest.mark.filterwarnings("ignore:response_mode=:UserWarning")


def sign_in(msal_emulator: EntraEmulator, scopes: list[str] = STORAGE, **app_kwargs: Any):
    """Device-code sign-in approved up front; returns (app, result)."""
    app = msal_emulator.public_client_app(**app_kwargs)
    flow = app.initiate_device_flow(scopes)
    msal_emulator.approve(flow["user_code"])
    result = app.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result
    return app, result


def control(msal_emulator: EntraEmulator, action: str, body: dict[str, Any] | None = None):
    return msal_emulator.http_session().post(
        f"{msal_emulator.url}/_emulator/{action}", json=body or {}
    )


def raw_token(msal_emulator: EntraEmulator, data: dict[str, str], tenant: str = "organizations"):
    return msal_emulator.http_session().post(
        f"{msal_emulator.url}/{tenant}/oauth2/v2.0/token", data=data
    )


# --------------------------------------------------------------------------- basics


def test_lifecycle_url_and_ca_bundle() -> None:
    emulator = EntraEmulator()
    with pytest.raises(RuntimeError):
        _ = emulator.url
    with emulator as msal_emulator:
        assert msal_emulator.running
        assert re.fullmatch(r"https://127\.0\.0\.1:\d+", msal_emulator.url)
        assert msal_emulator.url == f"https://127.0.0.1:{msal_emulator.port}"
        assert msal_emulator.authority() == f"{msal_emulator.url}/organizations"
        assert msal_emulator.authority("common") == f"{msal_emulator.url}/common"
        assert msal_emulator.device_login_url == f"{msal_emulator.url}/devicelogin"
        ca = Path(msal_emulator.ca_bundle_path)
        assert ca.read_bytes() == msal_emulator.ca_pem
        assert b"BEGIN CERTIFICATE" in msal_emulator.ca_pem
        port = msal_emulator.port
    assert not ca.exists()
    assert not emulator.running
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    emulator.stop()  # idempotent


def test_tls_is_real(msal_emulator: EntraEmulator) -> None:
    config = f"{msal_emulator.url}/organizations/v2.0/.well-known/openid-configuration"
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(config, verify=True, timeout=5)  # system CAs do not know the emulator
    for host in ("127.0.0.1", "localhost"):
        url = config.replace("127.0.0.1", host)
        assert msal_emulator.http_session().get(url, timeout=5).status_code == 200


def test_ipv6_loopback() -> None:
    try:
        msal_emulator = EntraEmulator(host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback")
    try:
        assert msal_emulator.url.startswith("https://[::1]:")
        response = msal_emulator.http_session().get(
            f"{msal_emulator.url}/common/v2.0/.well-known/openid-configuration"
        )
        assert response.json()["token_endpoint"] == f"{msal_emulator.url}/common/oauth2/v2.0/token"
    finally:
        msal_emulator.stop()


def test_openid_configuration_and_jwks(msal_emulator: EntraEmulator) -> None:
    session = msal_emulator.http_session()
    doc = session.get(
        f"{msal_emulator.url}/organizations/v2.0/.well-known/openid-configuration"
    ).json()
    base = f"{msal_emulator.url}/organizations"
    assert doc["authorization_endpoint"] == f"{base}/oauth2/v2.0/authorize"
    assert doc["token_endpoint"] == f"{base}/oauth2/v2.0/token"
    assert doc["device_authorization_endpoint"] == f"{base}/oauth2/v2.0/devicecode"
    assert doc["end_session_endpoint"] == f"{base}/oauth2/v2.0/logout"
    assert doc["issuer"] == f"{msal_emulator.url}/{{tenantid}}/v2.0"
    guid_doc = session.get(
        f"{msal_emulator.url}/{GUEST_TENANT}/v2.0/.well-known/openid-configuration"
    )
    assert guid_doc.json()["issuer"] == f"{msal_emulator.url}/{GUEST_TENANT}/v2.0"

    # every token verifies against the published JWKS (RS256)
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    jwks = session.get(doc["jwks_uri"]).json()
    _, result = sign_in(msal_emulator)

    def b64(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    for token in (result["access_token"], result["id_token"]):
        header_b64, payload_b64, signature = token.split(".")
        header = json.loads(b64(header_b64))
        key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
        public = rsa.RSAPublicNumbers(
            int.from_bytes(b64(key["e"]), "big"), int.from_bytes(b64(key["n"]), "big")
        ).public_key()
        public.verify(
            b64(signature),
            f"{header_b64}.{payload_b64}".encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    assert msal_emulator.counts["discovery"] == 3  # two above, one for msal
    assert msal_emulator.counts["jwks"] == 1


def test_unknown_path_is_404_json(msal_emulator: EntraEmulator) -> None:
    response = msal_emulator.http_session().get(f"{msal_emulator.url}/nowhere/at/all")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


# ----------------------------------------------------------------------- device code


def test_device_flow_approved_while_msal_polls(msal_emulator: EntraEmulator) -> None:
    app = msal_emulator.public_client_app()
    flow = app.initiate_device_flow(STORAGE)
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", flow["user_code"])
    assert flow["verification_uri"] == msal_emulator.device_login_url
    assert flow["interval"] == 1
    assert flow["expires_in"] == 900
    assert (
        flow["user_code"] in flow["message"] and msal_emulator.device_login_url in flow["message"]
    )

    result: dict[str, Any] = {}
    poller = threading.Thread(
        target=lambda: result.update(app.acquire_token_by_device_flow(flow)), daemon=True
    )
    poller.start()
    assert msal_emulator.wait_for_user_code(timeout=5) == flow["user_code"]
    assert msal_emulator.pending_user_codes() == [flow["user_code"]]
    wait_until(
        lambda: msal_emulator.counts["grant:device_code"] >= 1
    )  # msal saw authorization_pending
    msal_emulator.approve(username="grace@contoso.com")
    poller.join(10)
    assert not poller.is_alive()

    assert result["token_type"] == "Bearer"
    assert result["expires_in"] == 3600 and result["ext_expires_in"] == 3600
    assert result["scope"].split() == [
        "https://storage.azure.com/user_impersonation",
        "https://storage.azure.com/.default",
    ]
    user = msal_emulator.users["grace@contoso.com"]
    claims = decode_jwt(result["access_token"])
    assert claims["aud"] == "https://storage.azure.com"
    assert claims["scp"] == "user_impersonation"
    assert claims["upn"] == claims["unique_name"] == "grace@contoso.com"
    assert (
        claims["ver"] == "1.0" and claims["iss"] == f"https://sts.windows.net/{DEFAULT_TENANT_ID}/"
    )
    assert claims["oid"] == user["oid"] and claims["tid"] == user["tenant_id"] == DEFAULT_TENANT_ID
    assert claims["exp"] - claims["iat"] == 3600
    id_claims = result["id_token_claims"]
    assert id_claims["aud"] == app.client_id
    assert id_claims["iss"] == f"{msal_emulator.url}/{DEFAULT_TENANT_ID}/v2.0"
    assert {"sub", "name", "oid", "tid", "iat", "exp"} <= set(id_claims)
    client_info = json.loads(base64.urlsafe_b64decode(result["client_info"] + "=="))
    assert client_info == {"uid": user["oid"], "utid": DEFAULT_TENANT_ID}

    account = app.get_accounts()[0]
    assert account["username"] == "grace@contoso.com"
    assert account["home_account_id"] == f"{user['oid']}.{DEFAULT_TENANT_ID}"
    assert msal_emulator.pending_user_codes() == []
    polls = [r["status"] for r in msal_emulator.requests if r["grant_type"] == DEVICE_GRANT]
    assert polls[0] == 400 and polls[-1] == 200
    assert msal_emulator.counts["devicecode"] == 1
    assert msal_emulator.issued_access_tokens == [result["access_token"]]
    assert msal_emulator.issued_refresh_tokens == [result["refresh_token"]]


def test_device_flow_declined(msal_emulator: EntraEmulator) -> None:
    app = msal_emulator.public_client_app()
    flow = app.initiate_device_flow(STORAGE)
    assert msal_emulator.decline() == flow["user_code"]
    result = app.acquire_token_by_device_flow(flow)
    assert result["error"] == "authorization_declined"
    assert msal_emulator.issued_access_tokens == []


def test_device_flow_expired(msal_emulator: EntraEmulator) -> None:
    app = msal_emulator.public_client_app()
    flow = app.initiate_device_flow(STORAGE)
    msal_emulator.expire(flow["user_code"])
    assert msal_emulator.pending_user_codes() == []
    result = app.acquire_token_by_device_flow(flow)
    assert result["error"] == "expired_token"
    assert result["error_codes"] == [70020]
    with pytest.raises(LookupError):
        msal_emulator.approve(flow["user_code"])


def test_device_code_lifetime_and_interval_are_configurable(msal_emulator: EntraEmulator) -> None:
    msal_emulator.device_code_lifetime = 120
    msal_emulator.device_code_interval = 2
    flow = msal_emulator.public_client_app().initiate_device_flow(STORAGE)
    assert (flow["expires_in"], flow["interval"]) == (120, 2)


def test_device_code_redeemable_once_and_bad_codes(msal_emulator: EntraEmulator) -> None:
    session = msal_emulator.http_session()
    client_id = "11111111-1111-1111-1111-111111111111"
    flow = session.post(
        f"{msal_emulator.url}/organizations/oauth2/v2.0/devicecode",
        data={"client_id": client_id, "scope": "User.Read openid profile offline_access"},
    ).json()
    poll = {"grant_type": DEVICE_GRANT, "client_id": client_id, "device_code": flow["device_code"]}
    pending = raw_token(msal_emulator, poll)
    assert pending.status_code == 400
    body = pending.json()
    assert body["error"] == "authorization_pending"
    assert body["error_codes"] == [70016]
    assert body["error_description"].startswith("AADSTS70016:")
    msal_emulator.approve(flow["user_code"].lower().replace("-", ""))  # typed sloppily
    first = raw_token(msal_emulator, poll)
    assert first.status_code == 200
    assert first.json()["scope"] == "User.Read openid profile email"
    assert "client_info" not in first.json()  # not asked for
    again = raw_token(msal_emulator, poll)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    unknown = raw_token(msal_emulator, {**poll, "device_code": "nope"})
    assert unknown.json()["error"] == "bad_verification_code"


def test_approve_lookup_errors_and_wait_timeout(msal_emulator: EntraEmulator) -> None:
    with pytest.raises(LookupError):
        msal_emulator.approve()
    with pytest.raises(LookupError):
        msal_emulator.decline("BBBB-CCCC")
    with pytest.raises(TimeoutError):
        msal_emulator.wait_for_user_code(timeout=0.1)


def test_wait_for_user_code_wakes_up(msal_emulator: EntraEmulator) -> None:
    app = msal_emulator.public_client_app()
    flows: list[dict[str, Any]] = []
    starter = threading.Timer(0.2, lambda: flows.append(app.initiate_device_flow(STORAGE)))
    starter.start()
    code = msal_emulator.wait_for_user_code(timeout=10)
    starter.join()
    assert code == flows[0]["user_code"]


def test_auto_approve(msal_emulator: EntraEmulator) -> None:
    msal_emulator.auto_approve = "bob@contoso.com"
    app, result = sign_in_unapproved(msal_emulator)
    assert result["id_token_claims"]["preferred_username"] == "bob@contoso.com"
    assert msal_emulator.pending_user_codes() == []
    msal_emulator.auto_approve = None
    flow = app.initiate_device_flow(STORAGE)
    assert msal_emulator.pending_user_codes() == [flow["user_code"]]


def test_approve_next_approves_only_codes_issued_later(msal_emulator: EntraEmulator) -> None:
    app = msal_emulator.public_client_app()
    earlier = app.initiate_device_flow(STORAGE)
    first = msal_emulator.approve_next("amy@contoso.com")
    second = msal_emulator.approve_next("ben@contoso.com", tenant_id=GUEST_TENANT)
    withdrawn = msal_emulator.approve_next("cyd@contoso.com")
    assert not first.done and msal_emulator.state()["scheduled_approvals"] == 3
    assert withdrawn.cancel() and withdrawn.cancelled
    with pytest.raises(TimeoutError):
        first.wait(timeout=0.05)

    flows = [app.initiate_device_flow(STORAGE) for _ in range(3)]
    assert first.wait() == flows[0]["user_code"] and first.done
    assert second.wait() == flows[1]["user_code"]
    assert not withdrawn.done and not withdrawn.cancel()
    assert msal_emulator.pending_user_codes() == [earlier["user_code"], flows[2]["user_code"]]
    amy = app.acquire_token_by_device_flow(flows[0])["id_token_claims"]
    ben = app.acquire_token_by_device_flow(flows[1])["id_token_claims"]
    assert amy["preferred_username"] == "amy@contoso.com"
    assert (ben["preferred_username"], ben["tid"]) == ("ben@contoso.com", GUEST_TENANT)
    assert msal_emulator.state()["scheduled_approvals"] == 0


def test_approve_next_goes_before_auto_approve(msal_emulator: EntraEmulator) -> None:
    msal_emulator.auto_approve = "bob@contoso.com"
    scheduled = msal_emulator.approve_next()
    app = msal_emulator.public_client_app()
    flows = [app.initiate_device_flow(STORAGE) for _ in range(2)]
    assert scheduled.wait() == flows[0]["user_code"]
    users = [
        app.acquire_token_by_device_flow(f)["id_token_claims"]["preferred_username"] for f in flows
    ]
    assert users == [msal_emulator.default_username, "bob@contoso.com"]


def test_wait_for_user_code_skips_known_codes(msal_emulator: EntraEmulator) -> None:
    app = msal_emulator.public_client_app()
    old = app.initiate_device_flow(STORAGE)["user_code"]
    known = set(msal_emulator.pending_user_codes())
    with pytest.raises(TimeoutError):
        msal_emulator.wait_for_user_code(timeout=0.1, exclude=known)
    new = app.initiate_device_flow(STORAGE)["user_code"]
    assert msal_emulator.wait_for_user_code(timeout=0.1, exclude=known) == new != old


def test_issued_device_codes_lists_the_secret_codes(msal_emulator: EntraEmulator) -> None:
    app = msal_emulator.public_client_app()
    flows = [app.initiate_device_flow(STORAGE) for _ in range(2)]
    assert msal_emulator.issued_device_codes == [f["device_code"] for f in flows]
    state = json.dumps(
        msal_emulator.http_session().get(f"{msal_emulator.url}/_emulator/state").json()
    )
    assert not any(f["device_code"] in state for f in flows)


def sign_in_unapproved(msal_emulator: EntraEmulator):
    app = msal_emulator.public_client_app()
    flow = app.initiate_device_flow(STORAGE)
    return app, app.acquire_token_by_device_flow(flow)


def test_guest_tenant_and_explicit_tenant(msal_emulator: EntraEmulator) -> None:
    app = msal_emulator.public_client_app(tenant=GUEST_TENANT)
    flow = app.initiate_device_flow(STORAGE)
    msal_emulator.approve(flow["user_code"])
    result = app.acquire_token_by_device_flow(flow)
    assert decode_jwt(result["access_token"])["tid"] == GUEST_TENANT
    assert result["id_token_claims"]["iss"] == f"{msal_emulator.url}/{GUEST_TENANT}/v2.0"

    app = msal_emulator.public_client_app()
    flow = app.initiate_device_flow(STORAGE)
    msal_emulator.approve(flow["user_code"], username="eve@fabrikam.com", tenant_id=GUEST_TENANT)
    result = app.acquire_token_by_device_flow(flow)
    assert decode_jwt(result["access_token"])["tid"] == GUEST_TENANT
    assert msal_emulator.users["eve@fabrikam.com"]["tenant_id"] == GUEST_TENANT


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
    }
    full = msal_emulator.jupyter_msal_env(
        DEFAULT_TENANT_ID, cache_path=tmp_path / "c.bin", http_timeout=2.5
    )
    assert full == {
        "JUPYTER_MSAL_AUTHORITY": f"{msal_emulator.url}/{DEFAULT_TENANT_ID}",
        "JUPYTER_MSAL_CA_BUNDLE": msal_emulator.ca_bundle_path,
        "JUPYTER_MSAL_INSTANCE_DISCOVERY": "false",
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
        client_id="app-3", client_credential={"client_assertion": "e30.e30.sig"}
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


def _authorize(msal_emulator: EntraEmulator, flow: dict[str, Any]) -> dict[str, str]:
    response = msal_emulator.http_session().get(flow["auth_uri"], allow_redirects=False)
    assert response.status_code == 302
    location = urllib.parse.urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == flow["redirect_uri"]
    return dict(urllib.parse.parse_qsl(location.query))


def test_auth_code_flow_with_pkce(msal_emulator: EntraEmulator) -> None:
    app = msal_emulator.public_client_app()
    flow = app.initiate_auth_code_flow(
        STORAGE, redirect_uri="http://localhost:8400/callback", login_hint="dan@contoso.com"
    )
    assert "code_challenge_method=S256" in flow["auth_uri"]
    auth_response = _authorize(msal_emulator, flow)
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
    auth_response = _authorize(msal_emulator, flow)
    flow["code_verifier"] = "x" * 43
    result = app.acquire_token_by_auth_code_flow(flow, auth_response)
    assert result["error"] == "invalid_grant" and result["error_codes"] == [501481]

    flow = app.initiate_auth_code_flow(STORAGE, redirect_uri="http://localhost:8400/cb")
    code = _authorize(msal_emulator, flow)["code"]
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


# ------------------------------------------------------------------------- faults


def test_inject_error_500_raises_in_msal(msal_emulator: EntraEmulator) -> None:
    app, _ = sign_in(msal_emulator)
    account = app.get_accounts()[0]
    msal_emulator.inject_error(500)
    with pytest.raises(msal.exceptions.MsalServiceError):
        # a fresh app: msal throttles 5xx answers per app for Retry-After (60 s default)
        msal_emulator.public_client_app(token_cache=app.token_cache).acquire_token_silent(
            STORAGE, account=account, force_refresh=True
        )
    fresh = msal_emulator.public_client_app(token_cache=app.token_cache)
    assert fresh.acquire_token_silent(STORAGE, account=account, force_refresh=True)


def test_inject_error_bodies_on_the_wire(msal_emulator: EntraEmulator) -> None:
    msal_emulator.inject_error(500)
    default = raw_token(msal_emulator, {})
    assert default.status_code == 500
    assert default.headers["Content-Type"].startswith("application/json")
    body = default.json()
    assert body["error_codes"] == [50000]
    assert body["error_description"].startswith("AADSTS50000: ")

    msal_emulator.inject_error(
        502, "<html><body>Bad gateway</body></html>", content_type="text/html"
    )
    html_page = raw_token(msal_emulator, {})
    assert html_page.status_code == 502 and html_page.headers["Content-Type"] == "text/html"
    assert html_page.text == "<html><body>Bad gateway</body></html>"

    msal_emulator.inject_error(429, headers={"Retry-After": "7"}, count=2)
    assert [raw_token(msal_emulator, {}).status_code for _ in range(3)] == [429, 429, 400]

    msal_emulator.inject_error(503, endpoint="any", count=None)
    session = msal_emulator.http_session()
    assert (
        session.get(f"{msal_emulator.url}/common/v2.0/.well-known/openid-configuration").status_code
        == 503
    )
    assert raw_token(msal_emulator, {}).status_code == 503
    assert raw_token(msal_emulator, {}).status_code == 503
    msal_emulator.clear_faults()
    assert (
        raw_token(msal_emulator, {}).status_code == 400
    )  # back to the real (missing grant_type) error
    assert msal_emulator.counts["token"] == 8  # faulted requests are counted too


def test_non_json_400_breaks_msal_parsing(msal_emulator: EntraEmulator) -> None:
    app, _ = sign_in(msal_emulator)
    account = app.get_accounts()[0]
    msal_emulator.inject_error(400, "<html>oops</html>", content_type="text/html")
    with pytest.raises(ValueError):
        app.acquire_token_silent(STORAGE, account=account, force_refresh=True)


def test_inject_aadsts(msal_emulator: EntraEmulator) -> None:
    app, _ = sign_in(msal_emulator)
    account = app.get_accounts()[0]
    msal_emulator.inject_aadsts(50076, "interaction_required", extra={"suberror": "basic_action"})
    result = app.acquire_token_silent_with_error(STORAGE, account=account, force_refresh=True)
    assert result["error"] == "interaction_required"
    assert result["error_codes"] == [50076]
    assert result["suberror"] == "basic_action"
    assert result["error_description"].startswith("AADSTS50076:")

    msal_emulator.inject_aadsts(700016, "unauthorized_client", endpoint="devicecode")
    flow = msal_emulator.public_client_app().initiate_device_flow(STORAGE)
    assert flow["error"] == "unauthorized_client" and "user_code" not in flow


def test_inject_error_on_discovery(msal_emulator: EntraEmulator) -> None:
    msal_emulator.inject_error(500, endpoint="discovery")
    with pytest.raises(msal.exceptions.MsalServiceError):
        msal_emulator.public_client_app()
    assert msal_emulator.public_client_app()  # count=1: the next one works


def test_latency_delays_only_its_endpoint(msal_emulator: EntraEmulator) -> None:
    msal_emulator.set_latency(0.6, endpoint="token")
    outcome: dict[str, Any] = {}

    def slow() -> None:
        started = time.monotonic()
        outcome["status"] = raw_token(msal_emulator, {}).status_code
        outcome["elapsed"] = time.monotonic() - started

    worker = threading.Thread(target=slow)
    worker.start()
    wait_until(lambda: msal_emulator.counts["token"] == 1)
    state = msal_emulator.http_session().get(f"{msal_emulator.url}/_emulator/state")  # not held up
    assert state.status_code == 200
    assert worker.is_alive()
    worker.join(5)
    assert outcome["status"] == 400 and outcome["elapsed"] >= 0.55
    msal_emulator.set_latency(0, endpoint="token")
    with pytest.raises(ValueError):
        msal_emulator.set_latency(1, endpoint="nope")


# ----------------------------------------------------------------- observation


def test_counts_and_requests_hold_no_secrets(msal_emulator: EntraEmulator) -> None:
    app, first = sign_in(msal_emulator)
    account = app.get_accounts()[0]
    app.acquire_token_silent(STORAGE, account=account, force_refresh=True)
    flow = app.initiate_auth_code_flow(STORAGE, redirect_uri="http://localhost:8400/cb")
    code = _authorize(msal_emulator, flow)["code"]
    counts = msal_emulator.counts
    assert counts["devicecode"] == 1 and counts["authorize"] == 1
    assert counts["token"] == 2
    assert counts["grant:device_code"] == 1 and counts["grant:refresh_token"] == 1

    entry = msal_emulator.requests[1]
    assert set(entry) >= {"method", "path", "grant_type", "host", "client_id", "scope"}
    logged = json.dumps(msal_emulator.requests) + json.dumps(
        msal_emulator.http_session().get(f"{msal_emulator.url}/_emulator/state").json()
    )
    secrets = (
        msal_emulator.issued_access_tokens
        + msal_emulator.issued_refresh_tokens
        + msal_emulator.issued_id_tokens
    )
    assert len(secrets) == 6
    for secret in [*secrets, code, first["access_token"]]:
        assert secret not in logged

    msal_emulator.counts["token"] = 99  # a copy
    assert msal_emulator.counts["token"] == 2
    msal_emulator.reset_counts()
    assert set(msal_emulator.counts.values()) == {0} and msal_emulator.requests == []
    assert len(msal_emulator.issued_access_tokens) == 2  # issued tokens are kept for leak checks


def test_every_token_is_unique(msal_emulator: EntraEmulator) -> None:
    app, _ = sign_in(msal_emulator)
    account = app.get_accounts()[0]
    for _ in range(3):
        app.acquire_token_silent(STORAGE, account=account, force_refresh=True)
    tokens = msal_emulator.issued_access_tokens
    assert len(tokens) == len(set(tokens)) == 4


# ------------------------------------------------------------- HTTP controls


def test_http_controls(msal_emulator: EntraEmulator) -> None:
    app = msal_emulator.public_client_app()
    flow = app.initiate_device_flow(STORAGE)
    state = msal_emulator.http_session().get(f"{msal_emulator.url}/_emulator/state").json()
    assert state["pending_user_codes"] == [flow["user_code"]]
    assert state["counts"]["devicecode"] == 1
    assert state["url"] == msal_emulator.url

    ok = control(
        msal_emulator, "approve", {"user_code": flow["user_code"], "username": "hal@contoso.com"}
    )
    assert ok.json() == {"ok": True, "user_code": flow["user_code"]}
    assert app.acquire_token_by_device_flow(flow)["id_token_claims"]["preferred_username"] == (
        "hal@contoso.com"
    )
    missing = control(msal_emulator, "approve", {"user_code": "BBBB-CCCC"})
    assert missing.status_code == 404 and missing.json()["ok"] is False

    flow = app.initiate_device_flow(STORAGE)
    assert control(msal_emulator, "decline").json()["user_code"] == flow["user_code"]
    assert app.acquire_token_by_device_flow(flow)["error"] == "authorization_declined"
    flow = app.initiate_device_flow(STORAGE)
    assert control(msal_emulator, "expire", {"user_code": flow["user_code"]}).json()["ok"]
    assert app.acquire_token_by_device_flow(flow)["error"] == "expired_token"

    assert control(msal_emulator, "error", {"status": 503, "endpoint": "token"}).json()["ok"]
    assert raw_token(msal_emulator, {}).status_code == 503
    assert control(msal_emulator, "aadsts", {"code": 50058, "error": "invalid_grant"}).json()["ok"]
    assert raw_token(msal_emulator, {}).json()["error_codes"] == [50058]
    assert control(msal_emulator, "latency", {"seconds": 5, "endpoint": "jwks"}).json()["ok"]
    assert msal_emulator.latency_for("jwks") == 5
    assert control(msal_emulator, "clear-faults").json()["ok"]
    assert msal_emulator.latency_for("jwks") == 0
    assert control(msal_emulator, "latency", {"seconds": 1, "endpoint": "bogus"}).status_code == 400

    assert control(msal_emulator, "revoke", {"username": "hal@contoso.com"}).json() == {
        "ok": True,
        "revoked": 1,
    }
    assert control(msal_emulator, "auto-approve", {"username": "ivy@contoso.com"}).json()["ok"]
    assert msal_emulator.auto_approve == "ivy@contoso.com"
    assert control(msal_emulator, "auto-approve", {"username": None}).json()["auto_approve"] is None
    assert control(msal_emulator, "config", {"access_token_lifetime": 5}).json()["ok"]
    assert msal_emulator.access_token_lifetime == 5
    assert control(msal_emulator, "reset").json()["ok"]
    assert msal_emulator.counts["devicecode"] == 0

    # a cross-site form post cannot drive the emulator
    form = msal_emulator.http_session().post(
        f"{msal_emulator.url}/_emulator/approve", data={"user_code": "X"}
    )
    assert form.status_code == 415
    assert control(msal_emulator, "no-such-action").status_code == 404


# --------------------------------------------------------------- devicelogin page


def test_devicelogin_page_approve(msal_emulator: EntraEmulator) -> None:
    session = msal_emulator.http_session()
    app = msal_emulator.public_client_app()
    flow = app.initiate_device_flow(STORAGE)
    page = session.get(flow["verification_uri"])
    assert page.status_code == 200
    for element_id in ("user-code", "username", "approve", "decline"):
        assert f'id="{element_id}"' in page.text
    assert 'value="ada@contoso.com"' in page.text

    result = session.post(
        msal_emulator.device_login_url,
        data={"user_code": flow["user_code"], "username": "jo@contoso.com", "action": "approve"},
    )
    assert result.status_code == 200
    assert 'id="result"' in result.text
    assert "You are signed in as jo@contoso.com" in result.text
    assert "You may close this window" in result.text
    token = app.acquire_token_by_device_flow(flow)
    assert token["id_token_claims"]["preferred_username"] == "jo@contoso.com"

    again = session.post(
        msal_emulator.device_login_url, data={"user_code": flow["user_code"], "action": "approve"}
    )
    assert again.status_code == 400 and 'id="result"' in again.text


def test_devicelogin_page_decline_and_escaping(msal_emulator: EntraEmulator) -> None:
    session = msal_emulator.http_session()
    app = msal_emulator.public_client_app()
    flow = app.initiate_device_flow(STORAGE)
    prefilled = session.get(msal_emulator.device_login_url, params={"user_code": flow["user_code"]})
    assert f'value="{flow["user_code"]}"' in prefilled.text
    declined = session.post(
        msal_emulator.device_login_url, data={"user_code": flow["user_code"], "action": "decline"}
    )
    assert declined.status_code == 200 and "declined" in declined.text
    assert app.acquire_token_by_device_flow(flow)["error"] == "authorization_declined"

    hostile = session.post(
        msal_emulator.device_login_url,
        data={"user_code": "<script>x</script>", "username": '"><b>', "action": "approve"},
    )
    assert hostile.status_code == 400
    assert "<script>x" not in hostile.text and '"><b>' not in hostile.text


# ------------------------------------------------------------------ pytest plugin


def test_plugin_import_is_light() -> None:
    code = (
        "import sys, jupyter_msal.testing.pytest_plugin, jupyter_msal.testing;"
        "heavy = {'tornado', 'trustme', 'msal', 'requests'} & set(sys.modules);"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, env=_env())


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def test_plugin_fixtures(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        'pytest_plugins = ["jupyter_msal.testing.pytest_plugin"]\n'
    )
    (tmp_path / "test_uses_fixtures.py").write_text(
        textwrap.dedent(
            """
            import pytest

            def test_function_scoped(msal_emulator):
                assert msal_emulator.running
                assert msal_emulator.device_code_interval == 1
                app = msal_emulator.public_client_app()
                flow = app.initiate_device_flow(["User.Read"])
                msal_emulator.approve(flow["user_code"])
                assert "access_token" in app.acquire_token_by_device_flow(flow)

            def test_session_scoped(msal_emulator_session, msal_emulator):
                assert msal_emulator_session.running
                assert msal_emulator_session.url != msal_emulator.url

            def test_session_is_shared(msal_emulator_session):
                assert msal_emulator_session.running
            """
        )
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout


def test_plugin_is_opt_in(tmp_path: Path) -> None:
    """Installing jupyter-msal adds no fixtures to other projects' pytest runs."""
    (tmp_path / "test_without_opt_in.py").write_text("def test_fixture(msal_emulator):\n    pass\n")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "fixture 'msal_emulator' not found" in run.stdout


def test_standalone_process() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_msal.testing.emulator",
            "--auto-approve",
            "kim@contoso.com",
        ],
        cwd=REPO,
        env=_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert info["authority"] == f"{info['url']}/organizations"
        session = requests.Session()
        session.trust_env = False
        session.verify = info["ca_bundle_path"]
        state = session.get(f"{info['control_url']}/state").json()
        assert state["auto_approve"] == "kim@contoso.com"
    finally:
        process.terminate()
        assert process.wait(10) == 0
    assert not Path(info["ca_bundle_path"]).exists()
