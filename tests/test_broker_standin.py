"""The broker end to end through msal's own broker adapter, against a stand-in pymsalruntime.

``tests/standins/pymsalruntime.py`` plays the OS broker and signs in at the emulator, as the
real broker signs in at Entra ID; msal, the token service and its sign-in flows run as they
would with the real one.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_msal.config.settings import JupyterMsal
from jupyter_msal.models import FlowState, SignInMethod
from jupyter_msal.service import TokenService
from jupyter_msal.testing import EntraEmulator

STORAGE = "https://storage.azure.com/.default"
STANDINS = Path(__file__).parent / "standins"


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The stand-in importable as ``pymsalruntime`` (and msal's adapter re-imported on it)."""
    monkeypatch.syspath_prepend(str(STANDINS))
    for name in ("pymsalruntime", "msal.broker"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import pymsalruntime

    yield pymsalruntime
    for name in ("pymsalruntime", "msal.broker"):
        sys.modules.pop(name, None)


@pytest.fixture
def service(
    runtime: Any, msal_emulator: EntraEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TokenService]:
    env = msal_emulator.jupyter_msal_env(cache_path=tmp_path / "cache.bin", http_timeout=10)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    msal_emulator.device_code_interval = 1
    svc = TokenService(JupyterMsal())
    try:
        yield svc
    finally:
        svc.close()


def test_broker_is_detected_and_auto_uses_it(service: TokenService) -> None:
    assert service.broker.available
    assert service.flows.available_methods()[0] is SignInMethod.BROKER
    assert service.flows.choose("auto") == (SignInMethod.BROKER, None)


def test_broker_sign_in_then_silent_tokens(
    service: TokenService, runtime: Any, msal_emulator: EntraEmulator
) -> None:
    runtime.configure(msal_emulator, outcome="success", username="ada@contoso.com")
    flow = service.flows.start("auto", [STORAGE])
    assert flow.method is SignInMethod.BROKER
    assert flow.wait(20) is FlowState.SUCCEEDED, flow.fallback_reason
    assert [name for name, _ in runtime.calls] == ["signin_silently", "signin_interactively"]
    accounts = service.list_accounts()
    assert [(a.username, a.sign_in_method) for a in accounts] == [("ada@contoso.com", "broker")]
    assert msal_emulator.counts["grant:authorization_code"] == 1  # the broker's own sign-in

    # tokens come silently through the broker, which refreshes at the identity provider
    token = service.acquire_token([STORAGE], force_refresh=True)
    assert token in msal_emulator.issued_access_tokens
    assert ("acquire_token_silently", [STORAGE]) in [(n, s[:1]) for n, s in runtime.calls]


def test_user_closes_the_broker_window(
    service: TokenService, runtime: Any, msal_emulator: EntraEmulator
) -> None:
    runtime.configure(msal_emulator, outcome="cancel")
    flow = service.flows.start("broker")
    assert flow.wait(20) is FlowState.CANCELLED
    assert flow.method is SignInMethod.BROKER  # no other method after the user said no
    assert service.list_accounts() == []


def test_broker_error_falls_back(
    service: TokenService, runtime: Any, msal_emulator: EntraEmulator
) -> None:
    runtime.configure(msal_emulator, outcome="error")
    flow = service.flows.start("auto")
    assert flow.method is SignInMethod.BROKER
    flow.wait(20)  # wakes at the new step
    assert flow.state is FlowState.PENDING and flow.method is SignInMethod.DEVICE_CODE
    assert "The broker failed" in (flow.fallback_reason or "")
    assert flow.prompt.user_code
    msal_emulator.approve(flow.prompt.user_code, "grace@contoso.com")
    assert flow.wait(20) is FlowState.SUCCEEDED
    accounts = service.list_accounts()
    assert [(a.username, a.sign_in_method) for a in accounts] == [
        ("grace@contoso.com", "device_code")
    ]


def test_pip_brings_the_broker_runtime_on_windows_and_macos() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    from packaging.requirements import Requirement

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    runtime = [Requirement(r) for r in project["project"]["dependencies"]]
    runtime = [r for r in runtime if r.name == "pymsalruntime"]
    assert len(runtime) == 1 and runtime[0].marker is not None
    on = {p: runtime[0].marker.evaluate({"sys_platform": p}) for p in ("win32", "darwin", "linux")}
    assert on == {"win32": True, "darwin": True, "linux": False}
    extra = [Requirement(r) for r in project["project"]["optional-dependencies"]["broker"]]
    assert [r.name for r in extra] == ["pymsalruntime"]  # Linux: the `broker` extra
