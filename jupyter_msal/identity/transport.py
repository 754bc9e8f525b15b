"""The HTTP client msal uses: explicit TLS trust, timeouts, a host allow-list, no secrets in logs.

msal accepts any ``requests.Session``-like ``http_client``. Ours fixes three things the
default one gets wrong for a server:

* ``requests`` lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override ``Session.verify``, so a
  configured ``ca_bundle`` would be silently ignored. We pass ``verify`` on every request.
* Every request gets a timeout (msal's own calls, and the IMDS probe msal makes for regions).
* ``allowed_hosts`` refuses requests to other hosts before they leave the machine; the IMDS
  probe is refused outright when the region is configured explicitly (msal only uses it to log
  a mismatch, and outside Azure it hangs).

It also tells what the identity provider really answered from what msal replays: msal's
throttle answers a request like one that got HTTP 429/5xx from memory, without sending it,
until Retry-After has passed. :meth:`GuardedSession.recording` lists the answers the
requests of one msal call received (none for a replay), and the session remembers each
429/5xx answer (:meth:`GuardedSession.throttled`) so a replay can say how long it lasts.
"""

from __future__ import annotations

import collections
import contextlib
import fnmatch
import json
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from ..metrics import observe_idp_request

__all__ = ["IMDS_HOST", "Answer", "CallRecord", "GuardedSession"]

IMDS_HOST = "169.254.169.254"
_IMDS_TIMEOUT = 2.0
_MAX_RETRY_AFTER = 3600  # msal caps Retry-After at an hour too
_MAX_ERROR_BODY = 65536  # larger error bodies are not parsed for their error code


@dataclass(frozen=True)
class Answer:
    """One HTTP answer the identity provider sent (nothing secret: no body, no query)."""

    url: str
    status: int
    at: float
    #: The Retry-After header in seconds, when there was one msal can read.
    retry_after: int | None = None
    #: ``error`` and ``correlation_id`` of a JSON error body (to recognise msal's replays).
    error: str | None = None
    correlation_id: str | None = None

    @property
    def throttling(self) -> bool:
        """True for the answers msal replays from its throttle (429 and 5xx)."""
        return self.status == 429 or self.status >= 500


@dataclass
class CallRecord:
    """The answers the requests of one msal call received, oldest first."""

    answers: list[Answer] = field(default_factory=list)

    @property
    def sent(self) -> bool:
        """Whether any request of the call reached the identity provider and got an answer."""
        return bool(self.answers)

    def throttling(self) -> Answer | None:
        """The last 429/5xx answer of the call, if it got one."""
        return next((a for a in reversed(self.answers) if a.throttling), None)


def _retry_after(headers: Any) -> int | None:
    raw = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0, min(_MAX_RETRY_AFTER, int(str(raw).strip()))) if raw is not None else None
    except ValueError:
        return None  # an HTTP date: msal ignores it too and uses its default


def _error_fields(response: Any) -> tuple[str | None, str | None]:
    kind = str(response.headers.get("Content-Type", "")).lower()
    if "json" not in kind or len(response.content or b"") > _MAX_ERROR_BODY:
        return None, None
    try:
        body = json.loads(response.content)
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    error, correlation = body.get("error"), body.get("correlation_id")
    return (str(error) if error else None), (str(correlation) if correlation else None)


class GuardedSession(requests.Session):
    """A ``requests.Session`` with explicit ``verify``, default timeouts and a host allow-list.

    ``requested_urls`` keeps the last 200 URLs sent and ``refused_urls`` the last 200 refused
    (scheme, host and path only), so operators and tests can see where msal sent requests
    without any secret being recorded.
    """

    def __init__(
        self,
        *,
        verify: bool | str = True,
        timeout: float = 30.0,
        allowed_hosts: Iterable[str] = (),
        block_imds: bool = False,
        log: logging.Logger | None = None,
    ) -> None:
        super().__init__()
        self.verify = verify
        self.default_timeout = timeout
        self.allowed_hosts = tuple(h.lower() for h in allowed_hosts)
        self.block_imds = block_imds
        self.log = log or logging.getLogger("jupyter_msal.http")
        self.requested_urls: collections.deque[str] = collections.deque(maxlen=200)
        self.refused_urls: collections.deque[str] = collections.deque(maxlen=200)
        self._local = threading.local()
        self._throttled: dict[str, Answer] = {}
        self._throttled_lock = threading.Lock()

    @contextlib.contextmanager
    def recording(self) -> Iterator[CallRecord]:
        """Record the answers to requests this thread sends inside the ``with`` block."""
        record = CallRecord()
        stack: list[CallRecord] = self._local.__dict__.setdefault("records", [])
        stack.append(record)
        try:
            yield record
        finally:  # by identity: nested records with the same answers compare equal
            del stack[next(i for i, r in enumerate(stack) if r is record)]

    def throttled(self) -> list[Answer]:
        """The latest 429/5xx answer per URL from the last hour (msal may still replay them)."""
        with self._throttled_lock:
            return list(self._throttled.values())

    def _note(self, safe_url: str, response: Any) -> None:
        error, correlation = (None, None)
        status = int(response.status_code)
        if status == 429 or status >= 500:
            error, correlation = _error_fields(response)
        answer = Answer(
            safe_url, status, time.time(), _retry_after(response.headers), error, correlation
        )
        for record in self._local.__dict__.get("records", ()):
            record.answers.append(answer)
        if not answer.throttling:
            return
        with self._throttled_lock:
            # msal throttles per (URL, scope, account), so a success for another scope does
            # not end a replay; entries go once no throttle can still be running
            for url in [u for u, a in self._throttled.items() if a.at < answer.at - 3600]:
                del self._throttled[url]
            self._throttled[safe_url] = answer

    def host_allowed(self, host: str) -> bool:
        """True when ``host`` may be contacted under ``allowed_hosts``."""
        if not self.allowed_hosts:
            return True
        host = host.lower()
        return any(fnmatch.fnmatchcase(host, pattern) for pattern in self.allowed_hosts)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """Send a request with explicit ``verify`` and a timeout, if the host is allowed."""
        text_url = url.decode() if isinstance(url, bytes) else str(url)
        parts = urlsplit(text_url)
        host = parts.hostname or ""
        safe_url = f"{parts.scheme}://{parts.netloc}{parts.path}"
        is_imds = host == IMDS_HOST
        if is_imds and self.block_imds:
            self.refused_urls.append(safe_url)
            raise requests.ConnectionError(
                "IMDS region probe skipped: JupyterMsal.azure_region is set explicitly"
            )
        if not self.host_allowed(host):
            self.refused_urls.append(safe_url)
            self.log.warning("Refused a request to %s: not in JupyterMsal.allowed_hosts", host)
            raise requests.ConnectionError(
                f"{host} is not in JupyterMsal.allowed_hosts; the request was not sent"
            )
        self.requested_urls.append(safe_url)
        kwargs["verify"] = kwargs.get("verify") or self.verify
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = _IMDS_TIMEOUT if is_imds else self.default_timeout
        self.log.debug("%s %s", method if isinstance(method, str) else method.decode(), safe_url)
        response = observe_idp_request(safe_url, super().request, method, url, *args, **kwargs)
        self._note(safe_url, response)
        return response
