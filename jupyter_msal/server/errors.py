"""The one place errors become HTTP answers: status codes and JSON bodies.

Domain errors (:mod:`jupyter_msal.errors`) know nothing of HTTP; :data:`HTTP_STATUS` maps
each kind to its status (the most specific class wins), :func:`error_body` turns any
exception a handler meets into ``(status, {"error", "message", ...})``, and
:func:`error_headers` gives the headers that go with it (``Retry-After`` for the 503s of a
failing identity provider or a locked cache).
"""

from __future__ import annotations

from typing import Any

from tornado import web

from ..errors import (
    BadRequest,
    BodyTooLarge,
    BrokerUnavailable,
    CacheError,
    CacheLocked,
    ConfigError,
    Forbidden,
    IdentityProviderError,
    IdentityProviderUnavailable,
    IdentityProviderUnreachable,
    JupyterMsalError,
    NotFound,
    ServerUnavailable,
    SignInFailed,
    SignInRequired,
    TooManySignIns,
    Unauthenticated,
)

__all__ = ["HTTP_STATUS", "error_body", "error_headers", "http_status"]

#: The HTTP status of each kind of error; subclasses inherit their parent's.
HTTP_STATUS: dict[type[JupyterMsalError], int] = {
    JupyterMsalError: 500,
    ConfigError: 500,
    CacheError: 500,
    CacheLocked: 503,
    BadRequest: 400,
    BodyTooLarge: 413,
    TooManySignIns: 429,
    Forbidden: 403,
    NotFound: 404,
    SignInRequired: 401,
    Unauthenticated: 401,
    BrokerUnavailable: 409,
    SignInFailed: 400,
    IdentityProviderError: 502,
    IdentityProviderUnreachable: 504,
    IdentityProviderUnavailable: 503,
    ServerUnavailable: 503,
}

_TORNADO_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
}


def http_status(err: JupyterMsalError) -> int:
    """The status a handler answers ``err`` with."""
    for cls in type(err).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500


def error_headers(err: BaseException) -> dict[str, str]:
    """Headers an answer for ``err`` carries besides the JSON body: ``Retry-After`` (seconds)
    when the error says when to try again."""
    retry_after = getattr(err, "retry_after", None)
    if isinstance(err, JupyterMsalError) and isinstance(retry_after, int) and retry_after >= 0:
        return {"Retry-After": str(retry_after)}
    return {}


def error_body(err: BaseException) -> tuple[int, dict[str, Any]]:
    """HTTP status and JSON body for any error a handler meets."""
    if isinstance(err, JupyterMsalError):
        return http_status(err), err.to_dict()
    if isinstance(err, web.HTTPError):
        status = err.status_code
        message = err.log_message % err.args if err.log_message and err.args else err.log_message
        return status, {
            "error": _TORNADO_CODES.get(status, "error"),
            "message": message or err.reason or f"HTTP {status}",
        }
    return 500, {
        "error": "internal_error",
        "message": "Internal error in jupyter-msal; see the server log.",
    }
