"""Sign in once, at the hub: a real JupyterHub whose users log in with Entra ID (OAuthenticator
against the emulator, a confidential client), ``jupyter_msal.hub.enable(c)``, the proxy, and
two users whose servers and kernels run as themselves.

The tests run in order: alice's first token, isolation from bob, a hub restart, a revoked
hub login.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from jupyter_msal.testing.hub import JupyterHubProcess

ALICE, BOB = "msal-alice", "msal-bob"
STORAGE = "https://storage.azure.com/.default"
VAULT = "https://vault.azure.net/.default"
GRAPH = "https://graph.microsoft.com/.default"
ARM = "https://management.azure.com/.default"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "hub"
CHROMIUM = os.environ.get("JUPYTER_MSAL_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def emulator(msal_emulator_module: Any) -> Any:
    # Refresh tokens are single use here: a rotated one that was not stored back would
    # break the next redemption.
    msal_emulator_module.refresh_token_single_use = True
    return msal_emulator_module


@pytest.fixture(scope="module")
def hub(emulator: Any, hub_factory: Any) -> JupyterHubProcess:
    return hub_factory(users=[ALICE, BOB])


@pytest.fixture(scope="module")
def logins(hub: JupyterHubProcess) -> dict[str, Any]:
    """alice and bob logged in at the hub (Entra ID), their servers started; the refresh
    token each login left in auth_state."""
    out: dict[str, Any] = {}
    for user in (ALICE, BOB):
        hub.login(user)
        out[user] = hub.user_model(user)["auth_state"]["refresh_token"]
        hub.spawn(user)
    return out


def _call(url: str, token: str | None, body: Any = None, method: str | None = None) -> Any:
    """(status, JSON) of a request to ``url`` with a JupyterHub token."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"token {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw)
        except ValueError:
            return err.code, raw.decode(errors="replace")


def test_alice_gets_tokens_from_her_hub_login_without_signing_in_again(
    hub: JupyterHubProcess, logins: dict[str, Any], emulator: Any
) -> None:
    emulator.reset_counts()
    with hub.open_kernel(ALICE) as kernel:
        kernel.ok("%load_ext jupyter_msal")
        cell = kernel.ok(f"t = %msal_token {STORAGE}")
        assert cell.outputs == []  # the assignment shows nothing, the token least of all
        who = kernel.eval(
            "(t.account.username, t.account.sign_in_method, t.claims['aud'], t.claims['upn'])"
        )
        assert who == [ALICE, "hub", "https://storage.azure.com", ALICE]
        again = kernel.eval(f"str(__import__('jupyter_msal').get_token({STORAGE!r})) == str(t)")
        assert again is True
        # unmodified Azure SDK code: DefaultAzureCredential finds the server's managed-identity
        # endpoint, which answers from the same hub login
        sdk = kernel.ok(
            "from azure.identity import DefaultAzureCredential\n"
            f"sdk = DefaultAzureCredential().get_token({STORAGE!r})\n"
            "print(sdk.token == str(t))"
        )
        assert sdk.stdout.strip() == "True"
    counts = emulator.counts
    # no device code, no sign-in page: one refresh-token redemption in the hub service
    assert counts["devicecode"] == 0 and counts["authorize"] == 0
    assert counts["grant:refresh_token"] == 1 and counts["token"] == 1
    code, status = _call(hub.server_url(ALICE) + "jupyter-msal/status", hub.user_token(ALICE))
    assert code == 200 and status["hub"]["in_use"] is True
    assert status["hub"]["account"] == ALICE and status["sign_in_methods"][0] == "hub"
    assert [(a["username"], a["sign_in_method"]) for a in status["accounts"]] == [(ALICE, "hub")]
    # the rotated refresh token went back into the hub's auth_state
    stored = hub.user_model(ALICE)["auth_state"]["refresh_token"]
    assert stored != logins[ALICE]


def test_the_hub_apps_secret_stays_in_the_hub(
    hub: JupyterHubProcess, logins: dict[str, Any]
) -> None:
    with hub.open_kernel(ALICE) as kernel:
        leaked = kernel.eval(
            f"any({hub.client_secret!r} in v for v in __import__('os').environ.values())"
        )
        names = kernel.eval("sorted(k for k in __import__('os').environ if 'MSAL' in k)")
    assert leaked is False
    assert "JUPYTER_MSAL_CLIENT_SECRET" not in names
    assert "JUPYTER_MSAL_HUB_SERVICE_URL" in names


def test_bob_never_gets_alices_tokens(hub: JupyterHubProcess, logins: dict[str, Any]) -> None:
    service = hub.service_url
    bob = hub.user_token(BOB)
    # through the service with his own credentials: his own login's token, never hers
    status, answer = _call(service + "api/token", bob, {"scopes": [STORAGE]})
    assert status == 200 and answer["account"]["username"] == BOB
    status, answer = _call(service + "api/account", bob)
    assert status == 200 and answer["username"] == BOB
    # a state routed to alice's server is refused
    status, answer = _call(
        service + "api/states",
        bob,
        {"state": "a" * 32, "redirect_path": f"/user/{ALICE}/jupyter-msal/redirect"},
    )
    assert status == 400 and "redirect_path" in answer["message"]
    # through alice's server: JupyterHub refuses his token there
    status, _ = _call(hub.server_url(ALICE) + "jupyter-msal/token", bob, {"scopes": [STORAGE]})
    assert status == 403
    # from her files: her data folder is closed to him
    alice_data = hub.homes[ALICE] / ".local" / "share" / "jupyter"
    with hub.open_kernel(BOB) as kernel:
        kernel.ok("%load_ext jupyter_msal")
        kernel.ok(f"mine = %msal_token {STORAGE}")
        mine = kernel.eval("mine.account.username")
        kernel.ok(
            "import os\n"
            "def probe(path):\n"
            "    try:\n"
            "        os.listdir(path)\n"
            "        return 'listed'\n"
            "    except OSError as err:\n"
            "        return type(err).__name__\n"
        )
        probe = kernel.eval(f"probe({str(alice_data)!r})")
    assert mine == BOB
    if hub.as_root:  # real Linux users: her home is hers alone
        assert probe == "PermissionError"


def test_the_service_refuses_requests_without_a_hub_identity(
    hub: JupyterHubProcess, logins: dict[str, Any]
) -> None:
    service = hub.service_url
    for token in (None, "not-a-token", hub.admin_token):
        status, answer = _call(service + "api/token", token, {"scopes": [STORAGE]})
        assert status in (401, 403), (token, status, answer)
        assert "access_token" not in json.dumps(answer)
    # alice's own token, without the right to use the service
    narrow = hub.user_token(ALICE, scopes=[f"read:users:name!user={ALICE}"])
    status, answer = _call(service + "api/token", narrow, {"scopes": [STORAGE]})
    assert status == 403 and "access:services!service=jupyter-msal" in answer["message"]
    # bad input: 400 saying what to fix
    alice = hub.user_token(ALICE)
    for body, field in (({"scopes": []}, "scopes"), ({"scopes": [STORAGE], "claims": 1}, "claims")):
        status, answer = _call(service + "api/token", alice, body)
        assert status == 400 and field in answer["message"]


def _post_raw(url: str, token: str, raw: bytes) -> tuple[int, Any, str]:
    """(status, JSON, Content-Type) of a POST of ``raw`` bytes to the service."""
    request = urllib.request.Request(
        url,
        data=raw,
        method="POST",
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read()), answer.headers["Content-Type"]
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read()), err.headers["Content-Type"]


#: (body, status, words the message must hold), for every endpoint that takes a body
MALFORMED = [
    (b"[" * 20_000 + b"]" * 20_000, 400, "nests more than 8 levels"),
    (json.dumps({"scopes": ["x"] * 100_000}).encode(), 413, "over 64 KiB"),
    (b"[1, 2]", 400, "must be a JSON object"),
    (b'"scopes"', 400, "must be a JSON object"),
    (b"{not json", 400, "not valid JSON"),
    (json.dumps({"scopes": [STORAGE], "bogus": 1}).encode(), 400, "Unknown field(s) bogus"),
]
#: the same, for api/token only
MALFORMED_TOKEN_REQUESTS = [
    (json.dumps({"scopes": [STORAGE], "claims": "not json"}).encode(), 400, "claims must be"),
    (json.dumps({"scopes": [STORAGE], "claims": "[1, 2]"}).encode(), 400, "a JSON object"),
    (json.dumps({"scopes": [STORAGE], "claims": 1}).encode(), 400, "Field 'claims'"),
]


def test_malformed_input_to_the_service_says_what_to_fix(
    hub: JupyterHubProcess, logins: dict[str, Any], emulator: Any
) -> None:
    """The same body rules and JSON errors as the server extension: never a 5xx, never a
    traceback in the hub's log, nothing sent to the identity provider."""
    alice = hub.user_token(ALICE)
    emulator.reset_counts()
    cases = [("api/token", *case) for case in MALFORMED + MALFORMED_TOKEN_REQUESTS]
    cases += [("api/states", *case) for case in MALFORMED]
    for endpoint, raw, status, words in cases:
        got, answer, kind = _post_raw(hub.service_url + endpoint, alice, raw)
        assert (got, kind) == (status, "application/json"), (endpoint, raw[:60], answer)
        assert words in answer["message"], (endpoint, raw[:60], answer)
        assert answer["error"] in ("bad_request", "body_too_large")
    assert sum(emulator.counts.values()) == 0
    log = hub.log()
    assert "Traceback" not in log and "RecursionError" not in log


def test_the_service_answers_callers_in_json_never_with_a_login_page(
    hub: JupyterHubProcess, logins: dict[str, Any]
) -> None:
    service = hub.service_url
    for method in ("GET", "POST"):
        body = {"scopes": [STORAGE]} if method == "POST" else None
        path = "api/token" if method == "POST" else "api/account"
        status, answer = _call(service + path, None, body, method=method)
        assert status == 401 and answer["error"] == "unauthenticated", answer
        assert "JUPYTERHUB_API_TOKEN" in answer["message"]
        status, answer = _call(service + path, "not-a-token", body, method=method)
        assert status == 401 and "does not know this token" in answer["message"]
        # another service's token (the test admin's): users only
        status, answer = _call(service + path, hub.admin_token, body, method=method)
        assert status == 403 and "not a user's" in answer["message"], answer
    # bearer works as well as token; the answer is never cached
    request = urllib.request.Request(
        service + "api/account", headers={"Authorization": f"Bearer {hub.user_token(ALICE)}"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert json.loads(answer.read())["username"] == ALICE
        assert answer.headers["Cache-Control"] == "no-store"
    # the access log names paths, never query strings (they carry codes and tokens)
    status, _ = _call(service + "api/account?token=query-secret-42", None)
    assert status == 401
    assert "query-secret-42" not in hub.log()


def test_rotated_refresh_tokens_survive_a_hub_restart(
    hub: JupyterHubProcess, logins: dict[str, Any], emulator: Any
) -> None:
    before = hub.user_model(ALICE)["auth_state"]["refresh_token"]
    hub.restart()  # the service starts empty; alice's server keeps running
    emulator.reset_counts()
    with hub.open_kernel(ALICE) as kernel:
        kernel.ok("import jupyter_msal")
        # a refresh after "expiry" (forced) and a new resource, both from the stored token
        fresh = kernel.eval(f"jupyter_msal.get_token({STORAGE!r}, force_refresh=True).expires_in")
        vault = kernel.eval(f"jupyter_msal.get_token({VAULT!r}).claims['aud']")
    assert fresh > 60 and vault == "https://vault.azure.net"
    assert emulator.counts["grant:refresh_token"] == 2
    after = hub.user_model(ALICE)["auth_state"]
    assert after["refresh_token"] not in (before, logins[ALICE])
    # OAuthenticator rebuilds auth_state from token_response: it holds the new token too
    assert after["token_response"]["refresh_token"] == after["refresh_token"]
    assert hub.client_secret not in hub.log()


def test_missing_consent_for_one_resource_concerns_that_resource_only(
    hub: JupyterHubProcess, logins: dict[str, Any], emulator: Any
) -> None:
    emulator.inject_aadsts(
        code=65001,
        error="invalid_grant",
        description="The user or administrator has not consented to use the application.",
    )
    with hub.open_kernel(ALICE) as kernel:
        cell = kernel.ok(
            "import jupyter_msal\n"
            "try:\n"
            f"    jupyter_msal.get_token({ARM!r}, sign_in=False)\n"
            "except jupyter_msal.errors.SignInRequired as err:\n"
            "    print(type(err).__name__, err)"
        )
        assert "Your JupyterHub login cannot get this token" in cell.stdout
        assert "AADSTS65001" in cell.stdout
        # the hub login still gives tokens for other resources
        assert kernel.eval(f"jupyter_msal.get_token({VAULT!r}).claims['aud']") == (
            "https://vault.azure.net"
        )
    code, status = _call(hub.server_url(ALICE) + "jupyter-msal/status", hub.user_token(ALICE))
    assert code == 200 and status["hub"]["in_use"] is True
    # a sign-in started now (for that resource) uses this server's own methods
    assert "hub" not in status["sign_in_methods"]


@pytest.mark.browser
def test_the_lab_panel_shows_the_hub_login(
    hub: JupyterHubProcess, logins: dict[str, Any], emulator: Any
) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = chromium.new_context(ignore_https_errors=True).new_page()
            emulator.auto_approve = ALICE  # the emulator's sign-in page signs alice in
            try:
                page.goto(f"{hub.url}hub/oauth_login")
                page.wait_for_url(f"{hub.url}hub/**")
            finally:
                emulator.auto_approve = None
            page.goto(hub.server_url(ALICE) + "lab")
            indicator = page.locator("#jp-msal-indicator")
            expect(indicator).to_have_text(ALICE, timeout=90_000)
            indicator.click()
            item = page.locator(f"#jp-msal-panel .jp-msal-account[data-username='{ALICE}']")
            expect(item).to_contain_text("through your JupyterHub login")
            expect(item.locator(".jp-msal-signout")).to_have_count(0)
            page.screenshot(path=str(ARTIFACTS / "hub-lab-panel-hub-login.png"))
        finally:
            chromium.close()


def test_a_revoked_hub_login_says_sign_in_again(
    hub: JupyterHubProcess, logins: dict[str, Any], emulator: Any
) -> None:
    emulator.revoke_refresh_tokens(ALICE)
    with hub.open_kernel(ALICE) as kernel:
        cell = kernel.ok(
            "import jupyter_msal\n"
            "try:\n"
            f"    jupyter_msal.get_token({GRAPH!r}, sign_in=False)\n"
            "except jupyter_msal.errors.SignInRequired as err:\n"
            "    print(type(err).__name__, err)"
        )
    # a cell that may sign in (%msal_token) shows the same reason above its sign-in prompt
    assert cell.stdout.startswith("SignInRequired Your JupyterHub login cannot get this token")
    assert "Sign in again" in cell.stdout and "AADSTS50173" in cell.stdout
    code, status = _call(hub.server_url(ALICE) + "jupyter-msal/status", hub.user_token(ALICE))
    assert code == 200 and status["hub"]["in_use"] is False  # answers: nothing crashed
    assert "Traceback" not in hub.log()
