"""Keep secrets out of logs.

msal never logs token values, but it logs the device code, auth codes, the PKCE verifier and
``client_info`` at DEBUG, and a non-JSON token-endpoint body (a proxy's error page may echo
``refresh_token=...``) verbatim at ERROR: that body is replaced by its length, and
:func:`install_redaction` scrubs every other log record of
msal, msal-extensions, requests, urllib3 and jupyter-msal when the record is made: it wraps
the process's log record factory, so loggers created later (msal creates
``msal.oauth2cli.oauth2`` when it builds its client) and every handler (the root's, a
server's, ``logging.lastResort`` on stderr) only ever see the scrubbed text. A filter on the
root logger's handlers does the same for records made some other way.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

__all__ = ["RedactingFilter", "install_redaction", "redact"]

_SECRET_KEYS = (
    "access_token|refresh_token|id_token|device_code|user_code|code|code_verifier|"
    "client_info|client_secret|client_assertion|assertion|password|secret|token"
)
_PATTERNS = (
    # JWT-shaped values (access and id tokens)
    (re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), "<redacted-jwt>"),
    # 'key': 'value' / "key": "value" in dict reprs and JSON
    (
        re.compile(rf"""(['"](?:{_SECRET_KEYS})['"]\s*:\s*)(['"])(?:(?!\2).)*\2""", re.I),
        r"\1\2<redacted>\2",
    ),
    # key=value in query strings, form bodies and HTML
    (re.compile(rf"(?<![A-Za-z_])((?:{_SECRET_KEYS})=)[^&\s'\"<>]+", re.I), r"\1<redacted>"),
)
_LOGGER_PREFIXES = frozenset({"msal", "msal_extensions", "urllib3", "jupyter_msal", "requests"})
#: msal logs a token endpoint's non-JSON answer whole; any part of it may be a secret.
_RAW_BODY_MESSAGES = ("Token response is not in json format",)
_MARK = "_jupyter_msal_redacting"


def redact(text: str) -> str:
    """``text`` with token-, code- and secret-shaped values replaced by ``<redacted>``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _covered(record: logging.LogRecord) -> bool:
    return str(record.name).split(".", 1)[0] in _LOGGER_PREFIXES


def _scrub(record: logging.LogRecord) -> None:
    """Replace the record's message (and traceback text) by their redacted form, in place."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        message = str(record.msg)
    raw_body = next((m for m in _RAW_BODY_MESSAGES if str(record.msg).startswith(m)), None)
    if raw_body is not None:
        body = max(0, len(message) - len(raw_body) - 2)
        message = f"{raw_body}: <{body} characters, not logged>"
    cleaned = redact(message)
    if cleaned != message or record.args:
        record.msg, record.args = cleaned, None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RedactingFilter(logging.Filter):
    """A handler (or logger) filter that scrubs the records of msal, urllib3, jupyter-msal ...

    Formats each record once and replaces its message by the redacted text; never drops one.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub ``record`` in place if it comes from a covered logger."""
        if _covered(record):
            _scrub(record)
        return True


_FILTER = RedactingFilter()


def _redacting_factory(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        if _covered(record):
            _scrub(record)
        return record

    setattr(factory, _MARK, True)
    return factory


def install_redaction() -> None:
    """Scrub the records of msal, msal-extensions, requests, urllib3 and jupyter-msal.

    Wraps the log record factory once per process (loggers and handlers created later are
    covered) and puts :class:`RedactingFilter` on the root logger's handlers and on
    ``logging.lastResort``. Idempotent; call it again after adding root handlers.
    """
    current = logging.getLogRecordFactory()
    if not getattr(current, _MARK, False):
        logging.setLogRecordFactory(_redacting_factory(current))
    for handler in [*logging.getLogger().handlers, logging.lastResort]:
        if handler is not None and _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
