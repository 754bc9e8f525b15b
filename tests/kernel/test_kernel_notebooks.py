"""The notebooks in notebooks/ run against the emulator and never show a token."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_msal.testing import DEFAULT_USERNAME as ADA
from jupyter_msal.testing import EntraEmulator
from jupyter_msal.testing.server import JupyterServerProcess, emulator_environment

REPO = Path(__file__).resolve().parents[2]

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
SERVER_MODE = ["01-getting-started", "02-azure-sdk-credential", "03-login-widget"]


def test_the_notebooks_are_there_and_saved_without_outputs() -> None:
    # 05 runs against Azurite in test_kernel_managed_identity.py
    assert [p.stem for p in NOTEBOOKS] == [*SERVER_MODE, "04-direct-mode", "05-existing-azure-code"]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name
        assert "widgets" not in nb.metadata


def _execute(path: Path, env: dict[str, str], cwd: Path) -> Any:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    client.execute(env=env)
    return nb


def _assert_no_token_shown(nb: Any, emulator: EntraEmulator) -> str:
    everything = json.dumps(nb)  # every output, errors included, and widget state
    issued = emulator.issued_access_tokens
    assert issued
    for token in issued:
        assert token not in everything
    return everything


@pytest.mark.parametrize("name", SERVER_MODE)
def test_notebook_through_the_server(
    name: str, signed_out: JupyterServerProcess, emulator: EntraEmulator, tmp_path: Path
) -> None:
    emulator.auto_approve = ADA
    env = {**signed_out.env, **signed_out.kernel_environment()}
    nb = _execute(REPO / "notebooks" / f"{name}.ipynb", env, tmp_path)
    everything = _assert_no_token_shown(nb, emulator)
    assert "<AccessToken for ada@contoso.com" in everything
    if name == "01-getting-started":
        assert f"Signed in as {ADA}." in everything  # the prompt was shown, then replaced


def test_direct_mode_notebook(emulator: EntraEmulator, tmp_path: Path) -> None:
    emulator.auto_approve = ADA
    env = emulator_environment(emulator, tmp_path / "cache" / "token_cache.bin")
    nb = _execute(REPO / "notebooks" / "04-direct-mode.ipynb", env, tmp_path)
    everything = _assert_no_token_shown(nb, emulator)
    assert "'direct'" in everything
    assert "enter the code" in everything and f"Signed in as {ADA}." in everything
    assert str(tmp_path / "cache" / "token_cache.bin") in everything
