"""The JavaScript of the cell prompts, kept as ``.js`` files in ``jupyter_msal/kernel/js/``.

Each file is plain JavaScript (``node --check`` passes on it, see tests/unit/test_kernel_js.py):
``copy_button.js`` and ``paste_button.js`` are inline ``onclick`` handlers (a function called
with the button), ``countdown.js`` is the body of a ``<script>``. They are read once with
:mod:`importlib.resources`, so they work from a wheel, a zip or a source checkout.
"""

from __future__ import annotations

import functools
import html
import json
from importlib.resources import files

__all__ = ["SCRIPT_NAMES", "onclick_attribute", "script", "script_element"]

#: The scripts shipped in ``jupyter_msal/kernel/js/``.
SCRIPT_NAMES = ("copy_button.js", "countdown.js", "paste_button.js")


@functools.cache
def script(name: str) -> str:
    """The script ``name`` (one of :data:`SCRIPT_NAMES`) without its comment lines.

    Lines keep their line breaks, so the code means exactly what the file says.
    """
    if name not in SCRIPT_NAMES:
        raise ValueError(f"no such script: {name!r}")
    text = (files(__package__) / "js" / name).read_text(encoding="utf-8")
    lines = (line.strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line and not _is_comment(line))


def _is_comment(line: str) -> bool:
    """A line that is only a ``//`` comment or a one-line ``/* ... */`` comment."""
    return line.startswith("//") or (line.startswith("/*") and line.endswith("*/"))


@functools.cache
def onclick_attribute(name: str) -> str:
    """The script ``name`` escaped for an HTML attribute written in double quotes."""
    return html.escape(script(name), quote=False).replace('"', "&quot;")


def script_element(name: str, **values: str) -> str:
    """A ``<script>`` element running ``name``, with each placeholder (an identifier in upper
    case, e.g. ``ELEMENT_ID``) replaced by the JSON form of its value."""
    body = script(name)
    for placeholder, value in values.items():
        # "<" escaped, so that no value can close the <script> element
        body = body.replace(placeholder, json.dumps(value).replace("<", "\\u003c"))
    return f"<script>\n{body}\n</script>"
