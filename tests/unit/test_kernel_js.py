"""The JavaScript of the cell prompts (``jupyter_msal/kernel/js/*.js``): valid, and rendered
into the HTML exactly as written."""

from __future__ import annotations

import html
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path

import pytest

from jupyter_msal.kernel import scripts
from jupyter_msal.kernel.browser_prompt import render_browser_html
from jupyter_msal.kernel.prompt import render_code_html, render_html

JS = files("jupyter_msal.kernel") / "js"
ROOT = Path(__file__).resolve().parents[2]


def test_the_folder_holds_exactly_the_scripts_named() -> None:
    shipped = sorted(p.name for p in JS.iterdir() if p.name.endswith(".js"))
    assert shipped == sorted(scripts.SCRIPT_NAMES)


def test_the_wheel_ships_them() -> None:
    wheel = pytest.importorskip("hatchling.builders.wheel")
    shipped = {f.distribution_path for f in wheel.WheelBuilder(str(ROOT)).recurse_included_files()}
    assert {f"jupyter_msal/kernel/js/{name}" for name in scripts.SCRIPT_NAMES} <= shipped


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("name", scripts.SCRIPT_NAMES)
def test_node_check_passes(name: str) -> None:
    path = JS / name
    done = subprocess.run(
        ["node", "--check", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", scripts.SCRIPT_NAMES)
def test_comments_are_dropped_and_lines_kept(name: str) -> None:
    text = scripts.script(name)
    assert not any(line.startswith(("//", "/*")) for line in text.splitlines())
    code = [
        line.strip()
        for line in (JS / name).read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith(("//", "/*"))
    ]
    assert text.splitlines() == code


def test_onclick_handlers_fit_a_double_quoted_attribute() -> None:
    copy = render_code_html("ABCD-1234")
    onclick = copy.split('onclick="')[2].split('" style=')[0]
    assert '"' not in onclick
    assert html.unescape(onclick) == scripts.script("copy_button.js")
    assert "navigator.clipboard&amp;&amp;window.isSecureContext" in onclick
    assert "document.execCommand('copy')" in onclick

    flow = {"sign_in_url": "https://login.example/x", "id": "f1"}
    prompt = render_browser_html(flow, element_id="p")
    onclick = prompt.split('onclick="')[1].split('" style=')[0]
    assert html.unescape(onclick) == scripts.script("paste_button.js")
    assert "jupyter-msal/sign-ins/" in onclick and "X-XSRFToken" in onclick


def test_countdown_gets_the_element_id_as_json() -> None:
    flow = {"user_code": "AB", "verification_uri": "https://x/devicelogin", "expires_on": 2e9}
    page = render_html(flow, element_id="p1")
    assert 'document.getElementById("p1")' in page and "ELEMENT_ID" not in page
    hostile = scripts.script_element("countdown.js", ELEMENT_ID='x"</script><b>')
    assert hostile.count("</script>") == 1
    assert 'getElementById("x\\"\\u003c/script>\\u003cb>")' in hostile


def test_unknown_script_is_refused() -> None:
    with pytest.raises(ValueError, match="no such script"):
        scripts.script("../../errors.py")
