"""One JSON handler base for every REST API jupyter-msal serves.

The server extension's handlers (:mod:`jupyter_msal.server.handlers`, over jupyter_server's
``APIHandler``) and the JupyterHub service's (:mod:`jupyter_msal.hub.web`, over tornado's
``RequestHandler``) mix in :class:`JsonApiMixin`: the same request-body rules (size, nesting
depth, a JSON object with known fields only) and the same answers for errors
(:func:`~jupyter_msal.server.errors.error_body` and ``Retry-After`` from
:func:`~jupyter_msal.server.errors.error_headers`), so a client of either API meets one
behaviour. Expected errors (:class:`~jupyter_msal.errors.JupyterMsalError`) are logged in one
line without a traceback; anything else is logged by tornado with its traceback and answered
``500 internal_error``.

This module imports tornado only (the hub service runs without jupyter_server's handlers).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from typing import Any

from tornado import web

from ..errors import BadRequest, BodyTooLarge, JupyterMsalError
from .errors import error_body, error_headers, http_status

__all__ = ["MAX_BODY_BYTES", "MAX_JSON_DEPTH", "JsonApiMixin", "parse_json_object"]

#: The largest request body either API reads.
MAX_BODY_BYTES = 64 * 1024
#: How deep arrays and objects may nest in a request body (the APIs need 2).
MAX_JSON_DEPTH = 8

_LOG = logging.getLogger("jupyter_msal.api")


def _too_deep(value: Any) -> bool:
    """Whether ``value`` (parsed JSON) nests deeper than :data:`MAX_JSON_DEPTH`; no recursion."""
    level = [value]
    for _ in range(MAX_JSON_DEPTH):
        level = [
            child
            for item in level
            if isinstance(item, (dict, list))
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return False
    return any(isinstance(item, (dict, list)) for item in level)


def parse_json_object(raw: bytes, allowed: Collection[str]) -> dict[str, Any]:
    """``raw`` as a JSON object with only ``allowed`` keys (an empty body is ``{}``).

    Raises :class:`~jupyter_msal.errors.BodyTooLarge` over :data:`MAX_BODY_BYTES` and
    :class:`~jupyter_msal.errors.BadRequest`, saying what to fix, for anything else.
    """
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"The request body is over {MAX_BODY_BYTES // 1024} KiB.")
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except RecursionError:
        body = None
    except (ValueError, UnicodeDecodeError) as err:
        raise BadRequest(f"The request body is not valid JSON: {err}") from err
    if body is None or _too_deep(body):
        raise BadRequest(f"The request body nests more than {MAX_JSON_DEPTH} levels deep.")
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise BadRequest(
            f"Unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}."
        )
    return body


class JsonApiMixin:
    """JSON bodies in, JSON answers and errors out; mix in before a tornado ``RequestHandler``.

    A handler logs through its ``log`` attribute when it has one (jupyter_server's handlers
    do), else through the ``jupyter_msal.api`` logger.
    """

    request: Any  # tornado.httputil.HTTPServerRequest, from the RequestHandler

    def _api_log(self) -> Any:
        log = getattr(self, "log", None)
        return log if log is not None else _LOG

    def json_body(self, allowed: Collection[str]) -> dict[str, Any]:
        """The request body as a JSON object with only ``allowed`` keys (empty body = {})."""
        return parse_json_object(self.request.body or b"", allowed)

    def reply(self, body: Any, status: int = 200) -> None:
        """Answer ``body`` as JSON with ``status``."""
        handler: Any = self
        handler.set_status(status)
        handler.set_header("Content-Type", "application/json")
        handler.finish(json.dumps(body))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error as ``{"error", "message", ...}`` JSON, with ``Retry-After`` where the
        error says when to try again."""
        exc_info = kwargs.get("exc_info")
        err = exc_info[1] if exc_info else web.HTTPError(status_code)
        status, body = error_body(err)
        handler: Any = self
        for name, value in error_headers(err).items():
            handler.set_header(name, value)
        self.reply(body, status)

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        """Answer with the status a typed error carries instead of tornado's 500."""
        exc_info = kwargs.get("exc_info")
        if exc_info and isinstance(exc_info[1], JupyterMsalError):
            status_code = http_status(exc_info[1])
        super().send_error(status_code, **kwargs)  # type: ignore[misc]

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Expected errors in one line without a traceback; anything else as tornado does."""
        if isinstance(value, JupyterMsalError):
            self._api_log().info(
                "jupyter-msal: %s %s -> %s: %s",
                self.request.method,
                self.request.path,
                http_status(value),
                value.message,
            )
            return
        super().log_exception(typ, value, tb)  # type: ignore[misc]
