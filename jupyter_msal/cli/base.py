"""What every ``jupyter msal`` subcommand shares: config, arguments, the client, the prompt."""

from __future__ import annotations

import json
import sys
from typing import Any, ClassVar

from jupyter_core.application import base_aliases, base_flags
from traitlets import List, Unicode

from ..config.files import JupyterMsalConfigApp
from ..errors import BadRequest
from .prompt import wait_in_terminal

__all__ = ["ClientApp", "MsalBaseApp", "ScopesApp", "flag", "print_json", "wait_for_sign_in"]


def _clients() -> Any:
    """The clients' module (``get_client``, ``reset_client``, ``DirectClient``)."""
    from .. import client

    return client


def print_json(data: Any) -> None:
    """``data`` as indented JSON on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def wait_for_sign_in(client: Any, flow: dict[str, Any]) -> None:
    """Show the sign-in prompt on stderr and wait; Ctrl+C cancels the sign-in (exit 130)."""
    err = sys.stderr
    try:
        account = wait_in_terminal(client, flow, err=err)
    except KeyboardInterrupt:
        err.write("Sign-in cancelled.\n")
        raise SystemExit(130) from None
    err.write(f"Signed in as {account.username or account.home_account_id}.\n")


def flag(app: str, trait: str, value: bool, help: str) -> tuple[dict[str, Any], str]:
    """A command-line flag that sets ``<app>.<trait>`` to ``value``."""
    return {app: {trait: value}}, help


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


class ClientApp(MsalBaseApp):
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


class ScopesApp(ClientApp):
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
