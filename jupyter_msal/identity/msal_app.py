"""The msal application: built once from the settings, called with every failure typed.

:class:`MsalApp` is the only place that builds ``msal.PublicClientApplication`` /
``ConfidentialClientApplication`` and that checks msal's results: a call goes through
:meth:`MsalApp.call` (transport failures become typed errors) and its result through
:meth:`MsalApp.checked` (error dicts become typed errors; :mod:`.msal_results` reads them).
Everything here blocks.

An HTTP 429 or 5xx from the identity provider, however msal reports it (an exception, an
error dict, or a ``ValueError`` for an HTML page), becomes
:class:`~jupyter_msal.errors.IdentityProviderUnavailable` with the seconds to wait. msal then
replays that answer without sending anything until the time is up; such a replay is
recognised (no request left in the call) and said to be one.

The application gets a persisted ``http_cache`` when one is given: msal keeps the
authority's metadata there, so a new process serves cached tokens without any request.

A token for another tenant (a guest tenant of the signed-in user) comes from an application
of its own whose authority is ``<authority host>/<tenant>`` (:meth:`MsalApp.app_for`), built
on first use and sharing the token cache, as azure-identity does: Entra ID's refresh tokens
are not bound to a tenant, so the home sign-in's refresh token is redeemed at the guest
tenant's token endpoint, and msal files the token under that tenant (its ``realm``).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from .._version import __version__
from ..config.settings import JupyterMsal
from ..errors import (
    BadRequest,
    IdentityProviderError,
    IdentityProviderUnavailable,
    IdentityProviderUnreachable,
    JupyterMsalError,
)
from .msal_results import error_from_msal_result, is_error_result, replay_key

if TYPE_CHECKING:
    import msal

    from .transport import CallRecord, GuardedSession

__all__ = ["MsalApp", "first_line", "region_note"]

T = TypeVar("T")

_HTTP_ERROR_RE = re.compile(r"HTTP Error: (\d{3})")
#: Seconds msal replays a 429/5xx that came without Retry-After (msal's own defaults).
PUBLIC_CLIENT_THROTTLE = 60
CONFIDENTIAL_CLIENT_THROTTLE = 5


class MsalApp:
    """One msal application for ``settings``, its token cache and its HTTP client.

    ``broker`` turns on msal's broker support (only for user sign-in); ``http_cache`` is
    handed to msal as its ``http_cache`` (authority metadata and throttle state).
    """

    def __init__(
        self,
        settings: JupyterMsal,
        *,
        token_cache: msal.SerializableTokenCache,
        http: GuardedSession,
        broker: bool = False,
        http_cache: MutableMapping[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.token_cache = token_cache
        self.http = http
        self.broker = broker
        self.http_cache = http_cache
        self._app: msal.ClientApplication | None = None
        self._tenant_apps: dict[str, msal.ClientApplication] = {}
        self._lock = threading.Lock()

    @property
    def default_throttle(self) -> int:
        """Seconds msal replays a 429/5xx answer that named no Retry-After."""
        if self.settings.service_principal:
            return CONFIDENTIAL_CLIENT_THROTTLE
        return PUBLIC_CLIENT_THROTTLE

    @property
    def app(self) -> msal.ClientApplication:
        """The msal application, built on first use (may talk to the identity provider)."""
        with self._lock:
            if self._app is None:
                self._app = self.call(self._build)
            return self._app

    @property
    def configured_tenant(self) -> str:
        """The tenant segment of the configured authority, in lower case (``organizations``,
        a tenant id, a domain name); ``""`` with an ``oidc_authority``."""
        if self.settings.oidc_authority:
            return ""
        return urlsplit(self.settings.authority).path.strip("/").split("/")[0].lower()

    def tenant_authority(self, tenant: str) -> str:
        """The authority of ``tenant`` (checked already) on the configured authority's host."""
        if self.settings.oidc_authority:
            raise BadRequest(
                "A tenant can be asked for only with an Entra ID authority "
                "(JupyterMsal.authority); JupyterMsal.oidc_authority names one issuer.",
                hint="Leave the tenant out.",
            )
        parts = urlsplit(self.settings.authority)
        return f"{parts.scheme}://{parts.netloc}/{tenant}"

    def realm(self, tenant: str | None) -> str:
        """The ``realm`` under which msal files the tokens of ``tenant`` (None: the
        configured authority's)."""
        return tenant or self.configured_tenant

    def own_tenant(self, tenant: str | None) -> str | None:
        """``tenant``, or None when it is the configured authority's own (no other app)."""
        return None if tenant is None or tenant == self.configured_tenant else tenant

    def app_for(self, tenant: str | None) -> msal.ClientApplication:
        """The msal application for ``tenant`` (None or the configured authority's own: the
        configured one); one per tenant, built on first use, all on one token cache."""
        tenant = self.own_tenant(tenant)
        if tenant is None:
            return self.app
        with self._lock:
            app = self._tenant_apps.get(tenant)
            if app is None:
                authority = self.tenant_authority(tenant)
                app = self.call(lambda: self._build(authority))
                self._tenant_apps[tenant] = app
            return app

    def _build(self, authority: str | None = None) -> msal.ClientApplication:
        import msal

        s = self.settings
        common: dict[str, Any] = {
            "token_cache": self.token_cache,
            "http_client": self.http,
            "timeout": s.http_timeout,
            "app_name": "jupyter-msal",
            "app_version": __version__,
            "client_capabilities": list(s.client_capabilities) or None,
        }
        if self.http_cache is not None:
            common["http_cache"] = self.http_cache
        if s.oidc_authority:
            common["oidc_authority"] = s.oidc_authority
        else:
            common["authority"] = authority or s.authority
            common["instance_discovery"] = s.instance_discovery
        if s.service_principal:
            region: Any = s.azure_region
            if region == "auto":
                region = msal.ConfidentialClientApplication.ATTEMPT_REGION_DISCOVERY
            return msal.ConfidentialClientApplication(
                s.client_id,
                client_credential=self._client_credential(),
                azure_region=region,
                **common,
            )
        if self.broker:
            common.update(
                enable_broker_on_windows=True,
                enable_broker_on_mac=True,
                enable_broker_on_linux=True,
            )
        return msal.PublicClientApplication(s.client_id, **common)

    def _client_credential(self) -> Any:
        s = self.settings
        if s.client_secret:
            return s.client_secret
        from .certificates import load_client_certificate

        return load_client_certificate(s.client_certificate_path or "")

    def call(self, work: Callable[[], T]) -> T:
        """Run ``work`` (a call into msal); turn transport and msal failures into typed errors."""
        with self.http.recording() as record:
            return self._call(work, record)

    def _call(self, work: Callable[[], T], record: CallRecord) -> T:
        import requests

        try:
            return work()
        except JupyterMsalError:
            raise
        except requests.Timeout as err:
            raise IdentityProviderUnreachable(
                f"The identity provider did not answer within {self.settings.http_timeout:g} s.",
                hint="Check the network, or raise JupyterMsal.http_timeout.",
            ) from err
        except requests.RequestException as err:
            raise IdentityProviderUnreachable(
                f"Cannot reach the identity provider: {first_line(err)}",
                hint="Check the network, proxies, JupyterMsal.authority and JupyterMsal.ca_bundle.",
            ) from err
        except OSError as err:  # e.g. the CA bundle file vanished
            raise IdentityProviderUnreachable(
                f"Cannot reach the identity provider: {first_line(err)}",
                hint="Check JupyterMsal.ca_bundle and the network.",
            ) from err
        except Exception as err:
            from_msal = type(err).__module__.startswith("msal")  # MsalServiceError on 5xx
            if not (from_msal or isinstance(err, ValueError)):
                raise
            match = _HTTP_ERROR_RE.search(str(err)) if from_msal else None
            busy = self.unavailable(
                record, replay_status=int(match.group(1)) if match else None, any_replay=True
            )
            if busy is not None:
                raise busy from err
            if isinstance(err, ValueError):
                # msal raises ValueError for non-JSON answers and for authorities it cannot use.
                raise IdentityProviderError(
                    f"The identity provider gave an answer msal cannot use: {first_line(err)}",
                    hint="Check JupyterMsal.authority; the identity provider may be failing.",
                ) from err
            raise IdentityProviderError(
                f"The identity provider failed: {first_line(err)}",
                hint="Try again in a minute.",
            ) from err

    def unavailable(
        self,
        record: CallRecord,
        *,
        replay_status: int | None = None,
        replay_of: Mapping[str, Any] | None = None,
        any_replay: bool = False,
    ) -> IdentityProviderUnavailable | None:
        """The error for a call that met a 429/5xx, or that msal answered from its throttle.

        A 429/5xx among the call's own answers is the identity provider's; when the call sent
        nothing, the failure is a replay if a throttled answer may still be replayed and it
        matches: by status (``replay_status``), by error dict (``replay_of``), or any
        (``any_replay``, for a non-JSON answer replayed).
        """
        answer = record.throttling()
        if answer is not None:
            wait = self.default_throttle if answer.retry_after is None else answer.retry_after
            return IdentityProviderUnavailable(
                f"The identity provider is unavailable: it answered HTTP {answer.status}.",
                hint=f"Try again in {wait} s; msal does not ask it again before then.",
                retry_after=wait,
            )
        if record.sent or (replay_status is None and replay_of is None and not any_replay):
            return None
        now = time.time()
        for old in sorted(self.http.throttled(), key=lambda a: a.at, reverse=True):
            wait = self.default_throttle if old.retry_after is None else old.retry_after
            left = int(old.at + wait - now + 0.999)
            if left <= 0:
                continue
            if replay_status is not None and replay_status != old.status:
                continue
            if replay_of is not None and replay_key(replay_of) != (old.error, old.correlation_id):
                continue
            return IdentityProviderUnavailable(
                f"The identity provider answered HTTP {old.status} {int(now - old.at)} s ago; "
                f"msal replays that answer for {left} s more without asking it again (a local "
                "replay: no request was sent).",
                hint=f"Try again in {left} s.",
                retry_after=left,
                replayed=True,
            )
        return None

    @staticmethod
    def checked(
        result: Any,
        *,
        scopes: Iterable[str] = (),
        during_sign_in: bool = False,
        keep_waiting: frozenset[str] = frozenset(),
    ) -> Any:
        """``result`` unless it is an msal error dict, which is raised as a typed error.

        ``scopes`` and ``during_sign_in`` shape that error; error dicts whose ``error`` is in
        ``keep_waiting`` (a device flow still pending) are returned as they are.
        """
        if is_error_result(result, keep_waiting):
            raise error_from_msal_result(
                result, scopes=tuple(scopes), during_sign_in=during_sign_in
            )
        return result

    def request(
        self,
        work: Callable[[], Any],
        *,
        scopes: Iterable[str] = (),
        during_sign_in: bool = False,
        keep_waiting: frozenset[str] = frozenset(),
    ) -> Any:
        """:meth:`call` then :meth:`checked`: the result of an msal call, or a typed error."""
        with self.http.recording() as record:
            result = self._call(work, record)
        if is_error_result(result):
            busy = self.unavailable(record, replay_of=result)
            if busy is not None:
                raise busy
        return self.checked(
            result,
            scopes=scopes,
            during_sign_in=during_sign_in,
            keep_waiting=keep_waiting,
        )


def first_line(err: BaseException) -> str:
    """The first line of an exception's text (its type name when it has none), at most 300 chars."""
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:300]


def region_note(settings: JupyterMsal) -> str:
    """Whether and how ``azure_region`` applies, in words (msal goes regional only for apps)."""
    region = settings.azure_region
    if not region:
        return "No region configured: tokens come from the global endpoint."
    if settings.service_principal:
        return f"Region {region!r}: app-only tokens use the regional token endpoint."
    return (
        f"JupyterMsal.azure_region={region!r} has no effect: regional endpoints serve only "
        "service-principal (app-only) tokens, and users sign in globally."
    )
