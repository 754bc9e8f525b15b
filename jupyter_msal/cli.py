"""``jupyter msal status|accounts|login|token|logout|generate-key|demo``.

A :class:`~jupyter_core.application.JupyterApp` with one app per subcommand, as
``jupyter labextension`` is built: the ``JupyterMsal`` settings can be given as
``--JupyterMsal.<name>=<value>`` or in config files (``jupyter_msal_config.py``,
``jupyter_server_config.py``), and ``--help-all`` lists them.

In a terminal opened from Jupyter the commands talk to the running server (its URL and secret
are in the environment, and its settings apply); in a plain shell they run the token service
in-process on this command's settings and the same cache file ("direct mode").

``jupyter msal token --scope S`` prints only the token, so ``$(jupyter msal token --scope S)``
works; everything else (prompts, errors) goes to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, ClassVar

from jupyter_core.application import NoStart, base_aliases, base_flags
from traitlets import Bool, Enum, Int, List, Unicode

from .config_files import JupyterMsalConfigApp
from .errors import AccountNotNamed, BadRequest, JupyterMsalError, SignInRequired
from .terminal_prompt import wait_in_terminal

__all__ = ["MsalApp", "main"]


def _clients() -> Any:
    """The clients' module (``get_client``, ``reset_client``, ``DirectClient``)."""
    from . import client

    return client


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _wait_for_sign_in(client: Any, flow: dict[str, Any]) -> None:
    """Show the sign-in prompt on stderr and wait; Ctrl+C cancels the sign-in (exit 130)."""
    err = sys.stderr
    try:
        account = wait_in_terminal(client, flow, err=err)
    except KeyboardInterrupt:
        err.write("Sign-in cancelled.\n")
        raise SystemExit(130) from None
    err.write(f"Signed in as {account.username or account.home_account_id}.\n")


def _flag(app: str, trait: str, value: bool, help: str) -> tuple[dict[str, Any], str]:
    """A command-line flag that sets ``<app>.<trait>`` to ``value``."""
    return {app: {trait: value}}, help


# ---------------------------------------------------------------------------------------------
# The base classes


class MsalBaseApp(JupyterMsalConfigApp):
    """What every ``jupyter msal`` subcommand shares: Jupyter's config, arguments, ``run``."""

    #: The subcommand, as messages name it (``jupyter msal <command>: ...``).
    command: ClassVar[str] = ""
    #: How many positional arguments the subcommand takes (``None``: any number).
    max_arguments: ClassVar[int | None] = 0

    aliases = dict(base_aliases)
    flags = dict(base_flags)

    def start(self) -> None:
        """Run the subcommand (``--generate-config`` writes the config file instead)."""
        super().start()
        if self.max_arguments is not None and len(self.extra_args) > self.max_arguments:
            raise BadRequest(f"unexpected argument {self.extra_args[self.max_arguments]!r}")
        self.run()

    def run(self) -> None:
        """What the subcommand does."""
        raise NotImplementedError


class _ClientApp(MsalBaseApp):
    """A subcommand that talks to the token service."""

    _client: Any = None

    def client(self) -> Any:
        """The running server's client, or a direct-mode client on this command's settings."""
        if self._client is None:
            clients = _clients()
            self._client = clients.get_client()
            if self._client.mode == "direct":
                self._client = clients.DirectClient(settings=self.msal_settings())
                clients.reset_client(self._client)
        return self._client

    def start(self) -> None:
        """Run, then close the client (direct mode flushes and unlocks the cache)."""
        try:
            super().start()
        finally:
            if self._client is not None:
                _clients().reset_client()


class _ScopesApp(_ClientApp):
    """A subcommand that takes scopes: ``--scope S`` (repeatable) and positional arguments."""

    max_arguments = None

    scopes = List(
        Unicode(),
        help="A scope to ask for (repeatable: --scope A --scope B); positional arguments are "
        "scopes too.",
    ).tag(config=True)

    def requested_scopes(self) -> list[str]:
        """``--scope`` values, then positional arguments."""
        return [*self.scopes, *self.extra_args]


# ---------------------------------------------------------------------------------------------
# The subcommands


class MsalStatusApp(_ClientApp):
    """``jupyter msal status``."""

    command = "status"
    description = """Show the configuration in effect, the cache, the broker and the accounts.

    jupyter msal status [--json]

    In a terminal opened from Jupyter this is the running server's status; elsewhere that of
    direct mode, on this command's configuration."""

    as_json = Bool(False, help="Print the status document as JSON.").tag(config=True)
    flags = {**base_flags, "json": _flag("MsalStatusApp", "as_json", True, "Print JSON.")}

    def run(self) -> None:
        """Print the effective non-secret configuration, cache and accounts."""
        client = self.client()
        status = client.status()
        status["client_mode"] = client.mode
        if self.as_json:
            _print_json(status)
            return
        cfg, cache = status["config"], status["cache"]
        protection = f"encrypted: {cache['encryption']}" if cache["encrypted"] else "NOT encrypted"
        broker = status["broker"]
        broker_text = "available" if broker["available"] else f"unavailable: {broker['reason']}"
        usernames = ", ".join(a["username"] for a in status["accounts"])
        lines = [
            f"jupyter-msal {status.get('version')} ({client.mode} mode, {status['mode']})",
            f"  authority:   {cfg.get('oidc_authority') or cfg.get('authority')}",
            f"  client id:   {cfg.get('client_id')}",
            f"  cache:       {cache['path']} ({protection})",
            f"  broker:      {broker_text}",
            f"  region:      {status['region']['note']}",
            f"  accounts:    {usernames or '(nobody signed in)'}",
        ]
        lines += [f"  warning:     {w}" for w in status.get("warnings", [])]
        lines.append("  settings (secrets only as set / not set):")
        lines += [f"    {name} = {json.dumps(value)}" for name, value in sorted(cfg.items())]
        sys.stdout.write("\n".join(lines) + "\n")


class MsalAccountsApp(_ClientApp):
    """``jupyter msal accounts``."""

    command = "accounts"
    description = """List the signed-in accounts (username, tenant, authority).

    jupyter msal accounts [--json]"""

    as_json = Bool(False, help="Print the accounts as JSON.").tag(config=True)
    flags = {**base_flags, "json": _flag("MsalAccountsApp", "as_json", True, "Print JSON.")}

    def run(self) -> None:
        """List signed-in accounts."""
        accounts = self.client().accounts()
        if self.as_json:
            _print_json([a.to_dict() for a in accounts])
        elif not accounts:
            sys.stderr.write("Nobody is signed in. Run: jupyter msal login\n")
        else:
            for a in accounts:
                sys.stdout.write(f"{a.username}\t{a.tenant_id}\t{a.authority}\n")


class MsalLoginApp(_ScopesApp):
    """``jupyter msal login``."""

    command = "login"
    description = """Sign in (device code, or the OS broker).

    jupyter msal login [SCOPE ...] [--scope SCOPE ...]
                       [--method auto|device_code|auth_code|broker]

    The scopes are consented to while signing in. The prompt goes to stderr; Ctrl+C cancels.
    Signing in in the browser (auth_code), paste the address the browser ended on when it
    shows an error page instead of "Signed in"."""

    method = Enum(
        ["auto", "device_code", "auth_code", "broker"],
        default_value="auto",
        help="How to sign in: 'auto' (the server chooses), 'device_code', 'auth_code' (in the "
        "browser) or 'broker'.",
    ).tag(config=True)
    aliases = {
        **base_aliases,
        ("s", "scope"): "MsalLoginApp.scopes",
        "method": "MsalLoginApp.method",
    }

    def run(self) -> None:
        """Sign in interactively."""
        client = self.client()
        _wait_for_sign_in(client, client.start_sign_in(self.method, self.requested_scopes()))


class MsalTokenApp(_ScopesApp):
    """``jupyter msal token``."""

    command = "token"
    description = """Print an access token: only the token and a newline on stdout.

    jupyter msal token [SCOPE ...] [--scope SCOPE ...] [--account USER] [--force-refresh]
                       [--claims JSON] [--no-sign-in] [--json]

    Without scopes, JupyterMsal.default_scopes. When nobody is signed in, it signs in first if
    stdin is a terminal (the prompt goes to stderr); otherwise, or with --no-sign-in, it fails
    with "Sign in first"."""

    account = Unicode(
        None, allow_none=True, help="The account (username or home_account_id) to use."
    ).tag(config=True)
    force_refresh = Bool(False, help="Skip cached tokens: ask the identity provider.").tag(
        config=True
    )
    claims = Unicode(
        None, allow_none=True, help="A claims challenge (JSON) from a resource to satisfy."
    ).tag(config=True)
    sign_in = Bool(
        True, help="Sign in when needed and stdin is a terminal (else fail with 'Sign in first')."
    ).tag(config=True)
    as_json = Bool(
        False,
        help="Print the token, its expiry and its scopes as JSON: access_token, "
        "expires_on, scopes.",
    ).tag(config=True)

    aliases = {
        **base_aliases,
        ("s", "scope"): "MsalTokenApp.scopes",
        ("a", "account"): "MsalTokenApp.account",
        "claims": "MsalTokenApp.claims",
    }
    flags = {
        **base_flags,
        "force-refresh": _flag("MsalTokenApp", "force_refresh", True, "Skip cached tokens."),
        "no-sign-in": _flag(
            "MsalTokenApp", "sign_in", False, "Fail instead of signing in when needed."
        ),
        "json": _flag("MsalTokenApp", "as_json", True, "Print token, expiry and scopes as JSON."),
    }

    def run(self) -> None:
        """Print an access token, signing in first when needed and allowed."""
        client = self.client()
        scopes = self.requested_scopes()
        try:
            token = client.token(scopes, self.account, self.force_refresh, self.claims)
        except SignInRequired:
            if not self.sign_in or not sys.stdin.isatty():
                raise
            _wait_for_sign_in(client, client.start_sign_in("auto", scopes, self.claims))
            token = client.token(scopes, self.account, self.force_refresh, self.claims)
        if self.as_json:
            _print_json(
                {
                    "access_token": str(token),
                    "expires_on": int(token.expires_on),
                    "scopes": list(token.scopes),
                }
            )
        else:
            sys.stdout.write(str(token) + "\n")


class MsalLogoutApp(_ClientApp):
    """``jupyter msal logout``."""

    command = "logout"
    description = """Sign out of one account, or all; removes their tokens from the cache.

    jupyter msal logout [USER] [--all]"""

    max_arguments = 1
    all_accounts = Bool(False, help="Sign out of every account.").tag(config=True)
    flags = {
        **base_flags,
        "all": _flag("MsalLogoutApp", "all_accounts", True, "Sign out of every account."),
    }

    def run(self) -> None:
        """Sign out of the account named, or of all with ``--all``."""
        account = self.extra_args[0] if self.extra_args else None
        if not self.all_accounts and not account:
            raise AccountNotNamed("Name the account to sign out of, or pass --all.")
        removed = self.client().sign_out(account, all_accounts=self.all_accounts)
        for a in removed:
            sys.stderr.write(f"Signed out {a.username}.\n")
        if not removed:
            sys.stderr.write("Nobody was signed in.\n")


class MsalGenerateKeyApp(MsalBaseApp):
    """``jupyter msal generate-key``."""

    command = "generate-key"
    description = """Print a new random key for JupyterMsal.cache_key / JUPYTER_MSAL_CACHE_KEY.

    jupyter msal generate-key"""

    def run(self) -> None:
        """Print a new cache encryption key."""
        from .cache import generate_key

        sys.stdout.write(generate_key() + "\n")


class MsalDemoApp(MsalBaseApp):
    """``jupyter msal demo``."""

    command = "demo"
    description = """Start Jupyter against the bundled Entra ID emulator (offline, no tenant).

    jupyter msal demo [--app lab|notebook|server] [--port 8888] [-- more jupyter arguments]"""

    max_arguments = None
    jupyter_app = Enum(
        ["lab", "notebook", "server"], default_value="lab", help="The Jupyter app to start."
    ).tag(config=True)
    port = Int(8888, help="The port Jupyter listens on.").tag(config=True)
    aliases = {**base_aliases, "app": "MsalDemoApp.jupyter_app", "port": "MsalDemoApp.port"}

    def run(self) -> None:
        """Run the emulator and Jupyter until Jupyter stops; exit with Jupyter's status."""
        from .demo import run_demo

        status = run_demo(
            app=self.jupyter_app, port=self.port, extra=self.extra_args, err=sys.stderr
        )
        if status:
            self.exit(status)


_SUBCOMMANDS: list[type[MsalBaseApp]] = [
    MsalStatusApp,
    MsalAccountsApp,
    MsalLoginApp,
    MsalTokenApp,
    MsalLogoutApp,
    MsalGenerateKeyApp,
    MsalDemoApp,
]


class MsalApp(JupyterMsalConfigApp):
    """``jupyter msal``: runs one of its subcommands."""

    description = """Microsoft Entra ID sign-in and tokens for Jupyter.

    In a terminal opened from Jupyter the commands use the running server; elsewhere they run
    the token service themselves ("direct mode") on the same configuration and cache file.
    Settings: --JupyterMsal.<name>=<value> after the command, config files or JUPYTER_MSAL_*
    variables (jupyter msal --help-all lists them)."""
    examples = """
    jupyter msal login
    jupyter msal token --scope https://management.azure.com/.default
    jupyter msal status --JupyterMsal.authority=https://login.microsoftonline.com/contoso.com
    """

    subcommands = {app.command: (app, app.description.splitlines()[0]) for app in _SUBCOMMANDS}

    def start(self) -> None:
        """Run the subcommand given (the base class raises ``NoStart`` after it)."""
        super().start()
        self.exit(f"jupyter msal: name a command: {', '.join(self.subcommands)}")


def _exit_status(code: object) -> int:
    """What ``sys.exit(code)`` would make the exit status (a message goes to stderr)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``jupyter-msal`` (``jupyter msal``); returns the exit status.

    A :class:`~jupyter_msal.errors.JupyterMsalError` exits 1 with one line on stderr,
    ``jupyter msal <command>: <message>``; Ctrl+C exits 130.
    """
    app = MsalApp()
    try:
        app.initialize(None if argv is None else list(argv))
        app.start()
    except NoStart:
        return 0
    except SystemExit as exc:
        return _exit_status(exc.code)
    except JupyterMsalError as exc:
        command = app.subapp.command if isinstance(app.subapp, MsalBaseApp) else ""
        sys.stderr.write(" ".join(filter(None, ["jupyter msal", command])) + f": {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if app.subapp is not None:
            type(app.subapp).clear_instance()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
