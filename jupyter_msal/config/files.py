"""Configuration files for jupyter-msal outside the server, loaded as Jupyter loads them.

:class:`JupyterMsalConfigApp` is the base of ``jupyter msal`` (:mod:`jupyter_msal.cli`);
:func:`load_settings` gives direct mode the settings a server with the same files and
environment would have.
"""

from __future__ import annotations

from jupyter_core.application import JupyterApp
from traitlets import default
from traitlets.config import Config
from traitlets.config.application import Application
from traitlets.config.loader import ConfigFileNotFound, JSONFileConfigLoader, PyFileConfigLoader

from .._version import __version__
from ..errors import ConfigError
from .settings import JupyterMsal

__all__ = ["JupyterMsalConfigApp", "load_settings"]


class _NamesTheFile:
    """Mixin for traitlets' config file loaders: a file that fails to load is named."""

    filename: str
    full_filename: str

    def load_config(self) -> Config:
        """Load the file; anything but its absence raises a :class:`ConfigError` naming it."""
        try:
            return super().load_config()  # type: ignore[misc]
        except ConfigFileNotFound:
            raise
        except Exception as err:  # a config file is code: it may raise anything
            path = self.full_filename or self.filename
            raise ConfigError(f"cannot load config file {path}: {err}") from err


class _PyFileLoader(_NamesTheFile, PyFileConfigLoader):
    """``*.py`` config files, naming the file on error."""


class _JSONFileLoader(_NamesTheFile, JSONFileConfigLoader):
    """``*.json`` config files, naming the file on error."""


class JupyterMsalConfigApp(JupyterApp):
    """The configuration of jupyter-msal outside the server, loaded as Jupyter loads it.

    From every folder of the Jupyter config path (``jupyter --paths``), lowest priority first,
    in the order the server applies them: ``jupyter_config``, ``jupyter_msal_config``, then
    ``jupyter_server_config`` (each ``.json`` and ``.py``); the command line comes on top, and
    ``JUPYTER_MSAL_*`` variables fill in what is still unset. A file that fails to load raises
    a :class:`ConfigError` naming it. ``jupyter msal`` subclasses this app.
    """

    name = "jupyter-msal"
    description = "Microsoft Entra ID sign-in and tokens for Jupyter."
    version = __version__
    classes = [JupyterMsal]
    python_config_loader_class = _PyFileLoader
    json_config_loader_class = _JSONFileLoader

    @default("raise_config_file_errors")
    def _raise_config_file_errors_default(self) -> bool:
        return True

    @default("config_file_name")
    def _jupyter_msal_config_file_name(self) -> str:
        return "jupyter_msal_config"

    def load_config_file(self, suppress_errors: bool = True) -> None:
        """Load ``jupyter_config`` and ``jupyter_msal_config``, then ``jupyter_server_config``."""
        super().load_config_file(suppress_errors)
        Application.load_config_file(self, "jupyter_server_config", path=self.config_file_paths)

    def msal_settings(self) -> JupyterMsal:
        """The :class:`JupyterMsal` settings of this app's configuration and the environment."""
        return JupyterMsal(parent=self)


def load_settings(config: Config | None = None) -> JupyterMsal:
    """Settings for direct mode: what :class:`JupyterMsalConfigApp` loads, ``config`` on top.

    The same files and variables the server reads; raises :class:`ConfigError` naming the
    setting (or the config file) at fault.
    """
    app = JupyterMsalConfigApp()
    app.load_config_file()
    if config is not None:
        app.update_config(config)
    return app.msal_settings()
