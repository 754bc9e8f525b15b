"""``jupyter_msal.hub.enable(c)`` on a traitlets config, and the hub service's routing of
auth-code answers by state (pure logic; tests/hub runs both on a real JupyterHub)."""

from __future__ import annotations

import sys
import time
from typing import Any

import pytest
from traitlets.config import Config, LazyConfigValue

import jupyter_msal.hub
from jupyter_msal.errors import BadRequest, TooManySignIns
from jupyter_msal.hub.states import StateRoutes
from jupyter_msal.hub.tokens import account_from_auth_state

ACCESS = "access:services!service=jupyter-msal"
TENANT = "8d0e1f7a-5c3b-4e2d-9a61-0c0ffee0e1d0"


def _entra_login(c: Config) -> Config:
    c.Authenticator.enable_auth_state = True
    c.AzureAdOAuthenticator.client_id = "hub-app"
    c.AzureAdOAuthenticator.client_secret = "hub-secret"
    c.AzureAdOAuthenticator.tenant_id = TENANT
    return c


def _value(value: Any, initial: Any) -> Any:
    """A setting as the hub will load it: lazy additions applied to the trait's default."""
    return value.get_value(initial) if isinstance(value, LazyConfigValue) else value


def _service(c: Config) -> dict:
    services = _value(c.JupyterHub.services, [])
    (service,) = [s for s in services if s["name"] == "jupyter-msal"]
    return service


def test_enable_registers_the_service_its_role_and_the_user_servers_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("JUPYTER_MSAL_CA_BUNDLE", raising=False)
    c = _entra_login(Config())
    jupyter_msal.hub.enable(c, public_url="https://hub.contoso.com/")
    service = _service(c)
    assert service["command"] == [sys.executable, "-m", "jupyter_msal.hub"]
    assert service["url"] == "http://127.0.0.1:10101" and service["display"] is False
    env = service["environment"]
    assert env["JUPYTER_MSAL_CLIENT_ID"] == "hub-app"
    assert env["JUPYTER_MSAL_CLIENT_SECRET"] == "hub-secret"
    assert env["JUPYTER_MSAL_AUTHORITY"] == f"https://login.microsoftonline.com/{TENANT}"
    roles = {r["name"]: r for r in _value(c.JupyterHub.load_roles, [])}
    assert roles["jupyter-msal-service"]["services"] == ["jupyter-msal"]
    assert set(roles["jupyter-msal-service"]["scopes"]) == {
        "read:users",
        "admin:auth_state",
        "admin:users",
    }
    assert roles["user"]["scopes"] == ["self", ACCESS]
    assert ACCESS in c.Spawner.server_token_scopes
    assert "access:servers!server" in c.Spawner.server_token_scopes
    # user servers learn where the service is and the hub's one redirect URI; never a secret
    assert _value(c.Spawner.environment, {}) == {
        "JUPYTER_MSAL_HUB_SERVICE_URL": "http://127.0.0.1:10101/services/jupyter-msal/",
        "JUPYTER_MSAL_REDIRECT_URI": "https://hub.contoso.com/services/jupyter-msal/redirect",
    }


def test_enable_extends_what_the_admin_configured() -> None:
    c = _entra_login(Config())
    c.JupyterHub.base_url = "/jupyter/"
    c.JupyterHub.public_url = "https://hub.contoso.com/jupyter/"  # only its origin counts
    c.JupyterHub.services = [{"name": "idle-culler", "command": ["cull"]}]
    c.JupyterHub.load_roles = [{"name": "user", "scopes": ["self", "read:groups"]}]
    c.Spawner.environment = {"JUPYTER_MSAL_CACHE_KEY": lambda spawner: spawner.user.name}
    c.Spawner.server_token_scopes = ["users:activity!user"]
    c.AzureAdOAuthenticator.token_url = f"https://login.contoso.cn/{TENANT}/oauth2/v2.0/token"
    jupyter_msal.hub.enable(c, port=12345, settings={"ca_bundle": "/etc/ca.pem", "http_timeout": 9})
    assert [s["name"] for s in c.JupyterHub.services] == ["idle-culler", "jupyter-msal"]
    service = _service(c)
    assert service["environment"]["JUPYTER_MSAL_AUTHORITY"] == f"https://login.contoso.cn/{TENANT}"
    assert service["environment"]["JUPYTER_MSAL_CA_BUNDLE"] == "/etc/ca.pem"
    assert service["environment"]["JUPYTER_MSAL_HTTP_TIMEOUT"] == "9"
    user = next(r for r in c.JupyterHub.load_roles if r["name"] == "user")
    assert user["scopes"] == ["self", "read:groups", ACCESS]
    assert c.Spawner.server_token_scopes == ["users:activity!user", ACCESS]
    env = c.Spawner.environment
    assert callable(env["JUPYTER_MSAL_CACHE_KEY"])  # kept
    assert env["JUPYTER_MSAL_HUB_SERVICE_URL"] == (
        "http://127.0.0.1:12345/jupyter/services/jupyter-msal/"
    )
    assert env["JUPYTER_MSAL_REDIRECT_URI"] == (
        "https://hub.contoso.com/jupyter/services/jupyter-msal/redirect"
    )


def test_enable_without_an_entra_app_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET", "JUPYTER_MSAL_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    c = Config()
    c.Authenticator.enable_auth_state = True
    with pytest.raises(ValueError, match=r"c\.AzureAdOAuthenticator\.client_id"):
        jupyter_msal.hub.enable(c)


def test_enable_warns_when_auth_state_is_off() -> None:
    c = _entra_login(Config())
    c.Authenticator.enable_auth_state = False
    with pytest.warns(UserWarning, match="enable_auth_state"):
        jupyter_msal.hub.enable(c, user_url="http://proxy-public/services/jupyter-msal/")
    env = _value(c.Spawner.environment, {})
    assert env["JUPYTER_MSAL_HUB_SERVICE_URL"] == "http://proxy-public/services/jupyter-msal/"
    assert "JUPYTER_MSAL_REDIRECT_URI" not in env  # no public URL: no hub redirect


def test_enable_returns_what_it_added_as_zero_to_jupyterhub_values(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import json
    import logging

    import yaml

    monkeypatch.delenv("JUPYTER_MSAL_CA_BUNDLE", raising=False)
    c = _entra_login(Config())
    c.JupyterHub.load_roles = [{"name": "user", "scopes": ["self", "read:groups"]}]
    with caplog.at_level(logging.DEBUG, logger="jupyter_msal.hub"):
        added = jupyter_msal.hub.enable(c, public_url="https://hub.contoso.com/")
    service = {k: v for k, v in _service(c).items() if k != "name"}
    assert added == {
        "hub": {
            "services": {"jupyter-msal": service},
            "loadRoles": {
                "jupyter-msal-service": {
                    "description": added["hub"]["loadRoles"]["jupyter-msal-service"]["description"],
                    "scopes": ["read:users", "admin:auth_state", "admin:users"],
                    "services": ["jupyter-msal"],
                },
                "user": {"scopes": ["self", "read:groups", ACCESS]},
            },
            "config": {
                "Spawner": {
                    "server_token_scopes": ["users:activity!user", "access:servers!server", ACCESS]
                }
            },
        },
        "singleuser": {
            "extraEnv": {
                "JUPYTER_MSAL_HUB_SERVICE_URL": "http://127.0.0.1:10101/services/jupyter-msal/",
                "JUPYTER_MSAL_REDIRECT_URI": (
                    "https://hub.contoso.com/services/jupyter-msal/redirect"
                ),
            }
        },
    }
    # plain data: it goes into values.yaml as it is
    assert yaml.safe_load(yaml.safe_dump(added)) == added
    assert json.loads(json.dumps(added)) == added
    # logged at debug level, without the hub app's secret
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)
    assert "jupyter-msal-service" in logged and "JUPYTER_MSAL_HUB_SERVICE_URL" in logged
    assert "hub-secret" not in logged and "<redacted>" in logged


def test_enable_reports_the_lazy_additions_too() -> None:
    """Nothing configured yet (the additions are lazy): the report says what the hub will
    load."""
    c = _entra_login(Config())
    added = jupyter_msal.hub.enable(c, url="http://hub:10101", user_url="http://proxy/x/")
    assert added["hub"]["loadRoles"]["user"] == {"scopes": ["self", ACCESS]}
    assert added["hub"]["services"]["jupyter-msal"]["url"] == "http://hub:10101"
    assert added["singleuser"]["extraEnv"] == {"JUPYTER_MSAL_HUB_SERVICE_URL": "http://proxy/x/"}
    assert _value(c.JupyterHub.load_roles, [])[-1] == {"name": "user", "scopes": ["self", ACCESS]}


STATE = "AbCdEfGhIjKlMnOp"


def test_a_state_routes_one_answer_to_its_own_users_server() -> None:
    routes = StateRoutes("/")
    routes.register("alice", STATE, "/user/alice/jupyter-msal/redirect")
    routes.register("alice", STATE + "x", "/user/alice/gpu/jupyter-msal/redirect")
    assert routes.take(STATE) == ("alice", "/user/alice/jupyter-msal/redirect")
    assert routes.take(STATE) is None  # one use
    assert routes.take("NoSuchStateAtAll1") is None


@pytest.mark.parametrize(
    "path",
    [
        "/user/bob/jupyter-msal/redirect",  # another user's server
        "/user/alice/../bob/jupyter-msal/redirect",
        "/user/alice/./jupyter-msal/redirect",
        "//evil.example.com/user/alice/jupyter-msal/redirect",
        "https://evil.example.com/user/alice/jupyter-msal/redirect",
        "/user/alice/jupyter-msal/redirect?next=https://evil.example.com",
        "/user/alice/a/b/jupyter-msal/redirect",
        "/hub/home",
    ],
)
def test_a_state_only_routes_to_the_callers_own_servers(path: str) -> None:
    with pytest.raises(BadRequest, match="redirect_path"):
        StateRoutes("/").register("alice", STATE, path)


def test_states_are_checked_limited_and_expire() -> None:
    routes = StateRoutes("/jupyter/", lifetime=60, per_user=2)
    path = "/jupyter/user/a%20b@contoso.com/jupyter-msal/redirect"
    for bad in ("short", "has spaces in it!!", "x" * 300):
        with pytest.raises(BadRequest, match="state"):
            routes.register("a b@contoso.com", bad, path)
    routes.register("a b@contoso.com", STATE, path)
    with pytest.raises(BadRequest, match="already registered"):
        routes.register("a b@contoso.com", STATE, path)
    routes.register("a b@contoso.com", STATE + "2", path)
    with pytest.raises(TooManySignIns):
        routes.register("a b@contoso.com", STATE + "3", path)
    expiring = StateRoutes("/", lifetime=0.01)
    expiring.register("alice", STATE, "/user/alice/jupyter-msal/redirect")
    time.sleep(0.05)
    assert expiring.take(STATE) is None


def test_the_hub_logins_account_comes_from_auth_state() -> None:
    claims = {"oid": "o-1", "tid": TENANT, "preferred_username": "alice@contoso.com"}
    state = {"refresh_token": "rt", "user": claims}
    account = account_from_auth_state(state, f"https://login.microsoftonline.com/{TENANT}")
    assert account is not None
    assert account.home_account_id == f"o-1.{TENANT}"
    assert account.username == "alice@contoso.com" and account.sign_in_method == "hub"
    assert account.environment == "login.microsoftonline.com"
    assert account_from_auth_state({**state, "refresh_token": None}) is None  # no offline_access
    assert account_from_auth_state({"refresh_token": "rt", "user": {"sub": "x"}}) is None
    assert account_from_auth_state(None) is None


def test_enable_in_a_config_folder_file_keeps_what_other_files_set() -> None:
    """TLJH loads each file of its config folder into a new config and merges it: lazy
    additions keep the services, roles and environment other files configured."""
    base = Config()
    base.JupyterHub.services = [{"name": "cull-idle", "command": ["cull"]}]
    base.Spawner.environment = {"TZ": "UTC"}
    piece = _entra_login(Config())
    jupyter_msal.hub.enable(piece, url="http://hub:10101", bind_url="http://0.0.0.0:10101")
    base.merge(piece)
    assert [s["name"] for s in base.JupyterHub.services] == ["cull-idle", "jupyter-msal"]
    assert base.Spawner.environment["TZ"] == "UTC"
    url = "http://hub:10101/services/jupyter-msal/"
    assert base.Spawner.environment["JUPYTER_MSAL_HUB_SERVICE_URL"] == url
    service = _service(base)
    assert service["url"] == "http://hub:10101"
    assert service["environment"]["JUPYTER_MSAL_HUB_BIND_URL"] == "http://0.0.0.0:10101"
    # a spawner section of its own (Zero to JupyterHub's KubeSpawner) gets the variables too
    chart = _entra_login(Config())
    chart.KubeSpawner.environment = {"FROM": "chart"}
    jupyter_msal.hub.enable(chart)
    assert chart.KubeSpawner.environment["JUPYTER_MSAL_HUB_SERVICE_URL"].endswith(
        "/services/jupyter-msal/"
    )


def test_the_service_started_by_hand_says_who_starts_it() -> None:
    import subprocess

    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("JUPYTERHUB_")}
    run = subprocess.run(
        [sys.executable, "-m", "jupyter_msal.hub"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "jupyter_msal.hub.enable(c)" in run.stderr and "Traceback" not in run.stderr


def test_hub_api_calls_run_on_the_event_loop_and_say_what_failed() -> None:
    """The service's JupyterHub API calls (tornado's AsyncHTTPClient), from a coroutine and
    from a worker thread, against a stand-in of the hub's users API on loopback."""
    import asyncio
    import json

    from tornado import web
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets

    from jupyter_msal.errors import HubApiError
    from jupyter_msal.hub.hub_api import HubApi, HubApiFromThreads

    seen: dict[str, Any] = {}

    class Users(web.RequestHandler):
        def get(self, name: str) -> None:
            if name in ("nobody", "locked"):
                raise web.HTTPError(404 if name == "nobody" else 403)
            seen["authorization"] = self.request.headers["Authorization"]
            self.finish({"name": name, "auth_state": {"refresh_token": f"rt-{name}"}})

        def patch(self, name: str) -> None:
            seen["saved"] = (name, json.loads(self.request.body))
            self.finish({"name": name})

    async def main() -> None:
        sockets = bind_sockets(0, "127.0.0.1")
        server = HTTPServer(web.Application([(r"/hub/api/users/([^/]+)", Users)]))
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        api = HubApi(f"http://127.0.0.1:{port}/hub/api", "service-token", timeout=5)
        bridge = HubApiFromThreads(api, asyncio.get_running_loop())
        try:
            assert await api.auth_state("a b@contoso.com") == {
                "refresh_token": "rt-a b@contoso.com"
            }
            assert seen["authorization"] == "token service-token"
            assert await api.auth_state("nobody") is None  # no such user
            with pytest.raises(HubApiError, match="HTTP 403") as refused:
                await api.auth_state("locked")
            assert "admin:auth_state" in (refused.value.hint or "")
            # from a worker thread, as the token logic calls it
            state = await asyncio.to_thread(bridge.auth_state, "alice")
            await asyncio.to_thread(bridge.save_auth_state, "alice", {"refresh_token": "new"})
            assert state == {"refresh_token": "rt-alice"}
            assert seen["saved"] == ("alice", {"auth_state": {"refresh_token": "new"}})
        finally:
            server.stop()
        closed = HubApi(f"http://127.0.0.1:{port}/hub/api", "t", timeout=5)
        with pytest.raises(HubApiError, match="did not answer"):
            await closed.auth_state("alice")

    asyncio.run(main())
