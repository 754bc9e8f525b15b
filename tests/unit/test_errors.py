"""jupyter_msal.errors: the tree in the docstring, registration by code, the JSON round trip."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jupyter_msal import errors
from jupyter_msal.errors import (
    ConfigError,
    ExtensionInactive,
    JupyterMsalError,
    SignInRequired,
    error_from_dict,
)


def _subclasses(cls: type[JupyterMsalError]) -> list[type[JupyterMsalError]]:
    found: list[type[JupyterMsalError]] = []
    for sub in cls.__subclasses__():
        if sub.__module__ == errors.__name__:
            found += [sub, *_subclasses(sub)]
    return found


EVERY_CLASS = [JupyterMsalError, *_subclasses(JupyterMsalError)]

#: The fields of its own each class writes beside ``error`` and ``message`` (any class also
#: carries free details, such as the identity provider's correlation id).
OWN_FIELDS: dict[type[JupyterMsalError], dict[str, Any]] = {
    ConfigError: {"setting": "authority"},
    errors.CacheLocked: {"retry_after": 5},
    SignInRequired: {"scopes": ["https://storage.azure.com/.default"], "claims": '{"a": 1}'},
    errors.HubLoginUnusable: {"scopes": ["User.Read"]},
    errors.IdentityProviderUnavailable: {"retry_after": 60, "replayed": True},
}


def test_the_module_holds_the_tree_and_the_wire_format_only() -> None:
    """(tests/test_docs_and_api.py checks the tree drawn in the docstring against these.)"""
    public = {cls.__name__ for cls in EVERY_CLASS} | {"error_from_dict"}
    assert set(errors.__all__) == public
    defined = {
        n for n, v in vars(errors).items() if getattr(v, "__module__", "") == errors.__name__
    }
    assert defined == public


def test_every_class_declares_a_code_of_its_own() -> None:
    codes = [cls.code for cls in EVERY_CLASS]
    assert len(codes) == len(set(codes))
    assert all("code" in cls.__dict__ for cls in EVERY_CLASS)


@pytest.mark.parametrize("cls", EVERY_CLASS, ids=lambda cls: cls.__name__)
def test_every_class_round_trips_through_json(cls: type[JupyterMsalError]) -> None:
    fields = {"correlation_id": "c0ffee", **OWN_FIELDS.get(cls, {})}
    err = cls("What went wrong.", hint="What to do.", aadsts="50076", **fields)
    body = json.loads(json.dumps(err.to_dict()))
    assert body == {
        "error": cls.code,
        "message": "What went wrong.",
        "hint": "What to do.",
        "aadsts": "50076",
        **fields,
    }
    back = error_from_dict(body, 500)
    assert type(back) is cls
    assert (back.message, back.hint, back.aadsts) == ("What went wrong.", "What to do.", "50076")
    assert back.to_dict() == err.to_dict() and str(back) == str(err)
    for name, value in OWN_FIELDS.get(cls, {}).items():
        expected = tuple(value) if name == "scopes" else value
        assert getattr(back, name) == getattr(err, name) == expected, name


def test_a_class_defined_later_registers_and_round_trips() -> None:
    class QuotaExceeded(errors.IdentityProviderError):
        """Defined outside errors.py, after it was imported."""

        code = "test_quota_exceeded"

        def __init__(self, message: str, *, quota: int | None = None, **kw: Any) -> None:
            super().__init__(message, quota=quota, **kw)
            self.quota = quota

    back = error_from_dict(QuotaExceeded("Too many.", quota=3).to_dict())
    assert type(back) is QuotaExceeded and back.quota == 3 and back.message == "Too many."


def test_a_subclass_without_a_code_keeps_its_parents() -> None:
    class Quieter(errors.NotFound):
        """No code of its own: answers as not_found, which stays NotFound's."""

    assert Quieter("x").to_dict()["error"] == "not_found"
    assert type(error_from_dict({"error": "not_found", "message": "x"})) is errors.NotFound


def test_config_error_names_its_setting() -> None:
    err = ConfigError.about("authority", "bad")
    assert (err.message, err.setting) == ("JupyterMsal.authority: bad", "authority")
    assert err.to_dict() == {
        "error": "config_error",
        "message": "JupyterMsal.authority: bad",
        "setting": "authority",
    }
    file_error = ConfigError("cannot load config file x.py: boom")
    assert file_error.setting is None and "setting" not in file_error.to_dict()
    assert isinstance(err, ValueError)


def test_unknown_codes_and_bare_bodies() -> None:
    unknown = error_from_dict({"error": "from_a_newer_server", "message": "m", "extra": 1})
    assert type(unknown) is JupyterMsalError and unknown.details == {"extra": 1}
    assert error_from_dict({}, 502).message == "HTTP 502"
    assert error_from_dict({"error": "not_found"}).message == "not_found"


def test_defaults_that_a_rebuilt_error_keeps() -> None:
    required = SignInRequired()
    assert "Sign in first" in required.message and required.hint
    assert error_from_dict({**required.to_dict(), "hint": None}).hint is None
    assert str(errors.AccountNotNamed()).startswith("Name the account")
    inactive = ExtensionInactive.because("JupyterMsal.authority: bad")
    back = error_from_dict(inactive.to_dict(), 503)
    assert type(back) is ExtensionInactive and str(back) == str(inactive)
    assert str(back).splitlines()[0] == ExtensionInactive.PREFIX + "JupyterMsal.authority: bad"
