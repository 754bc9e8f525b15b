"""jupyter_msal.flows.continuation: which failures let a sign-in carry on with another method."""

from __future__ import annotations

import logging

import pytest

from jupyter_msal.errors import (
    IdentityProviderError,
    JupyterMsalError,
    SignInCancelled,
    SignInDeclined,
    SignInFailed,
)
from jupyter_msal.flows.continuation import (
    DEVICE_CODE_BLOCKED,
    carry_on_with,
    continue_in_browser,
    continue_without_broker,
)
from jupyter_msal.flows.flow import SignInFlow
from jupyter_msal.models import FlowState, SignInMethod

LOG = logging.getLogger("tests.unit.continuation")
SCOPES = ("https://storage.azure.com/.default",)


class FakeStrategy:
    """A sign-in method that records the flows it started, or refuses to start."""

    def __init__(self, method: SignInMethod, refuse: JupyterMsalError | None = None) -> None:
        self.method = method
        self.refuse = refuse
        self.started: list[tuple[str, SignInMethod]] = []

    def unavailable_reason(self) -> str | None:
        return None

    def start(self, flow: SignInFlow) -> None:
        self.started.append((flow.id, flow.method))
        if self.refuse is not None:
            raise self.refuse
        flow.prompt.sign_in_url = "https://127.0.0.1/sign-in"


def device_code_flow() -> SignInFlow:
    return SignInFlow(SignInMethod.DEVICE_CODE, SCOPES)


@pytest.mark.parametrize("aadsts", sorted(DEVICE_CODE_BLOCKED))
def test_a_blocked_device_code_continues_in_the_browser(aadsts: str):
    flow, browser = device_code_flow(), FakeStrategy(SignInMethod.AUTH_CODE)
    continue_in_browser(flow, browser, LOG)
    step = flow.step

    assert flow.fail(SignInFailed("blocked", aadsts=aadsts)) is False

    assert flow.state is FlowState.PENDING
    assert flow.method is SignInMethod.AUTH_CODE
    assert browser.started == [(flow.id, SignInMethod.AUTH_CODE)]
    assert f"AADSTS{aadsts}" in (flow.fallback_reason or "")
    assert flow.step == step + 1  # waiters see the new step
    assert flow.prompt.sign_in_url


@pytest.mark.parametrize(
    "error",
    [
        SignInFailed("refused", aadsts="50126"),  # wrong password: not a device-code policy
        SignInFailed("no code"),
        SignInDeclined("declined", aadsts="50126"),
        IdentityProviderError("down"),
    ],
)
def test_other_device_code_failures_fail_the_flow(error: JupyterMsalError):
    flow, browser = device_code_flow(), FakeStrategy(SignInMethod.AUTH_CODE)
    continue_in_browser(flow, browser, LOG)

    assert flow.fail(error) is True

    assert flow.state is FlowState.FAILED
    assert flow.error is error
    assert flow.method is SignInMethod.DEVICE_CODE
    assert browser.started == []
    assert flow.fallback_reason is None


def test_the_flow_carries_on_once_only():
    flow, browser = device_code_flow(), FakeStrategy(SignInMethod.AUTH_CODE)
    continue_in_browser(flow, browser, LOG)
    blocked = SignInFailed("blocked", aadsts="53003")
    assert flow.fail(blocked) is False
    assert flow.fail(blocked) is True  # the browser sign-in failed the same way: no loop
    assert flow.state is FlowState.FAILED
    assert len(browser.started) == 1


def test_a_method_that_cannot_start_leaves_the_flow_as_it_was(caplog: pytest.LogCaptureFixture):
    flow = device_code_flow()
    browser = FakeStrategy(SignInMethod.AUTH_CODE, refuse=SignInFailed("no redirect URI"))
    continue_in_browser(flow, browser, LOG)
    error = SignInFailed("blocked", aadsts="53003")

    with caplog.at_level(logging.WARNING, LOG.name):
        assert flow.fail(error) is True

    assert flow.state is FlowState.FAILED
    assert flow.error is error
    assert flow.method is SignInMethod.DEVICE_CODE
    assert flow.fallback_reason is None
    assert "cannot continue" in caplog.text


@pytest.mark.parametrize(
    ("error", "carries_on"),
    [
        (SignInFailed("broker crashed"), True),
        (IdentityProviderError("broker said 500"), True),
        (SignInDeclined("the user said no"), True),
        (SignInCancelled("the user closed the window"), False),
    ],
)
def test_a_failed_broker_continues_unless_the_user_cancelled(
    error: JupyterMsalError, carries_on: bool
):
    flow = SignInFlow(SignInMethod.BROKER, SCOPES)
    fallback = FakeStrategy(SignInMethod.DEVICE_CODE)
    armed: list[SignInMethod] = []
    continue_without_broker(flow, fallback, LOG, then=lambda f: armed.append(f.method))

    flow.fail(error)

    if carries_on:
        assert flow.state is FlowState.PENDING
        assert flow.method is SignInMethod.DEVICE_CODE
        assert armed == [SignInMethod.DEVICE_CODE]  # armed for the new method, before start
        assert fallback.started == [(flow.id, SignInMethod.DEVICE_CODE)]
        assert flow.fallback_reason == f"The broker failed ({error.message}): continue without it."
    else:
        assert flow.state is FlowState.FAILED
        assert (armed, fallback.started, flow.method) == ([], [], SignInMethod.BROKER)


def test_carry_on_with_uses_the_given_rule_and_reason():
    flow = device_code_flow()
    other = FakeStrategy(SignInMethod.BROKER)
    carry_on_with(
        flow,
        other,
        LOG,
        when=lambda error: error.hint == "switch",
        reason=lambda error: f"switched after {error.message}",
    )
    assert flow.continue_as is not None
    assert flow.continue_as(SignInFailed("x", hint="stay")) is False
    assert flow.method is SignInMethod.DEVICE_CODE
    assert flow.continue_as(SignInFailed("y", hint="switch")) is True
    assert (flow.method, flow.fallback_reason) == (SignInMethod.BROKER, "switched after y")


def test_a_cancelled_flow_does_not_carry_on():
    flow, browser = device_code_flow(), FakeStrategy(SignInMethod.AUTH_CODE)
    continue_in_browser(flow, browser, LOG)
    flow.cancel()
    assert flow.fail(SignInFailed("blocked", aadsts="53003")) is False
    assert flow.state is FlowState.CANCELLED
    assert browser.started == []
