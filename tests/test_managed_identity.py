"""The managed-identity endpoint on an in-process server: protocol, authentication, clients.

Kernels and terminals are in tests/kernel/test_kernel_managed_identity.py; here the test
process itself plays the kernel: the server publishes IDENTITY_ENDPOINT and IDENTITY_HEADER
into this process's environment, so azure-identity and msal find them as a kernel would
(synchronous clients run in a thread, the server keeps the event loop).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient

from jupyter_msal.constants import (
    IDENTITY_ENDPOINT_ENV,
    IDENTITY_HEADER_ENV,
    MANAGED_IDENTITY_PATH,
    SERVER_URL_ENV,
)
from jupyter_msal.testing import decode_jwt

STORAGE = "https://storage.azure.com"
ARM = "https://management.core.windows.net/"
SIGN_IN_WORDS = ("%msal_login", "status bar", "jupyter msal login")
OLD_AZURE_IDENTITY = Path(__file__).resolve().parents[1] / "tools" / "azure-identity-1.12"


@pytest.fixture(autouse=True)
def _no_outside_identity(no_outside_identity: None) -> None:
    """Every test here runs without a managed identity from outside."""


@pytest.fixture
def preexisting(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Variables the server's own environment has before it starts (indirect parametrization)."""
    env = dict(getattr(request, "param", {}))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def jp_server_config(msal_env: dict[str, str], preexisting: dict[str, str]) -> dict[str, Any]:
    """The extension enabled; authentication stays on."""
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyter_msal": True},
            "allow_unauthenticated_access": False,
        }
    }


@pytest.fixture
def sign_in(api: Any, msal_emulator: Any) -> Any:
    """``await sign_in()``: a device-code sign-in through the REST API, approved at once."""

    async def run(username: str = "ada@contoso.com") -> dict[str, Any]:
        msal_emulator.auto_approve = username
        status, flow = await api("POST", "sign-ins", {"method": "device_code"})
        assert status == 202, flow
        for _ in range(6):
            status, flow = await api("GET", f"sign-ins/{flow['id']}", params={"wait": "10"})
            if flow["state"] != "pending":
                break
        assert flow["state"] == "succeeded", flow
        msal_emulator.auto_approve = None
        return flow

    return run


def _identity_headers() -> dict[str, str]:
    """What a kernel sends: the inherited secret, no Jupyter token."""
    return {"X-IDENTITY-HEADER": os.environ[IDENTITY_HEADER_ENV], "Authorization": ""}


async def _get(api: Any, resource: str | None = STORAGE, **kw: Any) -> tuple[int, Any]:
    params = {"api-version": "2019-08-01", **({"resource": resource} if resource else {})}
    params.update(kw.pop("params", {}))
    return await api("GET", "managed-identity", params=params, **kw)  # type: ignore[no-any-return]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def test_variables_are_published_and_status_says_so(
    api: Any, msal_app: Any, kernel_headers: dict[str, str]
) -> None:
    endpoint = os.environ[IDENTITY_ENDPOINT_ENV]
    secret = os.environ[IDENTITY_HEADER_ENV]
    assert endpoint == os.environ[SERVER_URL_ENV] + MANAGED_IDENTITY_PATH
    assert len(secret) >= 32 and secret != msal_app.kernel_secret
    status, body = await api("GET", "status", headers=kernel_headers)
    assert status == 200
    assert body["managed_identity"] == {"enabled": True, "endpoint": endpoint, "note": "on"}
    assert secret not in json.dumps(body)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),  # the Jupyter token alone does not authenticate here
        ({"X-IDENTITY-HEADER": "not-the-secret"}, 403),
        ({"X-IDENTITY-HEADER": "", "Authorization": ""}, 403),
        ({"Authorization": ""}, 401),
    ],
)
async def test_refused_without_the_identity_header(
    api: Any, sign_in: Any, msal_emulator: Any, headers: dict[str, str], status: int
) -> None:
    await sign_in()
    msal_emulator.reset_counts()
    got, body = await _get(api, headers=headers)
    assert got == status, body
    assert "access_token" not in body and body["statusCode"] == status
    assert "X-IDENTITY-HEADER" in body["message"]
    assert msal_emulator.counts["token"] == 0


async def test_kernel_secret_does_not_open_it(api: Any, kernel_headers: dict[str, str]) -> None:
    got, body = await _get(api, headers=kernel_headers)
    assert got == 401 and "access_token" not in body


async def test_browser_cookie_cannot_use_it(
    jp_serverapp: Any, jp_base_url: str, jp_http_port: int, sign_in: Any, msal_emulator: Any
) -> None:
    await sign_in()
    msal_emulator.reset_counts()
    client = AsyncHTTPClient()
    base = f"http://127.0.0.1:{jp_http_port}{jp_base_url}"
    login = await client.fetch(
        f"{base}login?token={jp_serverapp.identity_provider.token}",
        follow_redirects=False,
        raise_error=False,
    )
    cookies = "; ".join(c.split(";", 1)[0] for c in login.headers.get_list("Set-Cookie"))
    assert login.code == 302 and cookies
    assert (await client.fetch(f"{base}api/status", headers={"Cookie": cookies})).code == 200
    url = f"{base}{MANAGED_IDENTITY_PATH}?api-version=2019-08-01&resource={STORAGE}"
    answer = await client.fetch(url, headers={"Cookie": cookies}, raise_error=False)
    assert answer.code == 401
    assert b"access_token" not in answer.body and msal_emulator.counts["token"] == 0


async def test_signed_out_is_a_quick_401_naming_the_way_to_sign_in(
    api: Any, msal_emulator: Any
) -> None:
    got, body = await _get(api, headers=_identity_headers())
    assert got == 401 and body["error"] == "sign_in_required"
    assert all(words in body["message"] for words in SIGN_IN_WORDS)
    assert body["error_description"] == body["message"]
    _, flows = await api("GET", "sign-ins")
    assert flows["sign_ins"] == []  # no hidden sign-in started
    assert msal_emulator.counts["devicecode"] == 0 and msal_emulator.counts["token"] == 0


async def test_token_after_sign_in_from_the_same_cache(
    api: Any, sign_in: Any, msal_emulator: Any, jp_fetch: Any
) -> None:
    await sign_in()
    msal_emulator.reset_counts()
    got, body = await _get(api, headers=_identity_headers())
    assert got == 200, body
    assert body["resource"] == STORAGE and body["token_type"] == "Bearer"
    assert body["expires_on"] > time.time() + 600
    assert body["access_token"] in msal_emulator.issued_access_tokens
    claims = decode_jwt(body["access_token"])
    assert claims["aud"] == STORAGE and claims["ver"] == "1.0"
    # the same token as the REST API hands kernels, and no further call to the emulator
    counts = msal_emulator.counts
    status, rest = await api(
        "POST",
        "token",
        {"scopes": [f"{STORAGE}/.default"]},
        headers={"X-Jupyter-Msal-Secret": os.environ["JUPYTER_MSAL_SERVER_SECRET"]},
    )
    assert status == 200 and rest["access_token"] == body["access_token"]
    again = await _get(api, headers=_identity_headers())
    assert again[1]["access_token"] == body["access_token"]
    assert msal_emulator.counts == counts and counts["devicecode"] == 0
    response = await jp_fetch(
        MANAGED_IDENTITY_PATH,
        params={"api-version": "2019-08-01", "resource": STORAGE},
        headers=_identity_headers(),
    )
    assert response.headers["Cache-Control"] == "no-store"


async def test_resource_forms_and_ignored_identity_selectors(
    api: Any, sign_in: Any, msal_emulator: Any
) -> None:
    await sign_in()
    got, body = await _get(api, ARM, headers=_identity_headers(), params={"client_id": "x"})
    assert got == 200 and body["resource"] == ARM
    assert decode_jwt(body["access_token"])["aud"] == ARM
    for selector in ("mi_res_id", "object_id", "principal_id"):
        got, body = await _get(api, headers=_identity_headers(), params={selector: "y"})
        assert got == 200 and body["resource"] == STORAGE


async def test_bad_requests(api: Any) -> None:
    got, body = await _get(api, None, headers=_identity_headers())
    assert got == 400 and "resource" in body["message"]
    got, body = await api(
        "GET",
        "managed-identity",
        params={"api-version": "2017-09-01", "resource": STORAGE},
        headers=_identity_headers(),
    )
    assert got == 400 and "2019-08-01" in body["message"]


@pytest.mark.parametrize(
    "msal_extra_env", [{"JUPYTER_MSAL_ALLOWED_SCOPES": "https://vault.azure.net/.default"}],
    indirect=True,
)  # fmt: skip
async def test_scope_policy_applies(api: Any, sign_in: Any, msal_emulator: Any) -> None:
    msal_emulator.reset_counts()
    got, body = await _get(api, headers=_identity_headers())
    assert got == 403 and body["error"] == "scope_not_allowed", body
    assert "storage.azure.com" in body["message"] and msal_emulator.counts["token"] == 0


@pytest.mark.parametrize(
    "msal_extra_env", [{"JUPYTER_MSAL_MANAGED_IDENTITY_ENDPOINT": "false"}], indirect=True
)
async def test_off_sets_no_variables(api: Any, jp_fetch: Any) -> None:
    assert IDENTITY_ENDPOINT_ENV not in os.environ and IDENTITY_HEADER_ENV not in os.environ
    _, body = await api("GET", "status")
    assert body["managed_identity"]["enabled"] is False
    assert "managed_identity_endpoint" in body["managed_identity"]["note"]
    response = await jp_fetch(
        MANAGED_IDENTITY_PATH, params={"resource": STORAGE}, raise_error=False
    )
    assert response.code == 404


@pytest.mark.parametrize(
    ("preexisting", "variable"),
    [
        ({"IDENTITY_ENDPOINT": "http://127.0.0.1:9/msi/token", "IDENTITY_HEADER": "real"},
         "IDENTITY_ENDPOINT"),
        ({"MSI_ENDPOINT": "http://127.0.0.1:9/msi/token", "MSI_SECRET": "real"}, "MSI_ENDPOINT"),
    ],
    indirect=["preexisting"],
)  # fmt: skip
async def test_real_managed_identity_is_left_alone(
    api: Any, jp_fetch: Any, preexisting: dict[str, str], variable: str
) -> None:
    for name, value in preexisting.items():
        assert os.environ[name] == value
    if variable == "MSI_ENDPOINT":
        assert IDENTITY_ENDPOINT_ENV not in os.environ
    _, body = await api("GET", "status")
    section = body["managed_identity"]
    assert section["enabled"] is False and section["endpoint"] is None
    assert section["note"] == f"left alone: a real managed identity is configured ({variable})"
    response = await jp_fetch(MANAGED_IDENTITY_PATH, raise_error=False)
    assert response.code == 404


# ------------------------------------------------------------ Azure SDK clients, unmodified


async def test_azure_identity_and_msal_clients(sign_in: Any, msal_emulator: Any) -> None:
    import msal
    import requests
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    await sign_in()
    msal_emulator.reset_counts()
    scope = f"{STORAGE}/.default"

    def sync_clients() -> list[str]:
        mi = msal.ManagedIdentityClient(
            msal.SystemAssignedManagedIdentity(), http_client=requests.Session()
        ).acquire_token_for_client(resource=STORAGE)
        return [
            DefaultAzureCredential().get_token(scope).token,
            ManagedIdentityCredential().get_token(scope).token,
            mi["access_token"],
        ]

    # (azure.identity.aio is tested from a kernel: aiohttp rewrites this test server's
    # base_url /a%40b/ to /a@b/, a path the server does not serve)
    tokens = await asyncio.to_thread(sync_clients)
    assert len(set(tokens)) == 1 and tokens[0] in msal_emulator.issued_access_tokens
    assert (
        msal_emulator.counts["devicecode"] == 0 and msal_emulator.counts["grant:device_code"] == 0
    )


def _old_azure_identity(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(OLD_AZURE_IDENTITY)}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


OLD_CLIENT = """
import azure.identity, hashlib, sys
assert azure.identity.__version__ == "1.12.0", azure.identity.__version__
try:
    token = azure.identity.DefaultAzureCredential().get_token("https://storage.azure.com/.default")
except Exception as err:
    print("ERROR", type(err).__name__, err)
else:
    print("TOKEN", hashlib.sha256(token.token.encode()).hexdigest(), token.expires_on)
"""


async def test_older_azure_identity(sign_in: Any, msal_emulator: Any) -> None:
    assert (OLD_AZURE_IDENTITY / "azure" / "identity").is_dir(), (
        "azure-identity 1.12 is not installed: run scripts/ensure-old-azure-identity"
    )
    signed_out = await asyncio.to_thread(_old_azure_identity, OLD_CLIENT)
    assert signed_out.stdout.startswith("ERROR ClientAuthenticationError"), signed_out
    assert "%msal_login" in signed_out.stdout
    await sign_in()
    result = await asyncio.to_thread(_old_azure_identity, OLD_CLIENT)
    kind, digest, expires_on = result.stdout.split()
    assert kind == "TOKEN", result
    assert digest in {_digest(t) for t in msal_emulator.issued_access_tokens}
    assert int(expires_on) > time.time() + 600
