"""docs/configuration.md, generated from the ``help=`` texts of :class:`JupyterMsal`.

``python docs/_ext/config_docs.py > docs/configuration.md``; a test keeps the file in sync.
"""

from __future__ import annotations

from traitlets import Enum

from jupyter_msal.config import JupyterMsal, env_variable

__all__ = ["settings_markdown"]


def settings_markdown() -> str:
    """The reference of every setting, from the ``help=`` texts (docs/configuration.md)."""
    lines = [
        "# Configuration",
        "",
        "<!-- Generated from jupyter_msal/config/settings.py by `python docs/_ext/config_docs.py`;"
        " a test keeps it in sync. -->",
        "",
        "Every setting lives in the `JupyterMsal` section of `jupyter_server_config.py` (or",
        "`jupyter_msal_config.py`; `.json` works too), can be given on the command line of",
        "`jupyter server` and `jupyter msal` as `--JupyterMsal.<name>=<value>`, and defaults to",
        "the environment variable `JUPYTER_MSAL_<NAME>` when config does not set it. Variables",
        "are read as command-line values are: booleans are `true`/`false` (or `1`/`0`), lists are",
        "a JSON array or items separated by commas or spaces, `None` empties a setting whose",
        "default is `None`; an empty variable counts as unset.",
        "Invalid values stop the extension at startup with a message naming the setting (and",
        "the variable, when the value came from one).",
        "`jupyter msal status` shows what is in effect (secrets only as set / not set);",
        "`jupyter msal --help-all` lists the settings too.",
        "",
    ]
    for name in sorted(JupyterMsal.class_trait_names(config=True)):
        trait = JupyterMsal.class_traits()[name]
        default = (
            "<jupyter data dir>/msal/token_cache.bin"
            if name == "cache_path"
            else repr(trait.default())
        )
        if isinstance(trait, Enum):
            kind = " | ".join(f"`{v}`" for v in trait.values or ())
        else:
            kind = type(trait).__name__
        low, high = getattr(trait, "min", None), getattr(trait, "max", None)
        if low is not None:
            kind += f" ({low:g} to {high:g})" if high is not None else f" (at least {low:g})"
        lines += [
            f"## `{name}`",
            "",
            f"- type: {kind}; default: `{default}`",
            f"- environment: `{env_variable(name)}`",
            "",
            str(trait.help),
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(settings_markdown(), end="")
