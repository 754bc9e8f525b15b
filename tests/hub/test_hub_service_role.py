"""The hub service's role, checked on a real JupyterHub.

* Writing ``auth_state`` back (``PATCH /users/:name``) needs ``admin:users`` itself: tokens
  holding every narrower scope, even all of its subscopes, are refused. That is why
  ``enable(c)`` gives the service ``admin:users`` (docs/security.md says what it allows).
* JupyterHub lets only admins change an admin user, so the service cannot store an admin's
  rotated refresh token: an admin's hub login still gives tokens (the rotated token is kept in
  the service's memory).
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from typing import Any

import pytest

from jupyter_msal.hub import SERVICE_SCOPES
from jupyter_msal.testing.hub import JupyterHubProcess

CAROL = "msal-carol"  # a hub admin who logs in with Entra ID
TARGET = "msal-role-target"  # a hub user without a server
ADMIN = "msal-role-admin"  # a hub admin without a server
STORAGE = "https://storage.azure.com/.default"
#: Test services holding these scopes, each asked to write a user's auth_state.
PROBES: dict[str, list[str]] = {
    "probe-read": ["read:users", "admin:auth_state"],
    "probe-users": ["users", "admin:auth_state"],
    "probe-subscopes": ["users", "admin:auth_state", "delete:users", "read:roles:users"],
    "probe-admin-users": ["admin:users"],
    "probe-service-role": list(SERVICE_SCOPES),
}
TOKENS = {name: secrets.token_hex(16) for name in PROBES}


def _probe_config() -> str:
    lines = []
    for name, scopes in PROBES.items():
        lines.append(
            f"c.JupyterHub.services.append({{'name': {name!r}, 'api_token': {TOKENS[name]!r}}})"
        )
        lines.append(
            "c.JupyterHub.load_roles.append("
            f"{{'name': {name!r}, 'scopes': {scopes!r}, 'services': [{name!r}]}})"
        )
    lines.append(f"c.Authenticator.admin_users = {{{CAROL!r}, {ADMIN!r}}}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def hub(msal_emulator_module: Any, hub_factory: Any) -> JupyterHubProcess:
    msal_emulator_module.refresh_token_single_use = True
    hub = hub_factory(users=[CAROL], extra_config=_probe_config())
    hub.api("POST", f"users/{TARGET}")
    return hub


def _request(url: str, token: str, method: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def test_only_admin_users_writes_auth_state_back(hub: JupyterHubProcess) -> None:
    url = f"{hub.url}hub/api/users/{TARGET}"
    written = {}
    for name in PROBES:
        state = {"refresh_token": f"RT-from-{name}"}
        status, _ = _request(url, TOKENS[name], "PATCH", {"auth_state": state})
        written[name] = status
    assert written == {
        "probe-read": 403,
        "probe-users": 403,
        "probe-subscopes": 403,
        "probe-admin-users": 200,
        "probe-service-role": 200,
    }
    # reading it needs admin:auth_state only
    status, model = _request(url, TOKENS["probe-read"], "GET")
    assert status == 200 and model["auth_state"] == {"refresh_token": "RT-from-probe-service-role"}


def test_the_service_role_cannot_change_admins_but_can_delete_them(hub: JupyterHubProcess) -> None:
    url = f"{hub.url}hub/api/users/{CAROL}"
    token = TOKENS["probe-service-role"]
    status, answer = _request(url, token, "PATCH", {"auth_state": {"refresh_token": "planted"}})
    assert status == 403 and "Only admins can modify other admins" in answer
    status, answer = _request(f"{hub.url}hub/api/users/{TARGET}", token, "PATCH", {"admin": True})
    assert status == 403 and "Only admins can grant admin permissions" in answer
    # deleting is another matter: JupyterHub checks delete:users only, admins included
    status, _ = _request(f"{hub.url}hub/api/users/{ADMIN}", token, "DELETE")
    assert status == 204
    assert ADMIN not in [u["name"] for u in hub.api("GET", "users")]


def test_an_admins_hub_login_gives_tokens(
    hub: JupyterHubProcess, msal_emulator_module: Any
) -> None:
    hub.login(CAROL)
    hub.spawn(CAROL)
    assert hub.user_model(CAROL)["admin"] is True
    stored = hub.user_model(CAROL)["auth_state"]["refresh_token"]
    status, answer = _request(
        hub.server_url(CAROL) + "jupyter-msal/token",
        hub.user_token(CAROL),
        "POST",
        {"scopes": [STORAGE]},
    )
    assert status == 200 and answer["account"]["sign_in_method"] == "hub", answer
    # the rotated refresh token could not be written back: kept in the service's memory
    assert hub.user_model(CAROL)["auth_state"]["refresh_token"] == stored
    assert "kept in memory only" in hub.log()
    msal_emulator_module.reset_counts()
    status, answer = _request(
        hub.server_url(CAROL) + "jupyter-msal/token",
        hub.user_token(CAROL),
        "POST",
        {"scopes": ["https://vault.azure.net/.default"]},
    )
    assert status == 200, answer
    assert msal_emulator_module.counts["grant:refresh_token"] == 1  # the rotated one works
