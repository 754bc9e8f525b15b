"""The msal application: built once from the settings, called with every failure typed.

:class:`MsalApp` is the only place that builds ``msal.PublicClientApplication`` /
``ConfidentialClientApplication`` and the only place that reads msal's result dicts: a call
goes through :meth:`MsalApp.call` (transport failures become typed errors) and its result
through :meth:`MsalApp.checked` (error dicts become typed errors, via
:func:`jupyter_msal.errors.error_from_msal_result`). Everything here blocks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from ._version import __version__
from .config import JupyterMsal
from .errors import (
    IdentityProviderError,
    IdentityProviderUnreachable,
    JupyterMsalError,
    error_from_msal_result,
)

if TYPE_CHECKING:
    import msal

    from .http import GuardedSession

__all__ = ["MsalApp", "first_line", "region_note"]

T = TypeVar("T")


class MsalApp:
    """One msal application for ``settings``, its token cache and its HTTP client.

    ``broker`` turns on msal's broker support (only for user sign-in).
    """

    def __init__(
        self,
        settings: JupyterMsal,
        *,
        token_cache: msal.SerializableTokenCache,
        http: GuardedSession,
        broker: bool = False,
    ) -> None:
        self.settings = settings
        self.token_cache = token_cache
        self.http = http
        self.broker = broker
        self._app: msal.ClientApplication | None = None
        self._lock = threading.Lock()

    @property
    def app(self) -> msal.ClientApplication:
        """The msal application, built on first use (may talk to the identity provider)."""
        with self._lock:
            if self._app is None:
                self._app = self.call(self._build)
            return self._app

    def _build(self) -> msal.ClientApplication:
        import msal

        s = self.settings
        common: dict[str, Any] = {
            "token_cache": self.token_cache,
            "http_client": self.http,
            "timeout": s.http_timeout,
            "app_name": "jupyter-msal",
            "app_version": __version__,
        }
        if s.oidc_authority:
            common["oidc_authority"] = s.oidc_authority
        else:
            common["authority"] = s.authority
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
        except ValueError as err:
            # msal raises ValueError for non-JSON answers and for authorities it cannot use.
            raise IdentityProviderError(
                f"The identity provider gave an answer msal cannot use: {first_line(err)}",
                hint="Check JupyterMsal.authority; the identity provider may be failing.",
            ) from err
        except Exception as err:
            if type(err).__module__.startswith("msal"):  # MsalServiceError on 5xx
                raise IdentityProviderError(
                    f"The identity provider failed: {first_line(err)}",
                    hint="Try again in a minute; msal waits out Retry-After before asking again.",
                ) from err
            raise

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
        if isinstance(result, dict) and "error" in result and result["error"] not in keep_waiting:
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
        return self.checked(
            self.call(work),
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
