"""``Credential`` with azure-core's BearerTokenCredentialPolicy, and ``BearerAuth``.

This test process acts as a kernel of a real server (its URL and kernel secret); the
protected API is a small local HTTP server that checks the bearer tokens the emulator issued
and answers the first request with a CAE-style claims challenge.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import jupyter_msal
from jupyter_msal.errors import SignInRequired
from jupyter_msal.models import decode_jwt_claims
from jupyter_msal.testing import DEFAULT_USERNAME as ADA
from jupyter_msal.testing import EntraEmulator
from jupyter_msal.testing.server import JupyterServerProcess

STORAGE = "https://storage.azure.com/.default"

CHALLENGE = {"access_token": {"nbf": {"essential": True, "value": "1700000000"}}}
#: What msal sends for it: the challenge plus the client capabilities (JupyterMsal default CP1).
SENT = {"access_token": {**CHALLENGE["access_token"], "xms_cc": {"values": ["CP1"]}}}


class ProtectedApi:
    """Answers 200 to tokens the emulator issued; challenges once for ``CHALLENGE`` claims."""

    def __init__(self, emulator: EntraEmulator) -> None:
        self.emulator = emulator
        self.challenge = False
        self.seen: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                auth = self.headers.get("Authorization", "")
                token = auth.removeprefix("Bearer ")
                api.seen.append(token)
                claims = decode_jwt_claims(token)
                if token not in api.emulator.issued_access_tokens:
                    self._answer(401, {"error": "unknown token"})
                elif api.challenge and claims.get("claims_seen") != SENT:
                    encoded = base64.urlsafe_b64encode(json.dumps(CHALLENGE).encode()).decode()
                    self._answer(
                        401,
                        {"error": "insufficient_claims"},
                        {
                            "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://'
                            'login.microsoftonline.com/common/oauth2/authorize", '
                            f'error="insufficient_claims", claims="{encoded}"'
                        },
                    )
                else:
                    # v1 tokens (storage) name the user in upn, v2 tokens in preferred_username
                    user = claims.get("preferred_username") or claims.get("upn")
                    self._answer(200, {"hello": user})

            def _answer(
                self, status: int, body: Any, headers: dict[str, str] | None = None
            ) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/data"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def protected(emulator: EntraEmulator) -> Iterator[ProtectedApi]:
    api = ProtectedApi(emulator)
    try:
        yield api
    finally:
        api.close()


@pytest.fixture
def signed_in(
    signed_out: JupyterServerProcess, emulator: EntraEmulator, in_process_client: Any
) -> Any:
    """Ada is signed in; this process is a kernel of the server."""
    approver = emulator.approve_next()
    account = jupyter_msal.login()
    approver.wait(5)
    assert account.username == ADA
    emulator.reset_counts()
    return in_process_client


class RecordingCredential(jupyter_msal.Credential):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[tuple[str, ...], Any]] = []

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        self.calls.append((scopes, dict(options or {})))
        return super().get_token_info(*scopes, options=options)


def test_bearer_policy_with_claims_challenge(
    signed_in: Any, emulator: EntraEmulator, protected: ProtectedApi
) -> None:
    from azure.core.pipeline import Pipeline
    from azure.core.pipeline.policies import BearerTokenCredentialPolicy
    from azure.core.pipeline.transport import RequestsTransport
    from azure.core.rest import HttpRequest

    credential = RecordingCredential()
    pipeline = Pipeline(
        transport=RequestsTransport(),
        policies=[BearerTokenCredentialPolicy(credential, STORAGE)],
    )
    response = pipeline.run(HttpRequest("GET", protected.url), enforce_https=False)
    assert response.http_response.status_code == 200
    assert response.http_response.json() == {"hello": ADA}
    assert credential.calls == [((STORAGE,), {})]

    protected.challenge = True
    emulator.reset_counts()
    response = pipeline.run(HttpRequest("GET", protected.url), enforce_https=False)
    assert response.http_response.status_code == 200
    # The policy passed the challenge's claims (decoded) to the credential ...
    assert len(credential.calls) == 2
    scopes, options = credential.calls[1]
    assert scopes == (STORAGE,) and json.loads(options["claims"]) == CHALLENGE
    # ... which bypassed every cache: exactly one token request, carrying the claims.
    assert emulator.counts["token"] == 1
    first, challenged, retried = protected.seen[-3:]
    assert first == challenged != retried
    assert decode_jwt_claims(retried)["claims_seen"] == SENT


def test_get_token_shapes(signed_in: Any, emulator: EntraEmulator) -> None:
    from azure.core.credentials import AccessToken, AccessTokenInfo, SupportsTokenInfo

    credential = jupyter_msal.Credential()
    assert isinstance(credential, SupportsTokenInfo)
    token = credential.get_token(STORAGE)
    assert isinstance(token, AccessToken)
    assert token.token in emulator.issued_access_tokens
    assert isinstance(token.expires_on, int)
    # azure-core's AccessToken is a named tuple whose repr would show the token: ours is redacted.
    assert token.token not in repr(token) and "<AccessToken for ada@contoso.com" in repr(token)

    info = credential.get_token_info(STORAGE, options={"enable_cae": True})
    assert isinstance(info, AccessTokenInfo)
    assert info.token == token.token and info.token_type == "Bearer"
    assert info.refresh_on == info.expires_on - 300
    with credential as same:
        assert same is credential
    assert (
        credential.get_token(STORAGE, tenant_id=token.token.account.tenant_id).token == token.token
    )


def test_credential_errors_are_client_authentication_errors(
    signed_in: Any, signed_out: JupyterServerProcess
) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    credential = jupyter_msal.Credential()
    with pytest.raises(ClientAuthenticationError) as info:
        credential.get_token(STORAGE, tenant_id="another-tenant")
    assert "Invalid tenant 'another-tenant'" in info.value.message

    jupyter_msal.logout(all_accounts=True)
    with pytest.raises(ClientAuthenticationError) as info:
        jupyter_msal.Credential(sign_in=False).get_token(STORAGE)
    assert info.value.message.startswith("jupyter-msal: Sign in first")
    assert isinstance(info.value.__cause__, SignInRequired)


def test_chains_move_on_when_nobody_is_signed_in(
    signed_out: JupyterServerProcess, in_process_client: Any
) -> None:
    from azure.core.credentials import AccessToken
    from azure.identity import ChainedTokenCredential, CredentialUnavailableError

    class Fallback:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            return AccessToken("fallback-token", 1)

    with pytest.raises(CredentialUnavailableError, match="jupyter-msal: Sign in first"):
        jupyter_msal.Credential(sign_in=False).get_token(STORAGE)
    chain = ChainedTokenCredential(jupyter_msal.Credential(sign_in=False), Fallback())
    assert chain.get_token(STORAGE).token == "fallback-token"


def test_without_azure_core(signed_in: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("azure.core.credentials", "azure.core.exceptions"):
        monkeypatch.setitem(__import__("sys").modules, name, None)
    credential = jupyter_msal.Credential()
    token = credential.get_token(STORAGE)
    assert type(token).__name__ == "_FallbackAccessToken"
    assert token.token.account.username == ADA and token.expires_on > 0
    info = credential.get_token_info(STORAGE)
    assert info.refresh_on == info.expires_on - 300


def test_async_credential(signed_in: Any) -> None:
    from jupyter_msal.kernel.credential import AsyncCredential

    async def main() -> Any:
        async with AsyncCredential() as credential:
            return await credential.get_token(STORAGE), await credential.get_token_info(STORAGE)

    token, info = asyncio.run(main())
    assert token.token == info.token and token.token.account.username == ADA


def test_async_credential_uses_a_thread_only_to_ask_the_server(
    signed_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_msal.kernel import api
    from jupyter_msal.kernel.credential import AsyncCredential

    threads: list[Any] = []
    to_thread = asyncio.to_thread

    async def counting_to_thread(func: Any, *args: Any, **kwargs: Any) -> Any:
        threads.append(func)
        return await to_thread(func, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counting_to_thread)
    api.clear_cache()

    async def main() -> list[Any]:
        async with AsyncCredential() as credential:
            first = await credential.get_token(STORAGE)  # not kept yet: asks the server
            kept = await credential.get_token(STORAGE)  # kept in the kernel: on the loop
            info = await credential.get_token_info(STORAGE)
            claims = json.dumps(CHALLENGE)
            challenged = await credential.get_token(STORAGE, claims=claims)  # bypasses caches
            return [first, kept, info, challenged]

    first, kept, info, challenged = asyncio.run(main())
    assert first.token == kept.token == info.token != challenged.token
    assert len(threads) == 2


def test_logout_all_accounts_and_the_deprecated_all(
    signed_in: Any, emulator: EntraEmulator
) -> None:
    removed = jupyter_msal.logout(all_accounts=True)
    assert [a.username for a in removed] == [ADA]

    approver = emulator.approve_next()
    jupyter_msal.login()
    approver.wait(5)
    with pytest.warns(DeprecationWarning, match=r"logout\(all_accounts=\.\.\.\)"):
        removed = jupyter_msal.logout(all=True)
    assert [a.username for a in removed] == [ADA]
    assert jupyter_msal.accounts() == []
    with pytest.raises(TypeError, match="'everyone'"):
        jupyter_msal.logout(everyone=True)


def test_bearer_auth_requests_and_httpx(
    signed_in: Any, emulator: EntraEmulator, protected: ProtectedApi
) -> None:
    import httpx
    import requests

    auth = jupyter_msal.BearerAuth(STORAGE)
    assert requests.get(protected.url, auth=auth, timeout=10).json() == {"hello": ADA}
    assert httpx.get(protected.url, auth=auth, timeout=10).json() == {"hello": ADA}
    assert protected.seen[-1] == protected.seen[-2] in emulator.issued_access_tokens

    # requests: a claims challenge is answered once, with a token carrying those claims.
    protected.challenge = True
    emulator.reset_counts()
    response = requests.get(protected.url, auth=auth, timeout=10)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert emulator.counts["token"] == 1
    assert decode_jwt_claims(protected.seen[-1])["claims_seen"] == SENT
