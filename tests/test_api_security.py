"""Authentication, authorization, XSRF and bad input on every endpoint."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient

STORAGE = "https://storage.azure.com/.default"
ENDPOINTS = [
    ("GET", "status"),
    ("GET", "accounts"),
    ("DELETE", "accounts"),
    ("DELETE", "accounts/ada%40contoso.com"),
    ("POST", "token"),
    ("GET", "sign-ins"),
    ("POST", "sign-ins"),
    ("GET", "sign-ins/abc"),
    ("DELETE", "sign-ins/abc"),
    ("GET", "openapi.json"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_unauthenticated_is_403(api: Any, method: str, path: str, msal_emulator: Any) -> None:
    status, body = await api(
        method, path, {} if method == "POST" else None, headers={"Authorization": ""}
    )
    assert status == 403, body
    assert body["error"] == "forbidden"
    assert msal_emulator.counts["token"] == 0 and msal_emulator.counts["devicecode"] == 0


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_wrong_kernel_secret_is_403(api: Any, method: str, path: str) -> None:
    status, body = await api(
        method,
        path,
        {} if method == "POST" else None,
        headers={"Authorization": "", "X-Jupyter-Msal-Secret": "not-the-secret"},
    )
    assert status == 403
    assert "X-Jupyter-Msal-Secret" in body["message"]


async def test_kernel_secret_authenticates(api: Any, kernel_headers: dict[str, str]) -> None:
    status, body = await api("GET", "status", headers=kernel_headers)
    assert status == 200 and body["mode"] == "user"
    status, body = await api("POST", "token", {"scopes": [STORAGE]}, headers=kernel_headers)
    assert status == 401 and body["error"] == "sign_in_required"


async def test_kernel_environment_is_published(msal_app: Any, jp_serverapp: Any) -> None:
    import os

    assert os.environ["JUPYTER_MSAL_SERVER_SECRET"] == msal_app.kernel_secret
    assert len(msal_app.kernel_secret) >= 32
    url = os.environ["JUPYTER_MSAL_SERVER_URL"]
    assert url.endswith(jp_serverapp.base_url) and url.startswith("http://")


async def test_browser_cookie_requests_need_xsrf_and_get_no_tokens(
    jp_serverapp: Any, jp_base_url: str, jp_http_port: int, api: Any
) -> None:
    """A browser session: log in with the token once, then use only the cookie."""
    client = AsyncHTTPClient()
    base = f"http://127.0.0.1:{jp_http_port}{jp_base_url}"
    login = await client.fetch(
        f"{base}login?token={jp_serverapp.identity_provider.token}",
        follow_redirects=False,
        raise_error=False,
    )
    cookies = "; ".join(c.split(";", 1)[0] for c in login.headers.get_list("Set-Cookie"))
    assert login.code == 302 and cookies, login.headers  # logged in: a session cookie
    page = await client.fetch(f"{base}api/status", headers={"Cookie": cookies}, raise_error=False)
    assert page.code == 200
    xsrf = next((c.split("=", 1)[1] for c in cookies.split("; ") if c.startswith("_xsrf=")), None)
    if xsrf is None:  # the server sets _xsrf on the first page it renders
        page = await client.fetch(f"{base}lab", headers={"Cookie": cookies}, raise_error=False)
        extra = [c.split(";", 1)[0] for c in page.headers.get_list("Set-Cookie")]
        cookies = "; ".join([cookies, *extra])
        xsrf = next(c.split("=", 1)[1] for c in cookies.split("; ") if c.startswith("_xsrf="))

    ok = await client.fetch(
        f"{base}jupyter-msal/status", headers={"Cookie": cookies}, raise_error=False
    )
    assert ok.code == 200

    no_xsrf = await client.fetch(
        f"{base}jupyter-msal/sign-ins",
        method="POST",
        body="{}",
        headers={"Cookie": cookies},
        raise_error=False,
    )
    assert no_xsrf.code == 403

    token = await client.fetch(
        f"{base}jupyter-msal/token",
        method="POST",
        body=json.dumps({"scopes": [STORAGE]}),
        headers={"Cookie": cookies, "X-XSRFToken": xsrf},
        raise_error=False,
    )
    assert token.code == 403
    body = json.loads(token.body)
    assert body["error"] == "forbidden" and "browsers" in body["message"]


BAD_TOKEN_BODIES = [
    (b"{not json", 400, "not valid JSON"),
    (b"[1, 2]", 400, "JSON object"),
    (b'"scopes"', 400, "JSON object"),
    (json.dumps({"scopes": "x", "bogus": 1}).encode(), 400, "Unknown field"),
    (json.dumps({"scopes": STORAGE}).encode(), 400, "must be list"),
    (json.dumps({"scopes": [1, 2]}).encode(), 400, "list of strings"),
    (json.dumps({"scopes": []}).encode(), 400, "at least one scope"),
    (json.dumps({"scopes": [""]}).encode(), 400, "at least one scope"),
    (json.dumps({"scopes": [f"s{i}" for i in range(51)]}).encode(), 400, "At most 50"),
    (json.dumps({"scopes": ["a b"]}).encode(), 400, "whitespace"),
    (json.dumps({"scopes": ["x" * 600]}).encode(), 400, "too long"),
    (json.dumps({"scopes": [STORAGE], "account": 5}).encode(), 400, "must be str"),
    (json.dumps({"scopes": [STORAGE], "force_refresh": "yes"}).encode(), 400, "must be bool"),
    (json.dumps({"scopes": [STORAGE], "claims": {"a": 1}}).encode(), 400, "must be str"),
    (json.dumps({"scopes": ["x"] * 100000}).encode(), 413, "KiB"),
]


@pytest.mark.parametrize(("raw", "status", "words"), BAD_TOKEN_BODIES)
async def test_bad_token_requests(api: Any, raw: bytes, status: int, words: str) -> None:
    got, body = await api("POST", "token", raw=raw)
    assert got == status, body
    assert isinstance(body, dict) and body["error"] and words in body["message"], body


async def test_unknown_account_and_flow(api: Any) -> None:
    status, body = await api("POST", "token", {"scopes": [STORAGE], "account": "x@y.z"})
    assert status == 401 and "x@y.z is not signed in" in body["message"]
    status, body = await api("GET", "sign-ins/doesnotexist")
    assert status == 404 and body["error"] == "not_found"
    status, body = await api("DELETE", "sign-ins/doesnotexist")
    assert status == 404
    status, body = await api("GET", "sign-ins/abc", params={"wait": "99"})
    assert status == 400 and "wait" in body["message"]
    status, body = await api("GET", "sign-ins/abc", params={"wait": "soon"})
    assert status == 400


async def test_bad_sign_in_requests(api: Any) -> None:
    status, body = await api("POST", "sign-ins", {"method": "telepathy"})
    assert status == 400 and "Unknown sign-in method" in body["message"]
    status, body = await api("POST", "sign-ins", {"scopes": "User.Read"})
    assert status == 400
    status, body = await api("POST", "sign-ins", {"extra": True})
    assert status == 400 and "Unknown field" in body["message"]


async def test_token_answers_are_not_cached(
    sign_in: Any, msal_emulator: Any, jp_fetch: Any
) -> None:
    await sign_in()
    response = await jp_fetch(
        "jupyter-msal", "token", method="POST", body=json.dumps({"scopes": [STORAGE]})
    )
    assert response.headers["Cache-Control"] == "no-store"
    body = json.loads(response.body)
    assert "refresh_token" not in body and "id_token" not in body
    assert not any(rt in response.body.decode() for rt in msal_emulator.issued_refresh_tokens)


async def test_openapi_document(api: Any) -> None:
    status, doc = await api("GET", "openapi.json")
    assert status == 200
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {
        "/status",
        "/accounts",
        "/accounts/{account}",
        "/token",
        "/audiences",
        "/sign-ins",
        "/sign-ins/{flow_id}",
        "/sign-ins/{flow_id}/response",
        "/managed-identity",
        "/managed-identity/tenants/{tenant}",
        "/openapi.json",
    }


@pytest.mark.parametrize("username", ["50%41off@contoso.com", "dev/ops@contoso.com"])
async def test_account_paths_are_unquoted_once(
    sign_in: Any, jp_serverapp: Any, jp_base_url: str, jp_http_port: int, username: str
) -> None:
    """A client quotes the account once (``%`` as ``%25``, ``/`` as ``%2F``); the server
    decodes it once (tornado does), so the account is found by its exact name."""
    from urllib.parse import quote

    await sign_in(username=username)
    url = (
        f"http://127.0.0.1:{jp_http_port}{jp_base_url}jupyter-msal/accounts/"
        f"{quote(username, safe='')}"
    )
    headers = {"Authorization": f"token {jp_serverapp.identity_provider.token}"}
    client = AsyncHTTPClient()
    found = await client.fetch(url, headers=headers, raise_error=False)
    assert found.code == 200, found.body
    assert json.loads(found.body)["username"] == username
    removed = await client.fetch(url, method="DELETE", headers=headers, raise_error=False)
    assert removed.code == 200, removed.body
    assert [a["username"] for a in json.loads(removed.body)["removed"]] == [username]


def test_the_shipped_openapi_file_agrees_with_the_models() -> None:
    """openapi.yaml is data; the parts that come from jupyter_msal.models are filled in when
    it is loaded, and what the file says about them must be the same."""
    import yaml

    from jupyter_msal.server.openapi import DERIVED, openapi_document, spec_file_text

    shipped = yaml.safe_load(spec_file_text())
    served = openapi_document("/base/")
    for path, derive in DERIVED.items():
        written, used = shipped, served
        for key in path:
            written, used = written[key], used[key]
        assert written == derive() == used, path
    assert served["servers"] == [{"url": "/base/jupyter-msal"}]
    assert served["info"]["version"] == __import__("jupyter_msal").__version__
    assert openapi_document() is not openapi_document()  # callers get their own copy
