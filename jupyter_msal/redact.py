"""Keep secrets out of logs.

msal never logs token values, but it logs the device code, auth codes, the PKCE verifier and
``client_info`` at DEBUG, and a non-JSON token-endpoint body at ERROR. :class:`RedactingFilter`
scrubs those from every record of the msal loggers (and our own) before any handler sees them.
"""

from __future__ import annotations

import logging
import re

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
    # key=value in query strings and form bodies
    (re.compile(rf"(?<![A-Za-z_])((?:{_SECRET_KEYS})=)[^&\s'\"]+", re.I), r"\1<redacted>"),
)
_LOGGER_PREFIXES = ("msal", "msal_extensions", "urllib3", "jupyter_msal", "requests")


def redact(text: str) -> str:
    """``text`` with token-, code- and secret-shaped values replaced by ``<redacted>``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that formats each record once and scrubs secrets from the result."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub ``record`` in place; never drops a record."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactingFilter()


def install_redaction() -> None:
    """Attach the filter to every existing logger of msal, msal-extensions, urllib3 and ours.

    Filters on a logger do not apply to its children, so each module logger gets its own; call
    again after importing more of msal (cheap and idempotent).
    """
    names = [
        name
        for name in list(logging.Logger.manager.loggerDict)
        if name.split(".")[0] in _LOGGER_PREFIXES
    ]
    for name in (*_LOGGER_PREFIXES, *names):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
