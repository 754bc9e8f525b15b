"""Sphinx extension of the jupyter-msal documentation.

* Pages generated from the code, under ``_generated/`` (included by real pages, never edited):
  the REST reference from the OpenAPI document the server serves, and the AADSTS table of
  the troubleshooting page from :data:`jupyter_msal.identity.msal_results.AADSTS_HINTS`.
* The example notebooks (``notebooks/`` of the repository) copied to ``examples/`` and executed
  by myst-nb against the bundled Entra ID emulator: a real Jupyter server for the notebooks
  that use one, direct mode for the one about running without a server. The emulator approves
  every device code at once, so the build needs nobody at a browser.
* After the build, every page and executed notebook is checked: any token the emulator issued,
  or anything shaped like a JWT, fails the build (the file is named, the value never printed).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

__all__ = ["ExampleRunner", "find_leaks", "openapi_markdown", "setup", "troubleshooting_markdown"]

LOG = logging.getLogger(__name__)

GENERATED = "_generated"
EXAMPLES = "examples"
#: Example notebooks that show direct mode: their kernels get no server to talk to.
DIRECT_MODE = frozenset({"04-direct-mode"})

#: Three base64url parts, the first two JSON objects (``{"`` encodes as ``eyJ``).
JWT_SHAPE = re.compile(r"eyJ[A-Za-z0-9_-]{6,}\.eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*")
#: The examples sign in with a device code, which the emulator approves by itself.
_DEVICE_CODE = {"JUPYTER_MSAL_SIGN_IN_METHOD": "device_code"}
#: Files of a build that can hold what a notebook showed.
_SCANNED_SUFFIXES = {".html", ".ipynb", ".txt", ".json", ".js", ".md"}


# ------------------------------------------------------------------------------------------
# Generated pages


def _write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` unless ``path`` already holds it (keeps incremental builds incremental)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _cell(text: Any) -> str:
    """A Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _anchor(name: str) -> str:
    return f"openapi-{name.lower()}"


def _type(schema: Mapping[str, Any]) -> str:
    """A schema in a few words, with links to the named schemas."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f"[{name}](#{_anchor(name)})"
    for key, joiner in (("oneOf", " or "), ("anyOf", " or ")):
        if key in schema:
            return joiner.join(_type(s) for s in schema[key])
    if "enum" in schema:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        return " or ".join(_type({**schema, "type": k}) for k in kind)
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if kind == "object" and "properties" not in schema:
        extra = schema.get("additionalProperties")
        return f"object of {_type(extra)}" if isinstance(extra, dict) else "object"
    limits = []
    for key, word in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "length ≥")):
        if key in schema:
            limits.append(f"{word} {schema[key]}")
    return f"{kind} ({', '.join(limits)})" if limits else str(kind)


def _fields(schema: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str, str, str]]:
    """(name, type, required, description) of an object's properties, nested ones dotted."""
    required = set(schema.get("required", ()))
    for name, sub in schema.get("properties", {}).items():
        yield (
            f"{prefix}{name}",
            "object" if "properties" in sub else _type(sub),
            "yes" if name in required else "",
            sub.get("description", ""),
        )
        if "properties" in sub:
            yield from _fields(sub, f"{prefix}{name}.")


def _field_table(schema: Mapping[str, Any]) -> list[str]:
    rows = list(_fields(schema))
    if not rows:
        return [f"{_type(schema)}", ""]
    lines = ["| field | type | required | notes |", "|---|---|---|---|"]
    lines += [f"| `{n}` | {_cell(t)} | {r} | {_cell(d)} |" for n, t, r, d in rows]
    return [*lines, ""]


def _json_body(content: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if not content:
        return None
    return content.get("application/json", {}).get("schema")


def openapi_markdown(document: Mapping[str, Any]) -> str:
    """The REST reference as MyST Markdown, from an OpenAPI 3.1 document."""
    info = document.get("info", {})
    base = (document.get("servers") or [{"url": ""}])[0]["url"].rstrip("/")
    out = [
        f"Generated from the OpenAPI document of jupyter-msal {info.get('version', '')}, which "
        f"a running server also serves at `{base}/openapi.json` (below its `base_url`).",
        "",
        _cell(info.get("description", "")),
        "",
        "## Authentication",
        "",
        "| scheme | sent as |",
        "|---|---|",
    ]
    schemes = document.get("components", {}).get("securitySchemes", {})
    for name, scheme in schemes.items():
        out.append(f"| `{name}` | header `{scheme.get('name', '')}` |")
    out += ["", "## Endpoints", ""]
    for path, item in document.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in ("get", "post", "put", "patch", "delete"):
            operation = item.get(method)
            if operation is None:
                continue
            out += [f"### `{method.upper()} {base}{path}`", "", operation.get("summary", ""), ""]
            parameters = [*shared, *operation.get("parameters", [])]
            if parameters:
                out += ["| parameter | in | type | required |", "|---|---|---|---|"]
                for p in parameters:
                    required = "yes" if p.get("required") else ""
                    out.append(
                        f"| `{p['name']}` | {p['in']} | {_cell(_type(p.get('schema', {})))} "
                        f"| {required} |"
                    )
                out.append("")
            body = _json_body(operation.get("requestBody", {}).get("content"))
            if body is not None:
                out += ["Request body (JSON):", "", *_field_table(body)]
            errors = []
            for status, response in operation.get("responses", {}).items():
                schema = _json_body(response.get("content"))
                if status.startswith("2"):
                    out += [f"Answer {status} (JSON):", ""]
                    out += _field_table(schema) if schema is not None else ["no body", ""]
                else:
                    errors.append(status)
            if errors:
                out += [
                    f"Errors: {', '.join(errors)}, each with an [Error](#{_anchor('Error')}) body.",
                    "",
                ]
    out += ["## Schemas", ""]
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        out += [f"({_anchor(name)})=", f"### {name}", ""]
        if schema.get("description"):
            out += [_cell(schema["description"]), ""]
        out += _field_table(schema)
    return "\n".join(out).rstrip() + "\n"


def troubleshooting_markdown(hints: Mapping[str, str]) -> str:
    """The table of AADSTS codes and what to do about each."""
    lines = ["| code | what to do |", "|---|---|"]
    for code in sorted(hints, key=int):
        lines.append(f"| AADSTS{code} | {_cell(hints[code])} |")
    return "\n".join(lines) + "\n"


def _repository(srcdir: Path) -> Path:
    return srcdir.parent


def generate_pages(app: Sphinx) -> None:
    """Write the generated fragments and copy the example notebooks into the sources."""
    from jupyter_msal.identity.msal_results import AADSTS_HINTS
    from jupyter_msal.server.openapi import openapi_document

    srcdir = Path(app.srcdir)
    _write_if_changed(srcdir / GENERATED / "openapi.md", openapi_markdown(openapi_document()))
    _write_if_changed(srcdir / GENERATED / "aadsts.md", troubleshooting_markdown(AADSTS_HINTS))
    notebooks = sorted((_repository(srcdir) / "notebooks").glob("*.ipynb"))
    if not notebooks:
        raise ExtensionError("no example notebooks found in notebooks/")
    wanted = {nb.name for nb in notebooks}
    for stale in (srcdir / EXAMPLES).glob("*.ipynb"):
        if stale.name not in wanted:
            stale.unlink()
    for nb in notebooks:
        _write_if_changed(srcdir / EXAMPLES / nb.name, nb.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------------
# Executing the examples against the emulator


class ExampleRunner:
    """Starts the emulator (and a Jupyter server) when the first example is read, gives each
    example's kernel the environment it needs, and stops everything when the build ends."""

    def __init__(self) -> None:
        self.emulator: Any = None
        self.server: Any = None
        self.workdir: Path | None = None
        self._environments: dict[str, dict[str, str]] = {}
        self._original_environ: dict[str, str] | None = None

    def _start(self) -> None:
        from jupyter_msal.testing import DEFAULT_USERNAME, EntraEmulator
        from jupyter_msal.testing.server import JupyterServerProcess, emulator_environment

        self.workdir = Path(tempfile.mkdtemp(prefix="jupyter-msal-docs-"))
        atexit.register(self.stop)  # an interrupted build leaves no server behind either
        self.emulator = EntraEmulator(device_code_interval=1).start()
        self.emulator.auto_approve = DEFAULT_USERNAME  # approves every code as it is issued
        server_env = emulator_environment(
            self.emulator, self.workdir / "server-cache.bin", **_DEVICE_CODE
        )
        # Kept before it starts, so that stop() ends it even when it fails to answer.
        self.server = JupyterServerProcess(server_env, self.workdir / "server")
        self.server.start()
        self._environments["server"] = {**self.server.env, **self.server.kernel_environment()}
        direct = self.workdir / "direct"
        folders = {
            f"JUPYTER_{kind.upper()}_DIR": str(direct / kind)
            for kind in ("config", "data", "runtime")
        }
        for folder in folders.values():
            Path(folder).mkdir(parents=True, exist_ok=True)
        self._environments["direct"] = emulator_environment(
            self.emulator, direct / "cache" / "token_cache.bin", **folders, **_DEVICE_CODE
        )
        LOG.info("jupyter-msal docs: examples run against the emulator at %s", self.emulator.url)

    def on_source_read(self, app: Sphinx, docname: str, source: list[str]) -> None:
        """Before myst-nb executes an example: the environment its kernel inherits."""
        folder, _, name = docname.rpartition("/")
        if folder != EXAMPLES or app.config.nb_execution_mode == "off":
            return
        if self.emulator is None:
            self._start()
        if self._original_environ is None:
            self._original_environ = dict(os.environ)
        _replace_environ(self._environments["direct" if name in DIRECT_MODE else "server"])

    def issued_secrets(self) -> list[str]:
        """Everything the emulator issued that must never appear in the documentation."""
        emu = self.emulator
        if emu is None:
            return []
        return [
            *emu.issued_access_tokens,
            *emu.issued_refresh_tokens,
            *emu.issued_id_tokens,
            *emu.issued_device_codes,
        ]

    def stop(self) -> None:
        """Stop the server and the emulator; give this process its environment back."""
        if self._original_environ is not None:
            _replace_environ(self._original_environ)
            self._original_environ = None
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.emulator is not None:
            self.emulator.stop()
        atexit.unregister(self.stop)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def on_build_finished(self, app: Sphinx, exception: BaseException | None) -> None:
        """Stop everything, then fail the build if any output holds a token."""
        secrets = self.issued_secrets()
        self.stop()
        self.emulator = None
        if exception is not None:
            return
        folders = [Path(app.outdir)]
        nb_config = getattr(app.env, "mystnb_config", None)
        if nb_config is not None and getattr(nb_config, "output_folder", None):
            folders.append(Path(nb_config.output_folder))
        leaks = find_leaks(_built_files(folders), secrets)
        if leaks:
            raise ExtensionError(
                "the built documentation shows secrets (values not printed): " + "; ".join(leaks)
            )
        LOG.info("jupyter-msal docs: no token in %s", ", ".join(map(str, folders)))


def _replace_environ(env: Mapping[str, str]) -> None:
    for key in set(os.environ) - set(env):
        del os.environ[key]
    os.environ.update(env)


def _built_files(folders: Iterable[Path]) -> Iterator[Path]:
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in folder.rglob("*"):
            if path.suffix in _SCANNED_SUFFIXES and path.is_file() and "_static" not in path.parts:
                yield path


def find_leaks(files: Iterable[Path], secrets: Iterable[str]) -> list[str]:
    """``"<file>: <what>"`` for each file holding one of ``secrets`` or a JWT-shaped string."""
    secrets = [s for s in secrets if s]
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        kinds = []
        if any(secret in text for secret in secrets):
            kinds.append("a token or code the emulator issued")
        if JWT_SHAPE.search(text):
            kinds.append("a JWT-shaped string")
        if kinds:
            found.append(f"{path}: {' and '.join(kinds)}")
    return found


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the page generator, the example runner and the token check."""
    runner = ExampleRunner()
    app.connect("builder-inited", generate_pages)
    app.connect("source-read", runner.on_source_read)
    app.connect("build-finished", runner.on_build_finished)
    return {"parallel_read_safe": False, "parallel_write_safe": True}
