"""Tests of the Entra ID emulator, driven by real msal over real TLS on loopback: its
lifecycle, documents and the device-code grant (more in test_emulator_grants.py and
test_emulator_controls.py)."""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from emulator_helpers import STORAGE, raw_token, sign_in

from jupyter_msal.testing import DEFAULT_TENANT_ID, EntraEmulator, decode_jwt, wait_until

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GUEST_TENANT = "3c9a6f0e-2b7d-4e1a-8c55-0a1b2c3d4e5f"
# msal nudges towards form_post; the query mode is what these tests exercise
pytestmark = pytest.mark.filterwarnings("ignore:response_mode=:UserWarning")


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
