"""The broker's "not available" reason suggests pip only where pip can bring a broker."""

from __future__ import annotations

import sys

import pytest

from jupyter_msal.identity.broker_detect import detect_broker, missing_runtime_reason

PIP_HINT = "pip install 'jupyter-msal[broker]'"


@pytest.fixture
def no_pymsalruntime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pymsalruntime", None)  # import raises ImportError


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_pip_is_suggested_where_the_os_has_the_broker(
    no_pymsalruntime: None, platform: str
) -> None:
    status = detect_broker("auto", platform=platform)
    assert not status.available
    assert status.reason == f"pymsalruntime is not installed ({PIP_HINT})"


def test_linux_names_the_broker_service_not_pip(no_pymsalruntime: None) -> None:
    status = detect_broker("auto", platform="linux")
    assert not status.available and status.reason is not None
    assert "pip install" not in status.reason
    assert "Microsoft Identity Broker service" in status.reason
    assert "pymsalruntime" in status.reason


def test_other_systems_have_no_broker(no_pymsalruntime: None) -> None:
    reason = missing_runtime_reason("freebsd14")
    assert "pip install" not in reason and "freebsd14" in reason


def test_default_is_this_machine(no_pymsalruntime: None) -> None:
    assert detect_broker("auto").reason == missing_runtime_reason(sys.platform)
    assert detect_broker("never").reason == "JupyterMsal.broker is 'never'"
