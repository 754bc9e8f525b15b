"""Docs match the code; the public API is what ``__all__`` says."""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import jupyter_msal
from jupyter_msal import errors
from jupyter_msal.config import JupyterMsal
from jupyter_msal.identity import msal_results

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
from config_docs import settings_markdown  # noqa: E402  (docs/_ext is not a package)

PINNED_SETTINGS = {
    "client_id",
    "authority",
    "oidc_authority",
    "azure_region",
    "instance_discovery",
    "broker",
    "sign_in_method",
    "default_scopes",
    "allowed_scopes",
    "cache_path",
    "cache_encryption",
    "cache_key",
    "ca_bundle",
    "http_timeout",
    "client_secret",
    "client_certificate_path",
}


def test_configuration_doc_is_generated_from_the_code() -> None:
    assert (ROOT / "docs" / "configuration.md").read_text() == settings_markdown(), (
        "docs/configuration.md is stale: "
        "run `python docs/_ext/config_docs.py > docs/configuration.md`"
    )


def test_every_setting_has_help_and_the_pinned_names_exist() -> None:
    names = set(JupyterMsal.class_trait_names(config=True))
    assert PINNED_SETTINGS <= names
    for name in names:
        assert len(JupyterMsal.class_traits()[name].help) > 30, name


def test_readme_names_the_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    for command in ('pip install -e ".[test]"', "jupyter lab", "jupyter msal demo", "scripts/test"):
        assert command in readme
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
    for link in (
        "docs/configuration.md",
        "docs/rest-api.md",
        "docs/cli.md",
        "docs/security.md",
        "docs/architecture.md",
        "docs/cache.md",
        "docs/emulator.md",
    ):
        assert (ROOT / link).is_file(), link


#: The kernel API the design pins (a contract with notebooks), besides the version.
PINNED_API = {"get_token", "accounts", "login", "logout", "Credential", "LoginWidget"}


def _exception_classes() -> dict[str, type[errors.JupyterMsalError]]:
    """Every jupyter-msal exception class defined in ``errors``, by name."""
    return {
        name: obj
        for name, obj in vars(errors).items()
        if isinstance(obj, type)
        and issubclass(obj, errors.JupyterMsalError)
        and obj.__module__ == errors.__name__
    }


def test_public_names() -> None:
    # Load every submodule first, as a running server does: a module that becomes an attribute
    # of the package must not hide a public name of the same spelling.
    for module in pkgutil.iter_modules(jupyter_msal.__path__):
        if module.name != "labextension":
            importlib.import_module(f"jupyter_msal.{module.name}")
    names = jupyter_msal.__all__
    assert names == sorted(names) and len(set(names)) == len(names)
    assert PINNED_API | {"__version__", "load_ipython_extension"} <= set(names)
    assert jupyter_msal.__version__ == importlib.metadata.version("jupyter-msal")
    for name in set(names) - {"__version__"}:
        obj = getattr(jupyter_msal, name)
        assert callable(obj), f"jupyter_msal.{name} is {obj!r}"
        assert obj.__module__.startswith("jupyter_msal"), (name, obj.__module__)
        assert (obj.__doc__ or "").strip(), f"{name} has no docstring"

    assert errors.__all__ == sorted(errors.__all__)
    for name in errors.__all__:
        assert hasattr(errors, name), name
    assert set(_exception_classes()) <= set(errors.__all__)


def _drawn_tree(doc: str) -> dict[str, str | None]:
    """The tree drawn after ``The tree::`` in a docstring: class name -> drawn parent."""
    lines = doc.split("The tree::", 1)[1].splitlines()
    block = []
    for line in lines[1:] if lines and not lines[0].strip() else lines:
        if not line.strip():
            if block:
                break
            continue
        block.append(line)
    indent = min(len(line) - len(line.lstrip(" ")) for line in block)
    parents: dict[str, str | None] = {}
    stack: list[str] = []
    for line in block:
        match = re.match(r"(?P<branch>[ │├└─]*)(?P<name>[A-Za-z_]\w*)", line[indent:])
        assert match, f"not a tree line: {line!r}"
        depth, rest = divmod(len(match["branch"]), 4)
        assert rest == 0, f"misaligned tree line: {line!r}"
        del stack[depth:]
        assert len(stack) == depth, f"tree line without a parent: {line!r}"
        parents[match["name"]] = stack[-1] if stack else None
        stack.append(match["name"])
    return parents


def test_error_tree_in_docstring_matches_classes() -> None:
    drawn = _drawn_tree(errors.__doc__ or "")
    classes = _exception_classes()
    assert set(drawn) == set(classes)
    real: dict[str, str | None] = {}
    for name, cls in classes.items():
        bases = [b.__name__ for b in cls.__bases__ if issubclass(b, errors.JupyterMsalError)]
        assert len(bases) <= 1, (name, bases)
        real[name] = bases[0] if bases else None
    assert drawn == real


def test_errors_round_trip_through_json() -> None:
    err = errors.SignInRequired("Sign in again: x", scopes=["a"], claims="{}", aadsts="70008")
    back = errors.error_from_dict(err.to_dict(), 401)
    assert type(back) is errors.SignInRequired and back.scopes == ("a",) and back.claims == "{}"
    conf = errors.error_from_dict(errors.ConfigError.about("authority", "bad").to_dict())
    assert isinstance(conf, errors.ConfigError) and conf.setting == "authority"


def test_msal_error_dicts_become_typed_errors() -> None:
    mfa = msal_results.error_from_msal_result(
        {
            "error": "invalid_grant",
            "error_description": "AADSTS50076: Due to MFA...\nTrace ID: x",
            "error_codes": [50076],
        }
    )
    assert isinstance(mfa, errors.SignInRequired) and mfa.aadsts == "50076"
    assert "multi-factor" in (mfa.hint or "").lower() and "Trace ID" not in mfa.message
    ca = msal_results.error_from_msal_result(
        {"error": "access_denied", "error_description": "AADSTS53003: blocked"}
    )
    assert isinstance(ca, errors.IdentityProviderError) and "Conditional Access" in (ca.hint or "")
    consent = msal_results.error_from_msal_result(
        {"error": "invalid_grant", "error_description": "AADSTS65001: no consent"}
    )
    assert "consent" in (consent.hint or "")
    unknown_app = msal_results.error_from_msal_result(
        {"error": "unauthorized_client", "error_description": "AADSTS700016: app"}
    )
    assert "client_id" in (unknown_app.hint or "")
    declined = msal_results.error_from_msal_result(
        {"error": "authorization_declined"}, during_sign_in=True
    )
    assert isinstance(declined, errors.SignInDeclined)


def test_import_is_light() -> None:
    code = (
        "import sys, jupyter_msal; "
        "print(sorted(m for m in ('msal', 'tornado', 'jupyter_server', 'requests') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
