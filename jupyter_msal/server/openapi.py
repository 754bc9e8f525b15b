"""The OpenAPI 3 description of the REST API, served at ``jupyter-msal/openapi.json``.

The description is data, as jupyter_server ships its ``api.yaml``: ``openapi.yaml`` beside
this module. :func:`openapi_document` reads it once and fills in again what comes from
:mod:`jupyter_msal.models` (:data:`DERIVED`: the account fields and the enumerations), the
package version and the server URL, so a new sign-in method or account field reaches the
document without an edit; a test checks that the file agrees with the models too.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from importlib import resources
from typing import Any

from .._version import __version__
from ..models import Account, FlowState, SignInMethod

__all__ = ["DERIVED", "openapi_document", "spec_file_text"]

_SPEC_FILE = "openapi.yaml"


def _sign_in_methods() -> list[str]:
    """The methods a sign-in can end up using (``auto`` picks one of them)."""
    return [m.value for m in SignInMethod if m is not SignInMethod.AUTO]


def _account_required() -> list[str]:
    return list(Account.__dataclass_fields__)


def _account_properties() -> dict[str, Any]:
    return {name: {"type": "string"} for name in Account.__dataclass_fields__}


#: The parts of the document that come from the models: a path of keys -> the value.
DERIVED: dict[tuple[str, ...], Callable[[], Any]] = {
    ("components", "schemas", "Account", "required"): _account_required,
    ("components", "schemas", "Account", "properties"): _account_properties,
    ("components", "schemas", "SignIn", "properties", "method", "enum"): _sign_in_methods,
    ("components", "schemas", "SignIn", "properties", "state", "enum"): lambda: [
        s.value for s in FlowState
    ],
    (
        "components",
        "schemas",
        "Status",
        "properties",
        "sign_in_methods",
        "items",
        "enum",
    ): _sign_in_methods,
    (
        "paths",
        "/sign-ins",
        "post",
        "requestBody",
        "content",
        "application/json",
        "schema",
        "properties",
        "method",
        "enum",
    ): lambda: list(SignInMethod.names()),
}


def spec_file_text() -> str:
    """The text of ``openapi.yaml`` as shipped in the package."""
    return resources.files(__package__).joinpath(_SPEC_FILE).read_text(encoding="utf-8")


def _place(document: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set ``document[path[0]][path[1]]...`` to ``value`` (the parents must exist)."""
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value


@functools.lru_cache(maxsize=1)
def _template() -> dict[str, Any]:
    """The shipped document with the models' parts and the version filled in (read once)."""
    import yaml  # jupyter_events (a dependency) requires PyYAML

    document: dict[str, Any] = yaml.safe_load(spec_file_text())
    for path, value in DERIVED.items():
        _place(document, path, value())
    document["info"]["version"] = __version__
    return document


def openapi_document(base_url: str = "/") -> dict[str, Any]:
    """The OpenAPI document, with the server URL under ``base_url`` (a copy: callers may
    change it)."""
    document = copy.deepcopy(_template())
    document["servers"] = [{"url": base_url.rstrip("/") + "/jupyter-msal"}]
    return document
