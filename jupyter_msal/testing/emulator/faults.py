"""Injected faults and latency of the Entra ID emulator: what a test sets, what a request takes."""

from __future__ import annotations

import json
from typing import Any

from .core import EmulatorCore
from .records import FAULT_ENDPOINTS, Fault
from .tokens import entra_error_body

__all__ = ["EmulatorFaults"]

_DEFAULT_ERRORS = {
    400: "invalid_request",
    401: "invalid_client",
    403: "access_denied",
    404: "not_found",
    429: "temporarily_unavailable",
    503: "temporarily_unavailable",
}


class EmulatorFaults(EmulatorCore):
    """Latency and error answers injected per endpoint (``"any"`` for every endpoint)."""

    @staticmethod
    def _check_endpoint(endpoint: str) -> None:
        if endpoint not in FAULT_ENDPOINTS:
            raise ValueError(f"endpoint must be one of {FAULT_ENDPOINTS}, not {endpoint!r}")

    def set_latency(self, seconds: float, endpoint: str = "token") -> None:
        """Delay responses of ``endpoint`` by ``seconds`` (0 clears). A specific endpoint's
        latency takes precedence over ``"any"``. Other requests are not held up."""
        self._check_endpoint(endpoint)
        with self._lock:
            if seconds and seconds > 0:
                self._latency[endpoint] = float(seconds)
            else:
                self._latency.pop(endpoint, None)

    def inject_error(
        self,
        status: int = 500,
        body: str | bytes | dict[str, Any] | None = None,
        endpoint: str = "token",
        count: int | None = 1,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``count`` requests to ``endpoint`` with ``status`` (``count=None``:
        every request until :meth:`clear_faults`).

        ``body=None`` sends an Entra-style JSON error (AADSTS50000); a ``dict`` is sent as JSON;
        a ``str``/``bytes`` body is sent raw with ``content_type`` (e.g. an HTML 502 page).
        ``headers`` are added to the response (e.g. ``{"Retry-After": "1"}``).
        """
        self._check_endpoint(endpoint)
        with self._lock:
            self._faults.setdefault(endpoint, []).append(
                Fault(int(status), body, content_type, dict(headers or {}), count)
            )

    def inject_aadsts(
        self,
        code: int = 50076,
        error: str = "interaction_required",
        endpoint: str = "token",
        count: int | None = 1,
        description: str | None = None,
        status: int = 400,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Answer the next ``count`` requests to ``endpoint`` with an Entra-shaped error for
        AADSTS ``code`` (``extra`` adds fields such as ``suberror`` or ``claims``)."""
        description = description or f"Injected error AADSTS{code} from the emulator."
        body: dict[str, Any] = {
            "__aadsts__": {"error": error, "code": int(code), "description": description},
            **(extra or {}),
        }
        self.inject_error(status, body, endpoint, count)

    def clear_faults(self) -> None:
        """Remove every injected error and latency."""
        with self._lock:
            self._faults.clear()
            self._latency.clear()

    def take_fault(self, endpoint: str) -> Fault | None:
        """Consume and return the fault that applies to a request to ``endpoint``, if any."""
        with self._lock:
            for key in (endpoint, "any"):
                queue = self._faults.get(key)
                if not queue:
                    continue
                fault = queue[0]
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        queue.pop(0)
                return fault
            return None

    def latency_for(self, endpoint: str) -> float:
        """Seconds a request to ``endpoint`` waits before it is answered."""
        with self._lock:
            return self._latency.get(endpoint, self._latency.get("any", 0.0))

    def fault_body(self, fault: Fault, correlation_id: str | None) -> bytes:
        """The bytes to send for ``fault``."""
        body = fault.body
        if isinstance(body, bytes):
            return body
        if isinstance(body, str):
            return body.encode("utf-8")
        if body is None:
            error = _DEFAULT_ERRORS.get(fault.status, "server_error")
            body = {
                "__aadsts__": {
                    "error": error,
                    "code": 50000,
                    "description": (
                        "There was an error issuing a token or an issue with our sign-in service."
                    ),
                }
            }
        body = dict(body)
        spec = body.pop("__aadsts__", None)
        if spec:
            body = entra_error_body(
                spec["error"],
                spec["code"],
                spec["description"],
                base_url=self.url,
                correlation_id=correlation_id,
                extra=body,
            )
        return json.dumps(body).encode("utf-8")
