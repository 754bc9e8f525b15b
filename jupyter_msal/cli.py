"""``jupyter msal status|accounts|login|token|logout|generate-key|demo``.

In a terminal opened from Jupyter the commands talk to the running server (its URL and secret
are in the environment); in a plain shell they run the token service in-process on the same
configuration and cache file ("direct mode").

``jupyter msal token --scope S`` prints only the token, so ``$(jupyter msal token --scope S)``
works; everything else (prompts, errors) goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from .errors import JupyterMsalError, SignInRequired

__all__ = ["main"]


def _client() -> Any:
    from .kernel.client import get_client

    return get_client()


def _print_json(data: Any, out: TextIO) -> None:
    out.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _wait_for_sign_in(client: Any, flow: dict[str, Any], err: TextIO) -> dict[str, Any]:
    """Show the prompt on stderr and wait; Ctrl+C cancels the sign-in."""
    err.write(
        (
            flow.get("message")
            or f"Open {flow.get('verification_uri')} and enter {flow.get('user_code')}"
        )
        + "\n"
    )
    if flow.get("fallback_reason"):
        err.write(f"(device code because {flow['fallback_reason']})\n")
    err.flush()
    try:
        while flow.get("state") == "pending":
            flow = client.wait_sign_in(flow["id"], 10.0)
    except KeyboardInterrupt:
        client.cancel_sign_in(flow["id"])
        err.write("Sign-in cancelled.\n")
        raise SystemExit(130) from None
    if flow.get("state") != "succeeded":
        error = flow.get("error") or {}
        raise SystemExit(f"Sign-in {flow.get('state')}: {error.get('message', '')}".rstrip(": "))
    account = flow.get("account") or {}
    err.write(f"Signed in as {account.get('username', '?')}.\n")
    return flow


def cmd_status(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Print the effective non-secret configuration, cache and accounts."""
    client = _client()
    status = client.status()
    status["client_mode"] = client.mode
    if args.json:
        _print_json(status, out)
        return 0
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
    out.write("\n".join(lines) + "\n")
    return 0


def cmd_accounts(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """List signed-in accounts."""
    accounts = _client().accounts()
    if args.json:
        _print_json([a.to_dict() for a in accounts], out)
    elif not accounts:
        err.write("Nobody is signed in. Run: jupyter msal login\n")
    else:
        for a in accounts:
            out.write(f"{a.username}\t{a.tenant_id}\t{a.authority}\n")
    return 0


def cmd_login(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Sign in interactively (device code, or the broker)."""
    client = _client()
    flow = client.start_sign_in(args.method, args.scopes)
    _wait_for_sign_in(client, flow, err)
    return 0


def cmd_token(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Print an access token (only the token, unless --json)."""
    client = _client()
    try:
        token = client.token(args.scope, args.account, args.force_refresh, args.claims)
    except SignInRequired:
        if args.no_sign_in or not sys.stdin.isatty():
            raise
        _wait_for_sign_in(client, client.start_sign_in("auto", args.scope, args.claims), err)
        token = client.token(args.scope, args.account, args.force_refresh, args.claims)
    if args.json:
        _print_json(
            {
                "access_token": str(token),
                "expires_on": int(token.expires_on),
                "scopes": list(token.scopes),
            },
            out,
        )
    else:
        out.write(str(token) + "\n")
    return 0


def cmd_logout(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Sign out of one account or all; removes refresh tokens from the cache."""
    if not args.all and not args.account:
        raise SystemExit("Name the account to sign out of, or pass --all.")
    removed = _client().sign_out(args.account, all_accounts=args.all)
    for account in removed:
        err.write(f"Signed out {account.username}.\n")
    if not removed:
        err.write("Nobody was signed in.\n")
    return 0


def cmd_generate_key(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Print a new random cache key for JupyterMsal.cache_key / JUPYTER_MSAL_CACHE_KEY."""
    from .cache import generate_key

    out.write(generate_key() + "\n")
    return 0


def cmd_demo(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Start JupyterLab against the bundled Entra ID emulator (offline, no tenant needed)."""
    from .demo import run_demo

    return run_demo(app=args.app, port=args.port, extra=args.jupyter_args, err=err)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    parser = argparse.ArgumentParser(
        prog="jupyter msal",
        description="Microsoft Entra ID sign-in and tokens for Jupyter. In a terminal opened "
        "from Jupyter it uses the running server; elsewhere it works directly on the same cache.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("status", help="configuration, cache and accounts")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("accounts", help="list signed-in accounts")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_accounts)

    p = sub.add_parser("login", help="sign in")
    p.add_argument("scopes", nargs="*", help="scopes to consent to while signing in")
    p.add_argument("--method", default="auto", choices=["auto", "device_code", "broker"])
    p.set_defaults(func=cmd_login)

    p = sub.add_parser("token", help="print an access token")
    p.add_argument(
        "--scope",
        "-s",
        action="append",
        default=[],
        metavar="SCOPE",
        help="scope (repeatable); default: JupyterMsal.default_scopes",
    )
    p.add_argument("--account", "-a", help="username or home_account_id")
    p.add_argument("--force-refresh", action="store_true", help="skip cached tokens")
    p.add_argument("--claims", help="claims challenge JSON from a resource")
    p.add_argument(
        "--no-sign-in", action="store_true", help="fail instead of signing in when needed"
    )
    p.add_argument("--json", action="store_true", help="print token, expiry and scopes as JSON")
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("logout", help="sign out")
    p.add_argument("account", nargs="?", help="username or home_account_id")
    p.add_argument("--all", action="store_true", help="sign out of every account")
    p.set_defaults(func=cmd_logout)

    p = sub.add_parser("generate-key", help="print a new cache encryption key")
    p.set_defaults(func=cmd_generate_key)

    p = sub.add_parser("demo", help="start Jupyter against the bundled Entra ID emulator")
    p.add_argument("--app", default="lab", choices=["lab", "notebook", "server"])
    p.add_argument("--port", type=int, default=8888)
    p.add_argument(
        "jupyter_args", nargs=argparse.REMAINDER, help="more arguments for jupyter (after --)"
    )
    p.set_defaults(func=cmd_demo)
    return parser


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Entry point of ``jupyter-msal`` / ``jupyter msal``."""
    out, err = out or sys.stdout, err or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args, out, err))
    except JupyterMsalError as exc:
        err.write(f"jupyter msal {args.command}: {exc}\n")
        return 1
    finally:
        if args.command not in {"generate-key", "demo"}:
            from .kernel.client import reset_client

            reset_client()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
