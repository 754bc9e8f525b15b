"""Continuous Access Evaluation: a claims challenge round trip through azure-core.

This process is a kernel of a real server; ``jupyter_msal.Credential`` sits under azure-core's
``BearerTokenCredentialPolicy`` (``enable_cae=True``) and calls the emulator's protected
resource. After a critical event the resource answers 401 with a claims challenge, the policy
passes the claims, the server gets a token honouring them, and the request goes through.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests

import jupyter_msal
from jupyter_msal.models import decode_jwt_claims
from jupyter_msal.testing import DEFAULT_USERNAME as ADA
from jupyter_msal.testing import EntraEmulator
from jupyter_msal.testing.server import JupyterServerProcess

STORAGE = "https://storage.azure.com/.default"


@pytest.fixture
def signed_in(
    signed_out: JupyterServerProcess, emulator: EntraEmulator, in_process_client: Any
) -> Any:
    approver = emulator.approve_next()
    assert jupyter_msal.login().username == ADA
    approver.wait(5)
    emulator.reset_counts()
    return in_process_client


def pipeline(emulator: EntraEmulator, credential: Any) -> Any:
    from azure.core.pipeline import Pipeline
    from azure.core.pipeline.policies import BearerTokenCredentialPolicy
    from azure.core.pipeline.transport import RequestsTransport

    session = requests.Session()
    session.trust_env = False  # loopback only, no proxies
    transport = RequestsTransport(session=session, connection_verify=emulator.ca_bundle_path)
    policy = BearerTokenCredentialPolicy(credential, STORAGE, enable_cae=True)
    return Pipeline(transport=transport, policies=[policy])


def call(pipe: Any, emulator: EntraEmulator) -> Any:
    from azure.core.pipeline.transport import HttpRequest

    return pipe.run(HttpRequest("GET", f"{emulator.url}/_resource/blob")).http_response


def test_claims_challenge_round_trip(signed_in: Any, emulator: EntraEmulator) -> None:
    credential = jupyter_msal.Credential()
    pipe = pipeline(emulator, credential)
    first = call(pipe, emulator)
    assert first.status_code == 200 and json.loads(first.text())["user"] == ADA
    before = emulator.issued_access_tokens[-1]
    assert "CP1" in json.dumps(decode_jwt_claims(before)["claims_seen"])  # client_capabilities

    assert emulator.revoke_sessions(ADA) >= 1
    emulator.reset_counts()
    second = call(pipe, emulator)
    assert second.status_code == 200
    assert emulator.counts["resource"] == 2  # refused once with the challenge, then accepted
    refreshes = [r for r in emulator.requests if r["grant_type"] == "refresh_token"]
    assert len(refreshes) == 1 and refreshes[0]["claims"] is True
    after = emulator.issued_access_tokens[-1]
    assert after != before
    seen = decode_jwt_claims(after)["claims_seen"]["access_token"]
    assert seen["nbf"]["essential"] is True and seen["xms_cc"]["values"] == ["CP1"]

    # a plain get_token with enable_cae is served from the caches again
    emulator.reset_counts()
    assert credential.get_token(STORAGE, enable_cae=True).token
    assert emulator.counts["token"] == 0


def test_challenge_answered_through_a_sign_in_when_the_idp_demands_one(
    signed_in: Any, emulator: EntraEmulator
) -> None:
    """The event also ended the session (refresh tokens revoked): the claims are satisfied by
    a new sign-in, which the credential runs, and the request goes through."""
    pipe = pipeline(emulator, jupyter_msal.Credential(timeout=30))
    assert call(pipe, emulator).status_code == 200
    emulator.revoke_sessions(ADA)
    emulator.revoke_refresh_tokens(ADA)
    approver = emulator.approve_next()
    emulator.reset_counts()
    answer = call(pipe, emulator)
    approver.wait(10)
    assert answer.status_code == 200
    sign_ins = [r for r in emulator.requests if r["path"].endswith("/devicecode")]
    assert len(sign_ins) == 1 and sign_ins[0]["claims"] is True  # the sign-in carried them


def test_challenge_header_is_what_azure_sends(signed_in: Any, emulator: EntraEmulator) -> None:
    token = jupyter_msal.get_token(STORAGE)
    emulator.revoke_sessions(ADA)
    with requests.Session() as session:
        session.trust_env = False
        answer = session.get(
            f"{emulator.url}/_resource/blob",
            headers={"Authorization": f"Bearer {token}"},
            verify=emulator.ca_bundle_path,
        )
    assert answer.status_code == 401
    header = answer.headers["WWW-Authenticate"]
    assert 'error="insufficient_claims"' in header
    encoded = header.split('claims="')[1].split('"')[0]
    claims = json.loads(base64.b64decode(encoded))
    assert claims["access_token"]["nbf"]["essential"] is True
