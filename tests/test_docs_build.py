"""The documentation site builds with warnings as errors, its examples are executed against the
emulator, its generated pages follow the code, and a token in any output fails the build."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

from jupyter_msal.identity.msal_results import AADSTS_HINTS
from jupyter_msal.server.openapi import openapi_document

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _extension() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "jupyter_msal_docs", DOCS / "_ext" / "jupyter_msal_docs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The site as the README builds it (``sphinx-build -W --keep-going -b html docs OUT``)."""
    out = tmp_path_factory.mktemp("docs") / "html"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MSAL_")}
    started = time.monotonic()
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "docs", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    log = build.stdout + build.stderr
    assert build.returncode == 0, log[-6000:]
    print(f"docs built in {time.monotonic() - started:.1f} s")
    return out, log


@pytest.mark.slow
def test_the_site_builds_and_runs_the_examples(site: tuple[Path, str]) -> None:
    out, log = site
    assert "jupyter-msal docs: no token in" in log
    for page in (
        "index", "getting-started", "configuration", "rest-api", "rest-reference", "python-api",
        "cli", "security", "troubleshooting", "notebook", "emulator",
    ):  # fmt: skip
        assert (out / f"{page}.html").is_file(), page
    executed = sorted(p.stem for p in (out.parent / "jupyter_execute" / "examples").glob("*.ipynb"))
    shipped = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert set(executed) <= set(shipped) and len(executed) >= 4, executed
    for name in shipped:
        assert (out / "examples" / f"{name}.html").is_file(), name

    # What the readers see: the sign-in happened, the tokens are shown redacted.
    first = (out / "examples" / "01-getting-started.html").read_text()
    assert "Signed in as ada@contoso.com." in first
    assert "&lt;AccessToken for ada@contoso.com" in first
    direct = (out / "examples" / "04-direct-mode.html").read_text()
    assert "&#39;direct&#39;" in direct and "Signed in as ada@contoso.com." in direct
    for name in executed:
        nb = json.loads((out.parent / "jupyter_execute" / "examples" / f"{name}.ipynb").read_text())
        if nb["metadata"].get("mystnb", {}).get("execution_mode") == "off":
            continue  # a notebook that needs services the build does not have
        outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
        assert outputs and not [o for o in outputs if o["output_type"] == "error"], name


def test_generated_pages_follow_the_code(site: tuple[Path, str]) -> None:
    out, _ = site
    page = (out / "rest-reference.html").read_text()
    reference = " ".join(re.sub(r"<[^>]+>", "", page).split())
    document = openapi_document()
    for path, item in document["paths"].items():
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"}:
                assert f"{method.upper()} /jupyter-msal{path}" in reference, (method, path)
    for schema in document["components"]["schemas"]:
        assert f'id="openapi-{schema.lower()}"' in page, schema
    troubleshooting = (out / "troubleshooting.html").read_text()
    for code in AADSTS_HINTS:
        assert f"AADSTS{code}" in troubleshooting, code
    api = (out / "python-api.html").read_text()
    for name in (
        "get_token", "accounts", "login", "logout", "Credential", "AsyncCredential",
        "BearerAuth", "LoginWidget", "AccessToken", "JupyterMsalError", "SignInRequired",
    ):  # fmt: skip
        assert re.search(rf'id="jupyter_msal\.[\w.]*{name}"', api), name


def test_a_token_in_any_output_fails_the_build(tmp_path: Path) -> None:
    ext = _extension()
    issued = "opaque-refresh-token-value-0123456789"
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl"
    (tmp_path / "html" / "examples").mkdir(parents=True)
    (tmp_path / "html" / "_static").mkdir()
    clean = tmp_path / "html" / "index.html"
    clean.write_text("<p>&lt;AccessToken for ada@contoso.com, …&gt;</p>")
    (tmp_path / "html" / "_static" / "theme.js").write_text(jwt)  # theme files are not outputs
    (tmp_path / "html" / "examples" / "a.html").write_text(f"<pre>{issued}</pre>")
    (tmp_path / "jupyter_execute").mkdir()
    (tmp_path / "jupyter_execute" / "b.ipynb").write_text(json.dumps({"text": f"Bearer {jwt}"}))

    runner = ext.ExampleRunner()
    runner.emulator = SimpleNamespace(
        issued_access_tokens=[],
        issued_refresh_tokens=[issued],
        issued_id_tokens=[],
        issued_device_codes=[],
        stop=lambda: None,
    )
    app = SimpleNamespace(
        outdir=str(tmp_path / "html"),
        env=SimpleNamespace(
            mystnb_config=SimpleNamespace(output_folder=str(tmp_path / "jupyter_execute"))
        ),
    )
    with pytest.raises(ext.ExtensionError) as failure:
        runner.on_build_finished(app, None)
    message = str(failure.value)
    assert "a.html: a token or code the emulator issued" in message
    assert "b.ipynb: a JWT-shaped string" in message
    assert "index.html" not in message and "theme.js" not in message
    assert issued not in message and jwt not in message  # named, never printed


def test_openapi_markdown_describes_types() -> None:
    ext = _extension()
    text = ext.openapi_markdown(openapi_document())
    assert "| `account` | [Account](#openapi-account) or null | yes |" in text
    assert "array of [Account](#openapi-account)" in text
    assert re.search(r"\| `wait` \| query \| number \(≥ 0, ≤ 30\) \|", text)
