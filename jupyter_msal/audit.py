"""Audit events: what was signed in, signed out, issued and refused, for whom.

The token service and its sign-in registry report to an optional :class:`EventSink`; the
server extension connects it to the Jupyter server's ``event_logger`` (jupyter_events), which
validates every event against the schemas in ``event_schemas/`` and routes it to the
handlers an admin configured (``c.EventLogger.handlers``). Direct mode has no sink and emits
nothing. Events carry usernames, resources and error codes, never a token, a code, a
secret or a full scope list.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "SCHEMA_DIR",
    "SCHEMA_NAMESPACE",
    "SIGN_IN_SCHEMA",
    "SIGN_OUT_SCHEMA",
    "TOKEN_SCHEMA",
    "TOKEN_WANTED_SCHEMA",
    "EventSink",
    "policy_refused",
    "resource_of",
    "schema_paths",
    "signed_out",
    "token_issued",
    "token_wanted",
    "watch_sign_in",
]

SCHEMA_DIR = Path(__file__).parent / "event_schemas"
#: The namespace of this project's event schema ids (a URN of the project's name: the
#: ``events.jupyter.org`` namespace is Jupyter's own).
SCHEMA_NAMESPACE = "urn:jupyter-msal:events:"
SIGN_IN_SCHEMA = SCHEMA_NAMESPACE + "sign_in:v1"
SIGN_OUT_SCHEMA = SCHEMA_NAMESPACE + "sign_out:v1"
TOKEN_SCHEMA = SCHEMA_NAMESPACE + "token:v1"
TOKEN_WANTED_SCHEMA = SCHEMA_NAMESPACE + "token_wanted:v1"
#: The longest resource a token_wanted event carries (its schema's ``maxLength``).
MAX_RESOURCE_LENGTH = 256

_RESERVED = {"openid", "profile", "offline_access", "email"}


class EventSink(Protocol):
    """Receives one audit event: the schema id and the data the schema describes."""

    def __call__(self, schema_id: str, data: dict[str, Any]) -> None: ...


def schema_paths() -> list[Path]:
    """The event schemas shipped with the package (to register with an event logger)."""
    return sorted(SCHEMA_DIR.glob("*.yaml"))


@functools.lru_cache(maxsize=256)
def _resource(scopes: tuple[str, ...]) -> str:
    for scope in scopes:
        if scope.lower() in _RESERVED:
            continue
        if "/" not in scope:
            return "https://graph.microsoft.com"  # a bare scope such as User.Read is Graph's
        return scope.rsplit("/", 1)[0]
    return "openid"


def resource_of(scopes: Sequence[str] | str | None) -> str:
    """The resource part of the first scope (``https://storage.azure.com`` for
    ``https://storage.azure.com/.default``); ``openid`` when there are only OIDC scopes."""
    if isinstance(scopes, str):
        scopes = scopes.split()
    return _resource(tuple(s for s in scopes or () if isinstance(s, str)))


def _username(account: Any) -> str | None:
    return getattr(account, "username", None) if account is not None else None


def token_issued(
    sink: EventSink, scopes: Sequence[str], account: Any, client: str, outcome: str
) -> None:
    """A token was handed to ``client``, from ``outcome`` (lookup, cache, refreshed, hub)."""
    data = {
        "action": "issued",
        "resource": resource_of(scopes),
        "client": client,
        "outcome": outcome,
    }
    username = _username(account)
    if username:
        data["username"] = username
    sink(TOKEN_SCHEMA, data)


def policy_refused(
    sink: EventSink, scopes: Sequence[str] | str | None, client: str, error: Any
) -> None:
    """A request for ``scopes`` was refused by policy (``JupyterMsal.allowed_scopes``)."""
    sink(
        TOKEN_SCHEMA,
        {
            "action": "refused",
            "resource": resource_of(scopes),
            "client": client,
            "error": str(getattr(error, "code", "error")),
        },
    )


def token_wanted(
    sink: EventSink,
    scopes: Sequence[str] | str | None,
    *,
    tool: str,
    via: str,
    error: Any,
    resource_name: str | None = None,
) -> None:
    """A ``tool`` asked for ``scopes`` through ``via`` and was refused with ``error`` (a
    sign-in is needed): what lets the page offer the sign-in."""
    resource = resource_of(scopes)
    data = {
        "resource": (resource.rstrip("/") or resource)[:MAX_RESOURCE_LENGTH],
        "tool": tool,
        "via": via,
        "error": str(getattr(error, "code", "error")),
    }
    if resource_name:
        data["resource_name"] = resource_name
    sink(TOKEN_WANTED_SCHEMA, data)


def signed_out(sink: EventSink, accounts: Iterable[Any]) -> None:
    """One event per account removed from the cache."""
    for account in accounts:
        sink(SIGN_OUT_SCHEMA, {"username": _username(account) or ""})


def _flow_event(flow: Any, action: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "action": action,
        "sign_in_id": flow.id,
        "method": flow.method.value,
        "resource": resource_of(flow.scopes),
    }
    username = _username(flow.account)
    if username:
        data["username"] = username
    error = flow.error
    if error is not None and action != "started":
        data["error"] = str(error.code)
        if error.aadsts:
            data["aadsts"] = str(error.aadsts)
    return data


def watch_sign_in(sink: EventSink | None, flow: Any) -> None:
    """Emit ``started`` for ``flow`` now and its final state (succeeded, failed, expired,
    cancelled) when it finishes. Nothing without a sink."""
    if sink is None:
        return
    sink(SIGN_IN_SCHEMA, _flow_event(flow, "started"))
    flow.on_finish(lambda done: sink(SIGN_IN_SCHEMA, _flow_event(done, done.state.value)))
