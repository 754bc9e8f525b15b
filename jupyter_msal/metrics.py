"""Prometheus metrics of jupyter-msal, in prometheus_client's default registry.

A Jupyter server serves that registry on its own ``/metrics``; in direct mode the metrics
are counted in-process and nobody reads them. Every metric name starts with
``jupyter_msal_`` and every label value comes from a small fixed set: no usernames, scopes,
URLs with tenant ids or secrets. Label children are bound once and reused, so counting on
the cached-token path is one dictionary lookup and one lock-free increment.

==========================================================  ===============================
metric                                                      labels
==========================================================  ===============================
``jupyter_msal_token_requests_total``                       ``client``, ``outcome``
``jupyter_msal_idp_requests_total``                         ``endpoint``, ``status``
``jupyter_msal_idp_request_duration_seconds`` (histogram)   ``endpoint``
``jupyter_msal_sign_ins_total``                             ``method``, ``outcome``
``jupyter_msal_single_flight_joins_total``                  (none)
``jupyter_msal_sign_ins_pending`` (gauge)                   (none)
==========================================================  ===============================
"""

from __future__ import annotations

import itertools
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

__all__ = [
    "CLIENT_KINDS",
    "IDP_DURATION",
    "IDP_REQUESTS",
    "LOOKUP_HITS",
    "PENDING_SIGN_INS",
    "SIGN_INS",
    "SINGLE_FLIGHT_JOINS",
    "TOKEN_OUTCOMES",
    "TOKEN_REQUESTS",
    "observe_idp_request",
    "sign_in_finished",
    "single_flight_joined",
    "token_request",
    "track_pending",
]

#: Who asked for a token: a kernel or terminal of the server (the kernel secret), a script
#: with a Jupyter API token, a browser (always refused), or the process itself (direct mode).
CLIENT_KINDS = ("kernel", "jupyter_token", "browser", "in_process")
#: Where a served token came from; failed requests count under their error code instead.
TOKEN_OUTCOMES = ("lookup", "cache", "refreshed", "hub")
#: The identity-provider endpoints told apart (by the last segment of the URL path).
_ENDPOINTS = {
    "token": "token",
    "devicecode": "devicecode",
    "authorize": "authorize",
    "openid-configuration": "openid_configuration",
    "instance": "instance_discovery",
    "discovery": "instance_discovery",
}
_ERROR_CODE = re.compile(r"[a-z_]{1,40}\Z")

IDP_REQUESTS = Counter(
    "jupyter_msal_idp_requests",
    "HTTP requests msal sent to the identity provider, by endpoint and status class.",
    ["endpoint", "status"],
)
IDP_DURATION = Histogram(
    "jupyter_msal_idp_request_duration_seconds",
    "Time until the identity provider answered (or the request failed), by endpoint.",
    ["endpoint"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
SIGN_INS = Counter(
    "jupyter_msal_sign_ins",
    "Finished sign-ins by method and outcome (succeeded, failed, expired, cancelled).",
    ["method", "outcome"],
)
SINGLE_FLIGHT_JOINS = Counter(
    "jupyter_msal_single_flight_joins",
    "Token requests that waited for the same request already running instead of sending one.",
)
PENDING_SIGN_INS = Gauge(
    "jupyter_msal_sign_ins_pending", "Sign-ins waiting for the user right now."
)


class _TokenRequests(Collector):
    """``jupyter_msal_token_requests_total``, counted without a lock.

    Cached tokens are answered in microseconds, and a prometheus_client counter takes a lock
    per increment; here every label pair has an :func:`itertools.count`, whose ``next()`` is
    atomic, and the values are read when the registry is scraped.
    """

    name = "jupyter_msal_token_requests"
    documentation = (
        "Token requests by client kind and outcome "
        "(lookup, cache, refreshed, hub, or an error code)."
    )

    def __init__(self) -> None:
        #: The counter of each label pair as callers spell it (lookups on the hot path).
        self.counts: dict[tuple[str, str], itertools.count[int]] = {}
        #: The counter of each label pair as exported (bounded values).
        self._exported: dict[tuple[str, str], itertools.count[int]] = {}
        self._lock = threading.Lock()
        for client in CLIENT_KINDS:
            for outcome in TOKEN_OUTCOMES:
                self.bind(client, outcome)

    def bind(self, client: str, outcome: str) -> itertools.count[int]:
        """The counter of one label pair, created on first use (label values bounded)."""
        label = (
            client if client in CLIENT_KINDS else "other",
            outcome if outcome in TOKEN_OUTCOMES or _ERROR_CODE.match(outcome) else "error",
        )
        with self._lock:
            counter = self._exported.setdefault(label, itertools.count(1))
            if len(self.counts) < 1000:  # callers spelling labels anew are not remembered
                self.counts[(client, outcome)] = counter
        return counter

    def collect(self) -> Iterator[CounterMetricFamily]:
        """The current values (``count(n)`` has counted ``n - 1`` requests)."""
        family = CounterMetricFamily(self.name, self.documentation, labels=["client", "outcome"])
        with self._lock:
            exported = list(self._exported.items())
        for (client, outcome), counter in exported:
            family.add_metric([client, outcome], int(repr(counter)[6:-1]) - 1)
        yield family


TOKEN_REQUESTS = _TokenRequests()
REGISTRY.register(TOKEN_REQUESTS)
#: The lookup-hit counter of each client kind, for the cached-token path to count with one
#: ``next()`` and no function call.
LOOKUP_HITS = {client: TOKEN_REQUESTS.counts[(client, "lookup")] for client in CLIENT_KINDS}


def token_request(client: str, outcome: str) -> None:
    """Count one token request of ``client`` (a :data:`CLIENT_KINDS` value) by ``outcome``:
    a :data:`TOKEN_OUTCOMES` value or the error code of a failed request."""
    counter = TOKEN_REQUESTS.counts.get((client, outcome)) or TOKEN_REQUESTS.bind(client, outcome)
    next(counter)


def _endpoint(url: str) -> str:
    return _ENDPOINTS.get(url.rstrip("/").rsplit("/", 1)[-1].lower(), "other")


def observe_idp_request(url: str, send: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``send(*args, **kwargs)`` (one HTTP request to ``url``, without query), counted and
    timed; what it returns or raises passes through."""
    endpoint = _endpoint(url)
    start = time.perf_counter()
    status = "error"
    try:
        response = send(*args, **kwargs)
        status = f"{int(response.status_code) // 100}xx"
        return response
    finally:
        IDP_DURATION.labels(endpoint).observe(time.perf_counter() - start)
        IDP_REQUESTS.labels(endpoint, status).inc()


def sign_in_finished(method: str, outcome: str) -> None:
    """Count one sign-in that reached its final state ``outcome`` with ``method``."""
    SIGN_INS.labels(method, outcome).inc()


def single_flight_joined() -> None:
    """Count one caller that joined a flight already running."""
    SINGLE_FLIGHT_JOINS.inc()


class _PendingSource(Protocol):
    def pending(self) -> int: ...


_sources: weakref.WeakSet[Any] = weakref.WeakSet()


def _pending_total() -> float:
    return float(sum(source.pending() for source in list(_sources)))


PENDING_SIGN_INS.set_function(_pending_total)


def track_pending(source: _PendingSource) -> None:
    """Add ``source.pending()`` (a sign-in registry) to the pending sign-ins gauge while
    ``source`` lives."""
    _sources.add(source)
