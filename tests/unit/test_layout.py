"""The package's shape: a small root, modules of one job, functions a reader can follow.

These rules are the ones docs/architecture.md states. A function's length does not count its
docstring; a longer one is allowed when its docstring says why (``Long because ...``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "jupyter_msal"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
#: Folders of the package that hold no Python of ours.
NOT_PYTHON = {"labextension", "event_schemas", "__pycache__", "notebooks"}


def _python_files() -> list[Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if not NOT_PYTHON & set(path.relative_to(PACKAGE).parts) and path.name != "_version.py"
    )


def _contracts() -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["importlinter"]["contracts"]


def test_the_root_holds_the_vocabulary_the_service_and_the_entry_points() -> None:
    modules = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "_version")
    assert len(modules) <= 12, modules


@pytest.mark.parametrize("path", _python_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_too_long(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


def test_no_function_is_long_without_a_reason() -> None:
    long = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                length -= (first.end_lineno or first.lineno) - first.lineno + 1  # the docstring
            reason = "Long because" in (ast.get_docstring(node) or "")
            if length > MAX_FUNCTION_LINES and not reason:
                long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert not long, "\n".join(long)


def test_every_production_module_is_kept_from_the_test_harness() -> None:
    """The forbidden contract names every module of the package but the demo and testing/."""
    (contract,) = [c for c in _contracts() if c["type"] == "forbidden"]
    guarded = set(contract["source_modules"])
    expected = set()
    for path in PACKAGE.iterdir():
        name = path.stem
        if name in NOT_PYTHON or name.startswith(".") or name in {"testing", "__init__"}:
            continue
        if path.is_dir() and name == "cli":
            expected |= {
                f"jupyter_msal.cli.{p.stem}" for p in path.glob("*.py") if p.stem not in
                {"__init__", "demo"}
            }
        elif path.is_dir() or path.suffix == ".py":
            expected.add(f"jupyter_msal.{name}")
    assert guarded == expected


def test_the_layers_contract_lists_every_top_level_module() -> None:
    (layers,) = [c for c in _contracts() if c.get("containers") == ["jupyter_msal"]]
    assert layers["exhaustive"] is True
    assert set(layers["exhaustive_ignores"]) == {"labextension", "testing"}
