"""Logging in to the hub again mends a revoked hub login at the very next request.

A real JupyterHub (OAuthenticator against the emulator, ``jupyter_msal.hub.enable(c)``) and
alice's server: after her refresh token is revoked, her server's requests say "sign in again";
she logs in to the hub again, and the next request gets a token from the new hub login, with
no sign-in on her server. The user server keeps the hub service's answer about her login for
a while (``HubLink``): that kept answer must not hold the new login back.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any

import pytest

from jupyter_msal.errors import SignInRequired
from jupyter_msal.identity.hub_link import HubLink
from jupyter_msal.identity.hub_routing import HubRouting
from jupyter_msal.models import Account
from jupyter_msal.testing.hub import JupyterHubProcess

ALICE = "msal-alice"
STORAGE = "https://storage.azure.com/.default"
GRAPH = "https://graph.microsoft.com/.default"
VAULT = "https://vault.azure.net/.default"


@pytest.fixture(scope="module")
def hub(msal_emulator_module: Any, hub_factory: Any) -> JupyterHubProcess:
    msal_emulator_module.refresh_token_single_use = True
    hub = hub_factory(users=[ALICE])
    hub.login(ALICE)
    hub.spawn(ALICE)
    return hub


def _post(url: str, token: str, body: Any) -> tuple[int, Any]:
    """(status, JSON) of a POST to ``url`` with a JupyterHub token."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_logging_in_to_the_hub_again_mends_a_revoked_login_at_once(
    hub: JupyterHubProcess, msal_emulator_module: Any
) -> None:
    emulator = msal_emulator_module
    token_url = hub.server_url(ALICE) + "jupyter-msal/token"
    alice = hub.user_token(ALICE)
    status, answer = _post(token_url, alice, {"scopes": [STORAGE]})
    assert status == 200 and answer["account"]["sign_in_method"] == "hub", answer

    emulator.revoke_refresh_tokens(ALICE)
    # her REST requests say sign in again: the first from the refusal, the next from the
    # hub service's answer that her login gives no tokens (which her server keeps)
    for scopes in ([GRAPH], [GRAPH]):
        status, answer = _post(token_url, alice, {"scopes": scopes})
        assert status == 401 and answer["error"] == "sign_in_required", answer
    with hub.open_kernel(ALICE) as kernel:
        cell = kernel.ok(
            "import jupyter_msal\n"
            "try:\n"
            f"    jupyter_msal.get_token({GRAPH!r}, sign_in=False)\n"
            "except jupyter_msal.errors.SignInRequired as err:\n"
            "    print(type(err).__name__, err)"
        )
        assert cell.stdout.startswith("SignInRequired"), cell.stdout

        hub.login(ALICE)  # she logs in to the hub again
        emulator.reset_counts()
        # the very next request: a token from the new hub login, no sign-in on her server
        who = kernel.eval(
            f"(lambda t: (t.account.username, t.account.sign_in_method))"
            f"(jupyter_msal.get_token({GRAPH!r}))"
        )
    assert who == [ALICE, "hub"]
    counts = emulator.counts
    assert counts["devicecode"] == 0 and counts["authorize"] == 0
    assert counts["grant:refresh_token"] == 1
    status, answer = _post(token_url, alice, {"scopes": [VAULT]})
    assert status == 200 and answer["account"]["sign_in_method"] == "hub", answer
    assert "Traceback" not in hub.log()


# -- the same rules without a hub: what the user server keeps -----------------------------------

ADA = Account(home_account_id="uid.tid", username="ada@contoso.com", tenant_id="tid")


class ScriptedLink(HubLink):
    """A :class:`HubLink` whose hub service answers from a script, counting the calls."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9/services/jupyter-msal/", "token")
        self.login_works = True
        self.refuse_tokens = False
        self.calls: list[str] = []

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        self.calls.append(path)
        if not self.login_works or (path == "api/token" and self.refuse_tokens):
            raise SignInRequired("the hub login of ada no longer gets tokens: AADSTS50173")
        if path == "api/account":
            return ADA.to_dict()
        return {"access_token": "hub-token", "expires_on": 2_000_000_000, "scopes": body["scopes"]}


class NoAccounts:
    """A user server that signed in to nothing itself."""

    def list(self) -> list[Account]:
        return []

    def find(self, selector: str) -> Account | None:
        return None


def test_a_kept_answer_never_ends_a_request_in_sign_in_again() -> None:
    link = ScriptedLink()
    routing = HubRouting(link, NoAccounts(), logging.getLogger("test"))  # type: ignore[arg-type]
    assert routing.token((STORAGE,), None, False, None) is not None
    link.login_works = False  # revoked
    with pytest.raises(SignInRequired, match="JupyterHub login cannot get this token"):
        routing.token((GRAPH,), None, False, None)
    # the service now says the login gives no tokens: the token service says "sign in"
    assert routing.token((GRAPH,), None, False, None) is None
    assert link.account() is None  # kept: listings and the status do not ask each time
    assert link.recent_refusal() is not None
    calls = len(link.calls)
    link.account()
    assert len(link.calls) == calls

    link.login_works = True  # logged in to the hub again
    assert routing.token((GRAPH,), None, False, None) is not None
    assert link.account() is not None and link.recent_refusal() is None


def test_a_refusal_for_one_resource_outlives_tokens_for_others() -> None:
    link = ScriptedLink()
    routing = HubRouting(link, NoAccounts(), logging.getLogger("test"))  # type: ignore[arg-type]
    link.refuse_tokens = True  # consent missing for one resource: the login itself works
    with pytest.raises(SignInRequired):
        routing.token((GRAPH,), None, False, None)
    link.refuse_tokens = False
    assert routing.token((VAULT,), None, False, None) is not None
    assert link.recent_refusal() is not None
    assert routing.token((GRAPH,), None, False, None) is not None
    assert link.recent_refusal() is None
