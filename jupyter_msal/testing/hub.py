"""A real JupyterHub with jupyter-msal, its proxy and Linux users, pointed at the emulator.

For offline tests of a hub deployment (ours use it)::

    with EntraEmulator() as emu:
        hub = JupyterHubProcess(emu, tmp_path, users=["msal-alice", "msal-bob"]).start()
        try:
            browser = hub.login("msal-alice")        # OAuthenticator's Entra ID login
            hub.spawn("msal-alice")
            with hub.open_kernel("msal-alice") as kernel:
                kernel.ok("%load_ext jupyter_msal")
        finally:
            hub.stop()

The hub logs users in with OAuthenticator's ``AzureAdOAuthenticator`` against the emulator
(a confidential client whose secret only the hub knows), or with JupyterHub's
``DummyAuthenticator`` (``authenticator="dummy"``: a login that is not Entra ID's), and calls
:func:`jupyter_msal.hub.enable`. Run as root, each user is a real Linux user (created when
missing) whose server ``LocalProcessSpawner`` starts as that user, from the Python
environment ``scripts/ensure-hub`` builds; otherwise ``SimpleLocalProcessSpawner`` starts
every server as the current user with separate homes. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .hub_config import HUB_CLIENT_ID, HUB_PYTHON_ENV_DEFAULT, config_text
from .server import free_port
from .waiting import wait_until

if TYPE_CHECKING:
    import requests

    from .emulator import EntraEmulator
    from .kernels import Kernel

__all__ = [
    "HUB_CLIENT_ID",
    "HUB_PYTHON_ENV",
    "JupyterHubProcess",
    "ensure_linux_user",
    "proxy_command",
]

#: Where ``scripts/ensure-hub`` builds the user servers' Python when run as root.
HUB_PYTHON_ENV = Path(os.environ.get("JUPYTER_MSAL_HUB_PYTHON", HUB_PYTHON_ENV_DEFAULT))
#: The repository root (for the proxy ``scripts/ensure-hub`` installs).
_ROOT = Path(__file__).resolve().parents[2]


def proxy_command() -> str:
    """The ``configurable-http-proxy`` that ``scripts/ensure-hub`` installs."""
    path = _ROOT / "tools" / "configurable-http-proxy" / "node_modules" / ".bin"
    found = path / "configurable-http-proxy"
    if found.exists():
        return str(found)
    on_path = shutil.which("configurable-http-proxy")
    if on_path:
        return on_path
    raise FileNotFoundError(
        "configurable-http-proxy is not installed: run scripts/ensure-hub (the test command does)"
    )


def ensure_linux_user(name: str) -> Path:
    """The home of Linux user ``name``, created first when missing (root only)."""
    try:
        return Path(pwd.getpwnam(name).pw_dir)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)
        return Path(pwd.getpwnam(name).pw_dir)


class JupyterHubProcess:
    """``python -m jupyterhub`` with jupyter-msal enabled, in a subprocess.

    Args:
        emulator: the Entra ID emulator users log in with (and get tokens from).
        workdir: the hub's database, config and log (kept between :meth:`restart` calls).
        users: the hub users (Linux users too when run as root).
        guests: more names allowed to log in who never get a server (no Linux user or home
            is made for them): many simulated users of the service, for benchmarks.
        authenticator: ``"azuread"`` (OAuthenticator against the emulator) or ``"dummy"``.
        user_environment: more variables for every user server.
        extra_config: Python lines appended to ``jupyterhub_config.py`` after ``enable(c)``.
    """

    def __init__(
        self,
        emulator: EntraEmulator,
        workdir: Path,
        *,
        users: Sequence[str],
        guests: Sequence[str] = (),
        authenticator: str = "azuread",
        user_environment: dict[str, str] | None = None,
        extra_config: str = "",
    ) -> None:
        self.emulator = emulator
        self.workdir = Path(workdir)
        self.users = list(users)
        self.guests = list(guests)
        self.authenticator = authenticator
        self.user_environment = dict(user_environment or {})
        self.extra_config = extra_config
        self.as_root = os.geteuid() == 0
        self.port = free_port()
        self.hub_port = free_port()
        self.proxy_api_port = free_port()
        self.service_port = free_port()
        self.admin_token = secrets.token_hex(24)
        self.client_secret = secrets.token_urlsafe(24)
        self.crypt_key = secrets.token_hex(32)
        self.cache_secret = secrets.token_hex(32)
        self.tenant_id = emulator.default_tenant_id
        # Readable by every user: the emulator's CA (the user servers trust it).
        self.shared = Path(tempfile.mkdtemp(prefix="jupyter-msal-hub-"))
        self.shared.chmod(0o755)
        self.ca_path = self.shared / "emulator-ca.pem"
        self.ca_path.write_bytes(emulator.ca_pem)
        self.ca_path.chmod(0o644)
        self.homes: dict[str, Path] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    # -- configuration ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The hub's public address (the proxy), ending in ``/``."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def authority(self) -> str:
        """The hub app's authority in the emulator."""
        return f"{self.emulator.url}/{self.tenant_id}"

    def create_users(self) -> dict[str, Path]:
        """The users' homes; as root, the Linux users are created first when missing."""
        for name in self.users:
            if self.as_root:
                self.homes[name] = ensure_linux_user(name)
            else:
                home = self.workdir / "homes" / name
                home.mkdir(parents=True, exist_ok=True)
                self.homes[name] = home
        return dict(self.homes)

    def _config(self) -> str:
        return config_text(self, proxy=proxy_command(), python_env=HUB_PYTHON_ENV)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, timeout: float = 90) -> JupyterHubProcess:
        """Register the hub's app in the emulator, write the config, start, wait for the API."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.create_users()
        self.emulator.client_secrets[HUB_CLIENT_ID] = self.client_secret
        config = self.workdir / "jupyterhub_config.py"
        config.write_text(self._config())
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("JUPYTER_MSAL_", "JUPYTERHUB_", "JPY_"))
        }
        env.update(
            JUPYTERHUB_CRYPT_KEY=self.crypt_key,
            CONFIGPROXY_AUTH_TOKEN=self.admin_token[:32],
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        )
        self._log = (self.workdir / "jupyterhub.log").open("ab")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=self.workdir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(
            lambda: self._api_ready(),
            timeout,
            message=lambda: f"JupyterHub did not start:\n{self.log()[-3000:]}",
        )
        return self

    def _api_ready(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"JupyterHub exited:\n{self.log()[-3000:]}")
        import urllib.error
        import urllib.request

        try:
            self.api("GET", "services")
            urllib.request.urlopen(f"{self.service_url}api/account", timeout=5)  # noqa: S310
        except urllib.error.HTTPError as err:
            return err.code == 401  # the jupyter-msal service answers: it wants a token
        except OSError:
            return False
        return True

    @property
    def service_url(self) -> str:
        """The jupyter-msal service's own address (what user servers call)."""
        return f"http://127.0.0.1:{self.service_port}/services/jupyter-msal/"

    def log(self) -> str:
        """The hub's log so far (the service logs there too)."""
        path = self.workdir / "jupyterhub.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, *, keep_servers: bool = False) -> None:
        """Stop the hub (and the proxy and the service); user servers too unless kept."""
        if not keep_servers and self._process is not None and self._process.poll() is None:
            for name in self.users:
                try:
                    self.api("DELETE", f"users/{name}/server")
                except OSError:
                    pass
            for name in self.users:
                try:
                    wait_until(lambda n=name: not self.server_running(n), 30)
                except (TimeoutError, OSError):
                    pass
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
            # the proxy and the service, should the hub have left them (user servers run in
            # sessions of their own)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signal.SIGTERM)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        """Stop the hub and its service and start them again; user servers keep running."""
        self.stop(keep_servers=True)
        self.start()

    def close(self) -> None:
        """:meth:`stop`, then remove the shared folder."""
        self.stop()
        shutil.rmtree(self.shared, ignore_errors=True)

    # -- the hub's API, as its admin --------------------------------------------------------

    def api(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        """Call ``/hub/api/<path>`` with the admin token; decoded JSON (HTTPError on 4xx/5xx)."""
        import urllib.request

        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - our own loopback hub
            f"{self.url}hub/api/{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.admin_token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            raw = answer.read()
        return json.loads(raw) if raw else None

    def user_model(self, name: str) -> dict[str, Any]:
        """The hub's model of ``name``, with its ``auth_state``."""
        return dict(self.api("GET", f"users/{name}"))

    def server_running(self, name: str) -> bool:
        """Whether ``name``'s default server is up."""
        server = self.user_model(name).get("servers", {}).get("")
        return bool(server and server.get("ready"))

    def spawn(self, name: str, timeout: float = 90) -> None:
        """Start ``name``'s default server and wait until it answers."""
        if not self.server_running(name):
            self.api("POST", f"users/{name}/server")
        wait_until(
            lambda: self.server_running(name),
            timeout,
            message=lambda: f"{name}'s server did not start:\n{self.log()[-4000:]}",
        )

    def user_token(self, name: str, scopes: Sequence[str] | None = None) -> str:
        """A new API token of ``name`` (their own servers and the jupyter-msal service)."""
        body: dict[str, Any] = {"note": "jupyter-msal tests", "expires_in": 3600}
        body["scopes"] = list(
            scopes or [f"access:servers!user={name}", "access:services!service=jupyter-msal"]
        )
        return str(self.api("POST", f"users/{name}/tokens", body)["token"])

    # -- users' side ----------------------------------------------------------------------------

    def login(self, name: str, session: requests.Session | None = None) -> requests.Session:
        """Log ``name`` in as a browser does; returns the session holding the hub's cookies.

        With the Entra ID login, the emulator signs ``name`` in at its authorize endpoint.
        """
        import requests

        browser = session or requests.Session()
        browser.verify = str(self.ca_path)
        browser.trust_env = False  # REQUESTS_CA_BUNDLE would replace the emulator's CA
        if self.authenticator == "azuread":
            self.emulator.auto_approve = name
            try:
                answer = browser.get(f"{self.url}hub/oauth_login", timeout=60)
            finally:
                self.emulator.auto_approve = None
        else:
            browser.get(f"{self.url}hub/login", timeout=30)
            answer = browser.post(
                f"{self.url}hub/login",
                data={
                    "username": name,
                    "password": self.admin_token,
                    "_xsrf": browser.cookies.get("_xsrf", ""),
                },
                timeout=60,
            )
        if answer.status_code != 200 or not browser.cookies.get("jupyterhub-session-id"):
            raise RuntimeError(f"login of {name} failed: HTTP {answer.status_code} {answer.url}")
        return browser

    def server_url(self, name: str) -> str:
        """``name``'s default server, through the proxy."""
        return f"{self.url}user/{name}/"

    def server_request(
        self, name: str, method: str, path: str, body: Any = None, token: str | None = None
    ) -> Any:
        """Call ``name``'s server with one of their API tokens; decoded JSON."""
        import urllib.request

        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - our own loopback hub
            self.server_url(name) + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {token or self.user_token(name)}"},
        )
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            raw = answer.read()
        return json.loads(raw) if raw else None

    @contextmanager
    def open_kernel(self, name: str) -> Iterator[Kernel]:
        """A kernel started through ``name``'s server (as that user), deleted afterwards."""
        from .kernels import server_kernel

        token = self.user_token(name)
        kid = self.server_request(name, "POST", "api/kernels", {"name": "python3"}, token)["id"]
        runtime = self.homes[name] / ".local" / "share" / "jupyter" / "runtime"
        with server_kernel(
            runtime / f"kernel-{kid}.json",
            kid,
            lambda: self.server_request(name, "DELETE", f"api/kernels/{kid}", token=token),
            timeout=60,
        ) as kernel:
            yield kernel
