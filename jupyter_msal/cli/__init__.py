"""``jupyter msal status|accounts|login|token|logout|generate-key|encrypt-cache|demo``.

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

import sys
from collections.abc import Sequence

from jupyter_core.application import NoStart

from ..config.files import JupyterMsalConfigApp
from ..errors import JupyterMsalError
from .base import MsalBaseApp
from .commands import SUBCOMMANDS

__all__ = ["MsalApp", "main"]


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

    subcommands = {app.command: (app, app.description.splitlines()[0]) for app in SUBCOMMANDS}

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
