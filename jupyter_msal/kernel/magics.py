"""``%load_ext jupyter_msal``: the ``%msal_token``, ``%msal_accounts``, ``%msal_login``,
``%msal_logout`` and ``%msal_tenant`` line magics.

Arguments may name variables of the notebook as ``$name`` (a list expands to several
arguments); the rest of the line is taken literally, so JSON such as ``--claims '{"a": 1}'``
needs no escaping. Errors of jupyter-msal show as one line, ``ERROR: <what to do>``, instead
of a traceback (``%xmode Verbose`` brings the traceback back).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from IPython.core import magic_arguments as ma
from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class, no_var_expand

from ..errors import JupyterMsalError, SignInCancelled
from ..models import SignInMethod

__all__ = ["MsalMagics", "load_ipython_extension", "unload_ipython_extension"]


def _expand(argv: Sequence[str], ns: dict[str, Any]) -> list[str]:
    """Replace ``$name`` arguments by the variable's value (``$$`` is a literal ``$``)."""
    out: list[str] = []
    for arg in argv:
        if arg.startswith("$$"):
            out.append(arg[1:])
        elif arg.startswith("$") and len(arg) > 1:
            name = arg[1:]
            if name not in ns:
                raise UsageError(f"{arg}: no variable named {name!r} in the notebook.")
            value = ns[name]
            if isinstance(value, (list, tuple, set, frozenset)):
                out.extend(str(v) for v in value)
            else:
                out.append(str(value))
        else:
            out.append(arg)
    return out


@magics_class
class MsalMagics(Magics):
    """The jupyter-msal line magics."""

    def _parse(self, func: Any, line: str) -> Any:
        from IPython.utils.process import arg_split

        name = func.__name__
        try:
            argv = arg_split(line, posix=True, strict=True)
        except ValueError as err:
            raise UsageError(f"cannot parse the arguments: {err} (see %{name}?)") from None
        argv = _expand(argv, self.shell.user_ns if self.shell else {})
        try:
            return func.parser.parse_args(argv)
        except UsageError as err:
            raise UsageError(f"{err} (see %{name}? for the options)") from None

    @ma.magic_arguments()
    @ma.argument(
        "scopes",
        nargs="*",
        help="Scopes or audience names, e.g. https://storage.azure.com/.default or storage "
        "(default: JupyterMsal.default_scopes; %%msal_scopes lists the names).",
    )
    @ma.argument("-a", "--account", help="Username or home_account_id (default: the only one).")
    @ma.argument(
        "--force-refresh",
        action="store_true",
        help="Skip every cache and ask the identity provider for a new token.",
    )
    @ma.argument("--claims", help="A claims challenge: JSON or base64url-encoded JSON.")
    @ma.argument(
        "-t",
        "--tenant",
        help="The tenant the token is for: a tenant id or domain name where the account is a "
        "guest (default: the account's own).",
    )
    @ma.argument(
        "--no-sign-in",
        action="store_true",
        help="Fail instead of starting a sign-in when nobody is signed in.",
    )
    @ma.argument(
        "--timeout", type=float, help="Seconds to wait for a sign-in (default: until it expires)."
    )
    @no_var_expand
    @line_magic
    def msal_token(self, line: str = "") -> Any:
        """Get an access token (a ``str`` whose display is redacted).

        If nobody is signed in, shows how to sign in, waits, and then returns the token.
        Interrupting the kernel cancels the sign-in. Example::

            token = %msal_token https://storage.azure.com/.default
            token = %msal_token storage
            token = %msal_token vault --tenant fabrikam.onmicrosoft.com
        """
        from . import api

        args = self._parse(self.msal_token, line)
        if args.timeout is not None and args.timeout < 0:
            raise UsageError("--timeout must be zero or more seconds.")
        try:
            claims = api.normalize_claims(args.claims)
        except JupyterMsalError as err:
            raise UsageError(f"--claims: {err.message}") from None
        return _interruptible(
            api.get_token,
            *args.scopes,
            account=args.account,
            force_refresh=args.force_refresh,
            claims=claims,
            sign_in=not args.no_sign_in,
            timeout=args.timeout,
            tenant=args.tenant,
        )

    @ma.magic_arguments()
    @no_var_expand
    @line_magic
    def msal_accounts(self, line: str = "") -> None:
        """Show the signed-in accounts: username, tenant, authority, how they signed in."""
        from . import api

        self._parse(self.msal_accounts, line)
        accounts = api.accounts()
        if not accounts:
            print("Nobody is signed in. Run %msal_login to sign in.")
            return
        from IPython.display import display

        display(AccountTable(accounts))

    @ma.magic_arguments()
    @ma.argument("tenant", nargs="?", help="A tenant id or domain name where you are a guest.")
    @ma.argument("--home", action="store_true", help="Back to the account's own tenant.")
    @no_var_expand
    @line_magic
    def msal_tenant(self, line: str = "") -> None:
        """Choose the tenant of the tokens unmodified Azure code in this kernel gets.

        Sets this kernel's ``IDENTITY_ENDPOINT`` to the server's managed-identity endpoint
        for that tenant, for ``DefaultAzureCredential``, ``ManagedIdentityCredential`` and the
        processes the kernel starts. Credentials read the variable when they are created:
        create them after this. Without arguments, shows the tenant in use. Example::

            %msal_tenant contoso.onmicrosoft.com
            %msal_tenant --home
        """
        import os

        from ..client.endpoint import endpoint_tenant, tenant_endpoint
        from ..constants import IDENTITY_ENDPOINT_ENV

        args = self._parse(self.msal_tenant, line)
        if args.home and args.tenant:
            raise UsageError("Give a tenant or --home, not both.")
        if args.tenant or args.home:
            os.environ[IDENTITY_ENDPOINT_ENV] = tenant_endpoint(os.environ, args.tenant)
        tenant = endpoint_tenant(os.environ) or "the signed-in account's own tenant"
        print(f"Managed identity in this kernel: tokens of {tenant}")
        print(f"IDENTITY_ENDPOINT={os.environ[IDENTITY_ENDPOINT_ENV]}")

    @ma.magic_arguments()
    @no_var_expand
    @line_magic
    def msal_scopes(self, line: str = "") -> None:
        """List the audience names (``storage``, ``vault``, ...) and the scope each stands for
        on this server's cloud: ``%msal_token storage`` asks for that scope."""
        from ..client import get_client

        self._parse(self.msal_scopes, line)
        doc = get_client().audiences()
        width = max((len(a["name"]) for a in doc["audiences"]), default=0)
        lines = [f"audience names ({doc['cloud']} cloud):"]
        for item in doc["audiences"]:
            lines.append(f"  {item['name']:<{width}}  {item['scope'] or '(not in this cloud)'}")
        print("\n".join(lines))

    @ma.magic_arguments()
    @ma.argument("scopes", nargs="*", help="Scopes to consent to while signing in.")
    @ma.argument(
        "--method",
        choices=list(SignInMethod.names()),
        default="auto",
        help="How to sign in: auth_code (a link to sign in in this browser), device_code, "
        "broker, hub (the JupyterHub login, on a hub with the jupyter-msal service), or auto "
        "(the server chooses).",
    )
    @ma.argument("--timeout", type=float, help="Seconds to wait for the sign-in.")
    @ma.argument(
        "--tenant",
        help="Sign in to this tenant (a tenant id or domain name where the account is a "
        "guest), when it wants a sign-in of its own (MFA, consent, Conditional Access).",
    )
    @no_var_expand
    @line_magic
    def msal_login(self, line: str = "") -> None:
        """Sign in: shows the link (and code), or opens the broker, and waits until done.

        ``--tenant T`` signs in to a guest tenant that demands its own sign-in; its tokens
        then come silently (``%msal_token storage --tenant T``).
        """
        from . import api

        args = self._parse(self.msal_login, line)
        _interruptible(
            api.login, *args.scopes, method=args.method, timeout=args.timeout, tenant=args.tenant
        )

    @ma.magic_arguments()
    @ma.argument("account", nargs="?", help="Username or home_account_id (default: the only one).")
    @ma.argument("--all", action="store_true", help="Sign out of every account.")
    @no_var_expand
    @line_magic
    def msal_logout(self, line: str = "") -> None:
        """Sign out: removes the account's refresh token from the shared cache."""
        from . import api

        args = self._parse(self.msal_logout, line)
        if args.all and args.account:
            raise UsageError("Give an account or --all, not both.")
        removed = api.logout(args.account, all_accounts=args.all)
        if removed:
            names = ", ".join(a.username or a.home_account_id for a in removed)
            print(f"Signed out of {names}.")
        else:
            print("Nobody was signed in.")


def _interruptible(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Run ``func``; an interrupted (and so cancelled) sign-in becomes one line."""
    from .api import SignInInterrupted

    try:
        return func(*args, **kwargs)
    except SignInInterrupted:
        raise SignInCancelled("Interrupted: the sign-in was cancelled.") from None


#: The columns of ``%msal_accounts``.
_COLUMNS = ("username", "tenant", "authority", "signed in with")
#: How each sign-in method reads in that table.
_METHOD_NAMES = {
    "hub": "JupyterHub login",
    "device_code": "device code",
    "auth_code": "browser",
    "broker": "OS broker",
}


def _signed_in_with(account: Any) -> str:
    method = str(getattr(account, "sign_in_method", "") or "")
    return _METHOD_NAMES.get(method, method)


class AccountTable:
    """A list of accounts shown as an HTML table, or as aligned text outside a rich front end."""

    def __init__(self, accounts: Sequence[Any]) -> None:
        self.accounts = list(accounts)

    def _rows(self) -> list[tuple[str, str, str, str]]:
        return [
            (a.username, a.tenant_id, a.authority or a.environment, _signed_in_with(a))
            for a in self.accounts
        ]

    def _repr_html_(self) -> str:
        import html

        head = "".join(f"<th>{name}</th>" for name in _COLUMNS)
        head = f"<tr>{head}</tr>"
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
            for row in self._rows()
        )
        return f"<table class='jupyter-msal-accounts'>{head}{body}</table>"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def __repr__(self) -> str:
        rows = [_COLUMNS, *self._rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# One-line errors


_ATTR = "_jupyter_msal_previous_custom_exc"


def _show_error(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None):
    previous = getattr(shell, _ATTR, None)
    if not isinstance(value, JupyterMsalError) and previous:
        prev_types, prev_handler = previous
        if prev_types and isinstance(value, prev_types) and prev_handler is not None:
            return prev_handler(etype, value, tb, tb_offset=tb_offset)
    if isinstance(value, JupyterMsalError) and shell.InteractiveTB.mode != "Verbose":
        stb = [f"\x1b[0;31mERROR:\x1b[0m {value}"]
    else:
        stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    shell._showtraceback(etype, value, stb)
    return None


def _install_error_handler(shell: Any) -> None:
    if getattr(shell, _ATTR, None) is not None:
        return
    types = tuple(getattr(shell, "custom_exceptions", ()) or ())
    handler = getattr(shell, "CustomTB", None) if types else None
    setattr(shell, _ATTR, (types, handler))
    shell.set_custom_exc((*types, JupyterMsalError), _show_error)


def _remove_error_handler(shell: Any) -> None:
    previous = getattr(shell, _ATTR, None)
    if previous is None:
        return
    types, handler = previous
    delattr(shell, _ATTR)
    if types and handler is not None:
        shell.custom_exceptions = types
        shell.CustomTB = handler
    else:
        shell.set_custom_exc((), None)


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics and the one-line error display (``%load_ext jupyter_msal``)."""
    ipython.register_magics(MsalMagics)
    _install_error_handler(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the magics and the error display (``%unload_ext jupyter_msal``)."""
    _remove_error_handler(ipython)
    magics = ipython.magics_manager.magics
    for name in (
        "msal_token",
        "msal_accounts",
        "msal_login",
        "msal_logout",
        "msal_scopes",
        "msal_tenant",
    ):
        magics["line"].pop(name, None)
    ipython.magics_manager.registry.pop("MsalMagics", None)
