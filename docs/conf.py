"""Sphinx configuration of the jupyter-msal documentation (``docs/`` is the source).

Build it with ``sphinx-build -W --keep-going -b html docs docs/_build/html``. The example
notebooks are executed during the build against the bundled Entra ID emulator (see
``_ext/jupyter_msal_docs.py``), which needs nothing but this machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

import jupyter_msal  # noqa: E402 - after the path to the local extension

project = "jupyter-msal"
author = "jupyter-msal developers"
copyright = "2026, jupyter-msal developers"
release = jupyter_msal.__version__
version = release

extensions = [
    "myst_nb",  # MyST Markdown pages and executed notebooks (it loads myst_parser itself)
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "jupyter_msal_docs",
]

root_doc = "index"
# Some examples are JSON with comments and placeholders; Pygments' relaxed mode shows them well.
suppress_warnings = ["misc.highlighting_failure"]
exclude_patterns = ["_build", "_ext", "_generated", "**.ipynb_checkpoints", "jupyter_execute"]

# MyST
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# myst-nb: run every example at each build; a failing cell fails the build.
nb_execution_mode = "force"
nb_execution_timeout = 180
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# autodoc
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_class_signature = "separated"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# HTML
html_theme = "pydata_sphinx_theme"
html_title = f"jupyter-msal {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_static_path: list[str] = []
html_show_sourcelink = False
