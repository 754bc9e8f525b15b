"""A missing optional package is one line in the notebook, never a traceback; the widget's
link and buttons are usable as drawn."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_msal.kernel.prompt import render_html
from jupyter_msal.models import Account
from jupyter_msal.testing.kernels import Kernel, direct_kernel

#: Imported first by every Python the kernel runs: ipywidgets cannot be found, as if it were
#: not installed.
HIDE_IPYWIDGETS = """
import sys


class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name == "ipywidgets" or name.startswith("ipywidgets."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NotInstalled())
"""

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def kernel_without_ipywidgets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    root = tmp_path_factory.mktemp("no-ipywidgets")
    (root / "site").mkdir()
    (root / "site" / "sitecustomize.py").write_text(HIDE_IPYWIDGETS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MSAL_")}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(root / "site"), env.get("PYTHONPATH", "")) if p
    )
    with direct_kernel(env, root) as kernel:
        yield kernel


def _one_line_error(kernel: Kernel, code: str) -> str:
    result = kernel.execute(code)
    assert result.status == "error"
    (error,) = result.errors
    assert len(error["traceback"]) == 1, error["traceback"]
    line = ANSI.sub("", error["traceback"][0])
    assert "\n" not in line and "Traceback" not in line
    return line


def test_missing_ipywidgets_is_one_line(kernel_without_ipywidgets: Kernel) -> None:
    kernel = kernel_without_ipywidgets
    assert kernel.eval("__import__('importlib.util').util.find_spec('jupyter_msal') is not None")
    expected = (
        "MissingDependency: LoginWidget needs ipywidgets, which this kernel's Python cannot "
        "import (No module named 'ipywidgets'): run `%pip install ipywidgets`, then restart "
        "the kernel."
    )
    assert _one_line_error(kernel, "import jupyter_msal\njupyter_msal.LoginWidget()") == expected
    assert _one_line_error(kernel, "from jupyter_msal import LoginWidget") == expected
    # Still an ImportError for code that guards the import itself.
    kernel.ok(
        "try:\n    from jupyter_msal import LoginWidget\n"
        "except ImportError as err:\n    caught = type(err).__name__\n"
    )
    assert kernel.eval("caught") == "MissingDependency"


def test_the_rest_works_and_errors_stay_one_line_with_the_magics(
    kernel_without_ipywidgets: Kernel,
) -> None:
    kernel = kernel_without_ipywidgets
    kernel.ok("%load_ext jupyter_msal")
    magics = kernel.eval("sorted(get_ipython().magics_manager.magics['line'])")
    assert "msal_token" in magics
    line = _one_line_error(kernel, "jupyter_msal.LoginWidget()")
    assert line.startswith("MissingDependency: LoginWidget needs ipywidgets")


class _Accounts:
    """Just enough of a client for the widget to draw a signed-in account."""

    def accounts(self) -> list[Account]:
        return [Account("uid.utid", "ada@contoso.com", "utid")]


def test_buttons_fit_their_labels_and_the_link_opens_a_new_tab() -> None:
    from jupyter_msal import LoginWidget

    w = LoginWidget(client=_Accounts())  # type: ignore[arg-type]
    assert w._sign_in_button.description == "Sign in another account"
    buttons = [w._sign_in_button, w._cancel_button, w._accounts_box.children[0].children[1]]
    for button in buttons:
        assert button.layout.width == "auto" and button.layout.min_width == "fit-content"

    flow = {
        "verification_uri": "http://127.0.0.1:8123/devicelogin",
        "user_code": "ABCD-EFGH",
        "expires_on": 0,
    }
    page = render_html(flow, countdown=False)
    (link,) = re.findall(r"<a [^>]*>", page)
    assert 'href="http://127.0.0.1:8123/devicelogin"' in link
    assert 'target="_blank"' in link and "noopener" in link
    assert "text-decoration:underline" in link  # JupyterLab's reset styles hide plain links
    assert "<script" not in page  # the widget's HTML does not run scripts


def test_no_extra_is_needed_for_the_widget() -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]
    assert any(re.match(r"ipywidgets\b", dep) for dep in project["dependencies"])
