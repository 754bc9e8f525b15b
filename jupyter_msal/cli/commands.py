"""The subcommands of ``jupyter msal``: one app each."""

from __future__ import annotations

import json
import sys

from jupyter_core.application import base_aliases, base_flags
from traitlets import Bool, Enum, Int, Unicode

from ..errors import AccountNotNamed, SignInRequired
from ..models import SignInMethod
from .base import ClientApp, MsalBaseApp, ScopesApp, flag, print_json, wait_for_sign_in

__all__ = ["SUBCOMMANDS"]



class MsalStatusApp(ClientApp):
    """``jupyter msal status``."""

    command = "status"
    description = """Show the configuration in effect, the cache, the broker and the accounts.

    jupyter msal status [--json]

    In a terminal opened from Jupyter this is the running server's status; elsewhere that of
    direct mode, on this command's configuration."""

    as_json = Bool(False, help="Print the status document as JSON.").tag(config=True)
    flags = {**base_flags, "json": flag("MsalStatusApp", "as_json", True, "Print JSON.")}

    def run(self) -> None:
        """Print the effective non-secret configuration, cache and accounts."""
        client = self.client()
        status = client.status()
        status["client_mode"] = client.mode
        if self.as_json:
            print_json(status)
            return
        cfg, cache = status["config"], status["cache"]
        protection = f"encrypted: {cache['encryption']}" if cache["encrypted"] else "NOT encrypted"
        broker = status["broker"]
        broker_text = "available" if broker["available"] else f"unavailable: {broker['reason']}"
        usernames = ", ".join(
            a["username"] + (" (JupyterHub login)" if a.get("sign_in_method") == "hub" else "")
            for a in status["accounts"]
        )
        hub = status.get("hub") or {}
        lines = [
            f"jupyter-msal {status.get('version')} ({client.mode} mode, {status['mode']})",
            f"  authority:   {cfg.get('oidc_authority') or cfg.get('authority')}",
            f"  client id:   {cfg.get('client_id')}",
            f"  cache:       {cache['path']} ({protection})",
            f"  broker:      {broker_text}",
            f"  region:      {status['region']['note']}",
            f"  accounts:    {usernames or '(nobody signed in)'}",
        ]
        if hub.get("url"):
            lines.insert(-1, f"  jupyterhub:  {hub['url']}: {hub.get('note')}")
        tools = status.get("azure_tools")  # a server's; none in direct mode
        if tools:
            lines.append(f"  az:          {tools['az']['mode']}: {tools['az']['note']}")
            lines.append(f"  azcopy:      {tools['azcopy']['mode']}: {tools['azcopy']['note']}")
        lines += [f"  warning:     {w}" for w in status.get("warnings", [])]
        lines.append("  settings (secrets only as set / not set):")
        lines += [f"    {name} = {json.dumps(value)}" for name, value in sorted(cfg.items())]
        sys.stdout.write("\n".join(lines) + "\n")


class MsalAccountsApp(ClientApp):
    """``jupyter msal accounts``."""

    command = "accounts"
    description = """List the signed-in accounts (username, tenant, authority, sign-in method).

    jupyter msal accounts [--json]"""

    as_json = Bool(False, help="Print the accounts as JSON.").tag(config=True)
    flags = {**base_flags, "json": flag("MsalAccountsApp", "as_json", True, "Print JSON.")}

    def run(self) -> None:
        """List signed-in accounts."""
        accounts = self.client().accounts()
        if self.as_json:
            print_json([a.to_dict() for a in accounts])
        elif not accounts:
            sys.stderr.write("Nobody is signed in. Run: jupyter msal login\n")
        else:
            for a in accounts:
                line = f"{a.username}\t{a.tenant_id}\t{a.authority}\t{a.sign_in_method}"
                sys.stdout.write(line + "\n")


class MsalScopesApp(ClientApp):
    """``jupyter msal scopes``."""

    command = "scopes"
    description = """List the audience names and the scope each stands for here.

    jupyter msal scopes [--json]

    A name (storage, vault, arm, ...) may be written wherever a scope goes:
    jupyter msal token vault. The scopes are those of the configured authority's cloud."""

    as_json = Bool(False, help="Print the names as JSON.").tag(config=True)
    flags = {**base_flags, "json": flag("MsalScopesApp", "as_json", True, "Print JSON.")}

    def run(self) -> None:
        """Print each name with its scope (or why it has none here)."""
        doc = self.client().audiences()
        if self.as_json:
            print_json(doc)
            return
        width = max((len(a["name"]) for a in doc["audiences"]), default=0)
        sys.stdout.write(f"audience names ({doc['cloud']} cloud):\n")
        for item in doc["audiences"]:
            scope = item["scope"] or "(not in this cloud)"
            sys.stdout.write(f"  {item['name']:<{width}}  {scope}\n")


class MsalLoginApp(ScopesApp):
    """``jupyter msal login``."""

    command = "login"
    description = """Sign in (device code, or the OS broker).

    jupyter msal login [SCOPE ...] [--scope SCOPE ...] [--tenant TENANT]
                       [--method auto|device_code|auth_code|broker|hub]

    The scopes are consented to while signing in. --tenant signs in to a tenant where the
    account is a guest and that wants a sign-in of its own (MFA, consent, Conditional Access).
    The prompt goes to stderr; Ctrl+C cancels.
    Signing in in the browser (auth_code), paste the address the browser ended on when it
    shows an error page instead of "Signed in"."""

    method = Enum(
        list(SignInMethod.names()),
        default_value="auto",
        help="How to sign in: 'auto' (the server chooses), 'device_code', 'auth_code' (in the "
        "browser), 'broker' or 'hub' (the JupyterHub login, on a hub with the jupyter-msal "
        "service).",
    ).tag(config=True)
    tenant = Unicode(
        None,
        allow_none=True,
        help="Sign in to this tenant: a tenant id or domain name where the account is a guest "
        "(default: the configured authority's).",
    ).tag(config=True)
    aliases = {
        **base_aliases,
        ("s", "scope"): "MsalLoginApp.scopes",
        "method": "MsalLoginApp.method",
        ("t", "tenant"): "MsalLoginApp.tenant",
    }

    def run(self) -> None:
        """Sign in interactively."""
        client = self.client()
        tenant = {"tenant": self.tenant} if self.tenant else {}
        scopes = self.requested_scopes()
        wait_for_sign_in(client, client.start_sign_in(self.method, scopes, None, **tenant))


class MsalTokenApp(ScopesApp):
    """``jupyter msal token``."""

    command = "token"
    description = """Print an access token: only the token and a newline on stdout.

    jupyter msal token [SCOPE ...] [--scope SCOPE ...] [--account USER] [--tenant TENANT]
                       [--force-refresh] [--claims JSON] [--no-sign-in] [--json]

    Without scopes, JupyterMsal.default_scopes; --tenant asks for a token of a tenant where
    the account is a guest (a tenant id or domain name). When nobody is signed in, it signs
    in first if stdin is a terminal (the prompt goes to stderr); otherwise, or with
    --no-sign-in, it fails with "Sign in first"."""

    account = Unicode(
        None, allow_none=True, help="The account (username or home_account_id) to use."
    ).tag(config=True)
    force_refresh = Bool(False, help="Skip cached tokens: ask the identity provider.").tag(
        config=True
    )
    claims = Unicode(
        None, allow_none=True, help="A claims challenge (JSON) from a resource to satisfy."
    ).tag(config=True)
    tenant = Unicode(
        None,
        allow_none=True,
        help="The tenant the token is for: a tenant id or domain name where the account is a "
        "guest (default: the account's own).",
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
        ("t", "tenant"): "MsalTokenApp.tenant",
        "claims": "MsalTokenApp.claims",
    }
    flags = {
        **base_flags,
        "force-refresh": flag("MsalTokenApp", "force_refresh", True, "Skip cached tokens."),
        "no-sign-in": flag(
            "MsalTokenApp", "sign_in", False, "Fail instead of signing in when needed."
        ),
        "json": flag("MsalTokenApp", "as_json", True, "Print token, expiry and scopes as JSON."),
    }

    def run(self) -> None:
        """Print an access token, signing in first when needed and allowed."""
        client = self.client()
        scopes = self.requested_scopes()
        tenant = {"tenant": self.tenant} if self.tenant else {}
        try:
            token = client.token(scopes, self.account, self.force_refresh, self.claims, **tenant)
        except SignInRequired as err:
            if not self.sign_in or not sys.stdin.isatty():
                raise
            where = {"tenant": err.tenant} if err.tenant else {}
            wait_for_sign_in(client, client.start_sign_in("auto", scopes, self.claims, **where))
            token = client.token(scopes, self.account, self.force_refresh, self.claims, **tenant)
        if self.as_json:
            print_json(
                {
                    "access_token": str(token),
                    "expires_on": int(token.expires_on),
                    "scopes": list(token.scopes),
                }
            )
        else:
            sys.stdout.write(str(token) + "\n")


class MsalLogoutApp(ClientApp):
    """``jupyter msal logout``."""

    command = "logout"
    description = """Sign out of one account, or all; removes their tokens from the cache.

    jupyter msal logout [USER] [--all]"""

    max_arguments = 1
    all_accounts = Bool(False, help="Sign out of every account.").tag(config=True)
    flags = {
        **base_flags,
        "all": flag("MsalLogoutApp", "all_accounts", True, "Sign out of every account."),
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


class MsalEndpointApp(MsalBaseApp):
    """``jupyter msal endpoint``."""

    command = "endpoint"
    description = """Print the managed-identity endpoint (of one tenant) for IDENTITY_ENDPOINT.

    jupyter msal endpoint [--tenant TENANT]

    In a terminal opened from Jupyter, unmodified Azure code (DefaultAzureCredential) gets
    the signed-in account's tokens through IDENTITY_ENDPOINT. For a tenant where you are a
    guest: export IDENTITY_ENDPOINT=$(jupyter msal endpoint --tenant contoso.onmicrosoft.com)"""

    tenant = Unicode(
        None,
        allow_none=True,
        help="A tenant id or domain name (default: the signed-in account's own tenant).",
    ).tag(config=True)
    aliases = {**base_aliases, ("t", "tenant"): "MsalEndpointApp.tenant"}

    def run(self) -> None:
        """Print the URL (only the URL and a newline on stdout)."""
        import os

        from ..client.endpoint import tenant_endpoint

        sys.stdout.write(tenant_endpoint(os.environ, self.tenant) + "\n")


class MsalGenerateKeyApp(MsalBaseApp):
    """``jupyter msal generate-key``."""

    command = "generate-key"
    description = """Print a new random key for JupyterMsal.cache_key / JUPYTER_MSAL_CACHE_KEY.

    jupyter msal generate-key"""

    def run(self) -> None:
        """Print a new cache encryption key."""
        from ..cache import generate_key

        sys.stdout.write(generate_key() + "\n")


class MsalEncryptCacheApp(MsalBaseApp):
    """``jupyter msal encrypt-cache``."""

    command = "encrypt-cache"
    description = """Encrypt a plaintext token cache with the cache_key, keeping its accounts.

    JUPYTER_MSAL_CACHE_KEY=... jupyter msal encrypt-cache

    With a cache_key set, a plaintext cache is otherwise not used, and replaced at the next
    save. Run once, with the cache_path and cache_key the server uses."""

    def run(self) -> None:
        """Encrypt the configured cache file if it is plaintext; say what was done."""
        from ..cache import encrypt_plaintext_cache

        settings = self.msal_settings()
        if not settings.cache_key:
            self.exit("jupyter msal encrypt-cache: set JUPYTER_MSAL_CACHE_KEY (or cache_key)")
        result = encrypt_plaintext_cache(
            settings.cache_path, key=settings.cache_key, lock_timeout=settings.cache_lock_timeout
        )
        sys.stderr.write(f"{settings.cache_path}: {result}.\n")


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


#: Every subcommand, in the order ``jupyter msal --help`` lists them.
SUBCOMMANDS: list[type[MsalBaseApp]] = [
    MsalStatusApp,
    MsalAccountsApp,
    MsalLoginApp,
    MsalTokenApp,
    MsalLogoutApp,
    MsalScopesApp,
    MsalEndpointApp,
    MsalGenerateKeyApp,
    MsalEncryptCacheApp,
    MsalDemoApp,
]
