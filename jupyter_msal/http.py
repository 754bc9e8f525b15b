"""The HTTP client msal uses: explicit TLS trust, timeouts, a host allow-list, no secrets in logs.

msal accepts any ``requests.Session``-like ``http_client``. Ours fixes three things the
default one gets wrong for a server:

* ``requests`` lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override ``Session.verify``, so a
  configured ``ca_bundle`` would be silently ignored. We pass ``verify`` on every request.
* Every request gets a timeout (msal's own calls, and the IMDS probe msal makes for regions).
* ``allowed_hosts`` refuses requests to other hosts before they leave the machine; the IMDS
  probe is refused outright when the region is configured explicitly (msal only uses it to log
  a mismatch, and outside Azure it hangs).
"""

from __future__ import annotations

import collections
import fnmatch
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import requests

__all__ = ["IMDS_HOST", "GuardedSession"]

IMDS_HOST = "169.254.169.254"
_IMDS_TIMEOUT = 2.0


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
        return super().request(method, url, *args, **kwargs)
