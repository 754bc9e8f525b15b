"""Credentials for the Azure SDK and auth classes for ``requests`` and ``httpx``.

``Credential`` satisfies azure-core's ``TokenCredential`` and ``SupportsTokenInfo`` protocols,
so any Azure SDK client accepts it::

    from azure.storage.blob import BlobServiceClient
    client = BlobServiceClient(url, credential=jupyter_msal.Credential())

azure-core is optional: without it, ``get_token`` returns a named tuple of the same shape.
``BearerAuth`` adds a fresh bearer token to every ``requests`` or ``httpx`` request.
"""

from __future__ import annotations

import asyncio
import functools
import html
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from ..errors import JupyterMsalError, ServerUnavailable, SignInRequired
from ..models import AccessToken
from . import api
from .tenants import allowed_tenants, resolve_tenant

__all__ = [
    "AsyncCredential",
    "BearerAuth",
    "Credential",
    "parse_claims_challenge",
]


class _FallbackAccessToken(NamedTuple):
    token: str
    expires_on: int


class _FallbackAccessTokenInfo:
    def __init__(
        self,
        token: str,
        expires_on: int,
        *,
        token_type: str = "Bearer",  # noqa: S107
        refresh_on: int | None = None,
    ) -> None:
        self.token = token
        self.expires_on = expires_on
        self.token_type = token_type
        self.refresh_on = refresh_on


def _describe_info(info: Any) -> str:
    """``AccessTokenInfo(...)`` with the token's redacted description instead of the token."""
    token = info.token
    shown = repr(token) if isinstance(token, AccessToken) else "<redacted>"
    return (
        f"AccessTokenInfo(token={shown}, expires_on={info.expires_on}, "
        f"token_type={info.token_type!r}, refresh_on={info.refresh_on})"
    )


@functools.cache
def _redacted_info_type(base: type) -> type:
    """``base`` (azure-core's ``AccessTokenInfo``) with every display of the token redacted.

    azure-core's own ``__repr__`` prints the token, so a cell ending in
    ``credential.get_token_info(...)`` would put it in the notebook.
    """

    class RedactedAccessTokenInfo(base):  # type: ignore[misc, valid-type]
        __doc__ = f"{base.__name__} whose repr, str and rich displays never show the token."

        def __repr__(self) -> str:
            return _describe_info(self)

        __str__ = __repr__

        def _repr_pretty_(self, p: Any, cycle: bool) -> None:
            p.text(_describe_info(self))

        def _repr_html_(self) -> str:
            return f"<code>{html.escape(_describe_info(self))}</code>"

        def __reduce__(self) -> tuple[Any, ...]:
            # a plain azure-core object when pickled (the class is made at run time)
            return (
                _unpickle_info,
                (self.token, self.expires_on, self.token_type, self.refresh_on),
            )

    RedactedAccessTokenInfo.__name__ = RedactedAccessTokenInfo.__qualname__ = base.__name__
    RedactedAccessTokenInfo.__module__ = __name__
    return RedactedAccessTokenInfo


def _unpickle_info(token: str, expires_on: int, token_type: str, refresh_on: Any) -> Any:
    return _azure_types()[1](token, expires_on, token_type=token_type, refresh_on=refresh_on)


def _azure_types() -> tuple[type, type]:
    """azure-core's ``AccessToken`` and a redacted ``AccessTokenInfo`` (stand-ins without it)."""
    try:
        from azure.core.credentials import AccessToken as AzureAccessToken
        from azure.core.credentials import AccessTokenInfo
    except ImportError:
        return _FallbackAccessToken, _redacted_info_type(_FallbackAccessTokenInfo)
    return AzureAccessToken, _redacted_info_type(AccessTokenInfo)


def _auth_error(err: JupyterMsalError) -> Exception:
    """What Azure SDK credentials raise: ``ClientAuthenticationError`` (azure-core), or
    azure-identity's ``CredentialUnavailableError`` when nobody is signed in or there is no
    server, so that ``ChainedTokenCredential``/``DefaultAzureCredential`` chains move on.

    azure-identity is only used when the program has already imported it (it imports msal).
    """
    identity = sys.modules.get("azure.identity")
    unavailable = getattr(identity, "CredentialUnavailableError", None)
    if unavailable is not None and isinstance(err, (SignInRequired, ServerUnavailable)):
        wrapped: Exception = unavailable(message=f"jupyter-msal: {err}")
    else:
        try:
            from azure.core.exceptions import ClientAuthenticationError
        except ImportError:
            return err
        wrapped = ClientAuthenticationError(message=f"jupyter-msal: {err}")
    wrapped.jupyter_msal_error = err  # type: ignore[attr-defined]
    return wrapped


class _TokenSource:
    """What every credential here holds: whose token, whether to sign in, how long to wait."""

    def __init__(
        self,
        *,
        account: str | None = None,
        sign_in: bool = True,
        timeout: float | None = None,
    ) -> None:
        self.account = account
        self.sign_in = sign_in
        self.timeout = timeout

    def _fetch(
        self, scopes: Iterable[Any], claims: str | None = None, tenant: str | None = None
    ) -> AccessToken:
        return api.get_token(
            *scopes,
            account=self.account,
            claims=claims,
            sign_in=self.sign_in,
            timeout=self.timeout,
            tenant=tenant,
        )


def _access_token(token: AccessToken) -> Any:
    """``token`` as azure-core's ``AccessToken`` (or its stand-in without azure-core)."""
    access_token_type, _ = _azure_types()
    return access_token_type(token, token.expires_on)


def _access_token_info(token: AccessToken) -> Any:
    """``token`` as a redacted ``AccessTokenInfo``, whose ``refresh_on`` is when the kernel
    would fetch a new token."""
    _, info_type = _azure_types()
    margin = min(api.current_refresh_margin(), max(0.0, token.expires_in) / 2)
    return info_type(
        token,
        token.expires_on,
        token_type=token.token_type,
        refresh_on=int(token.expires_on - margin),
    )


class _AzureCredential(_TokenSource):
    """What :class:`Credential` and :class:`AsyncCredential` share: a request's tenant and
    token, and errors as Azure SDK credentials raise them."""

    def __init__(
        self,
        *,
        account: str | None = None,
        sign_in: bool = True,
        timeout: float | None = None,
        tenant_id: str | None = None,
        additionally_allowed_tenants: Iterable[str] | None = None,
    ) -> None:
        super().__init__(account=account, sign_in=sign_in, timeout=timeout)
        self.tenant_id = tenant_id
        self.additionally_allowed_tenants = allowed_tenants(additionally_allowed_tenants)

    def _tenant(self, tenant_id: str | None) -> str | None:
        """The tenant to ask for when a caller asks for ``tenant_id`` (no I/O)."""
        try:
            return resolve_tenant(self.tenant_id, tenant_id, self.additionally_allowed_tenants)
        except JupyterMsalError as err:
            raise _auth_error(err) from err

    def _kept(
        self, scopes: tuple[str, ...], claims: str | None, tenant_id: str | None
    ) -> AccessToken | None:
        """The token kept in the kernel for this request, if any (no I/O)."""
        tenant = self._tenant(tenant_id)
        return None if claims else api.kept_token(scopes, self.account, tenant)

    def _token(
        self, scopes: tuple[str, ...], claims: str | None, tenant_id: str | None
    ) -> AccessToken:
        """The token for this request: kept in the kernel, or fetched (blocking)."""
        tenant = self._tenant(tenant_id)
        try:
            return self._fetch(scopes, claims, tenant)
        except JupyterMsalError as err:
            raise _auth_error(err) from err


class Credential(_AzureCredential):
    """An Azure SDK credential whose tokens come from jupyter-msal.

    Args:
        account: username or home_account_id to get tokens for (default: the only signed-in one).
        sign_in: when nobody is signed in, show the sign-in prompt and wait (default), or fail.
        timeout: seconds to wait for such a sign-in.
        tenant_id: the tenant of its tokens (default: none; the tenant a caller asks for).
        additionally_allowed_tenants: with ``tenant_id``, the other tenants callers may ask
            for (``"*"``: any; default ``AZURE_ADDITIONALLY_ALLOWED_TENANTS``); azure-identity's
            rules (:mod:`jupyter_msal.kernel.tenants`), refused before any request.

    Tokens are shared with :func:`jupyter_msal.get_token` (the same kernel-side cache), and the
    token objects inside the returned ``AccessToken`` keep their redacted ``repr``.
    Errors are raised as ``azure.core.exceptions.ClientAuthenticationError`` (with the
    jupyter-msal error as ``__cause__``), as Azure SDK credentials do; when nobody is signed in
    (``sign_in=False``) or there is no server, as azure-identity's ``CredentialUnavailableError``
    if the program uses azure-identity, so credential chains try their next credential.
    """

    def __repr__(self) -> str:
        who = f"account={self.account!r}" if self.account else "the signed-in account"
        return f"<jupyter_msal.Credential for {who}>"

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> Any:
        """``TokenCredential.get_token``: an ``azure.core.credentials.AccessToken``.

        ``claims`` (from a claims challenge) bypasses every cache; ``enable_cae`` is accepted
        (the server decides whether to ask for CAE-capable tokens).
        """
        return _access_token(self._token(scopes, claims, tenant_id))

    def get_token_info(self, *scopes: str, options: Mapping[str, Any] | None = None) -> Any:
        """``SupportsTokenInfo.get_token_info``: an ``azure.core.credentials.AccessTokenInfo``.

        ``refresh_on`` is set to when the kernel would fetch a new token, so azure-core's
        policies ask again in time. The object is a subclass whose ``repr``, ``str`` and rich
        displays show ``<AccessToken for ...>`` instead of the token (azure-core's own
        ``repr`` prints it).
        """
        options = options or {}
        token = self._token(scopes, options.get("claims"), options.get("tenant_id"))
        return _access_token_info(token)

    def close(self) -> None:
        """Nothing to release (the connection belongs to the kernel); for the protocol."""

    def __enter__(self) -> Credential:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncCredential(_AzureCredential):
    """The ``AsyncTokenCredential`` twin of :class:`Credential`, for ``azure.*.aio`` clients.

    A token the kernel keeps (see :func:`jupyter_msal.get_token`) is returned on the event
    loop, without a thread; anything that must ask the server (or, in direct mode, the
    identity provider), or wait for a sign-in, runs in a thread (``asyncio.to_thread``) so
    the loop is never blocked. Arguments, results and errors are those of :class:`Credential`.
    """

    async def _token_async(
        self, scopes: tuple[str, ...], claims: str | None, tenant_id: str | None
    ) -> AccessToken:
        kept = self._kept(scopes, claims, tenant_id)
        if kept is not None:
            return kept
        return await asyncio.to_thread(self._token, scopes, claims, tenant_id)

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> Any:
        """``AsyncTokenCredential.get_token``; see :meth:`Credential.get_token`."""
        return _access_token(await self._token_async(scopes, claims, tenant_id))

    async def get_token_info(self, *scopes: str, options: Mapping[str, Any] | None = None) -> Any:
        """``AsyncSupportsTokenInfo.get_token_info``; see :meth:`Credential.get_token_info`."""
        options = options or {}
        token = await self._token_async(scopes, options.get("claims"), options.get("tenant_id"))
        return _access_token_info(token)

    async def close(self) -> None:
        """Nothing to release; for the protocol."""

    async def __aenter__(self) -> AsyncCredential:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


_CLAIMS_RE = re.compile(r'\bclaims="([^"]*)"', re.IGNORECASE)
_ERROR_RE = re.compile(r'\berror="([^"]*)"', re.IGNORECASE)


def parse_claims_challenge(www_authenticate: str) -> str | None:
    """The claims JSON of a ``WWW-Authenticate: Bearer error="insufficient_claims", claims=…``.

    ``None`` when the header is not a claims challenge.
    """
    if not www_authenticate or "bearer" not in www_authenticate.lower():
        return None
    error = _ERROR_RE.search(www_authenticate)
    match = _CLAIMS_RE.search(www_authenticate)
    if not match or (error and error.group(1) != "insufficient_claims"):
        return None
    try:
        return api.normalize_claims(match.group(1))
    except JupyterMsalError:
        return None


class BearerAuth(_TokenSource):
    """``auth=`` for ``requests`` and ``httpx``: a fresh ``Authorization: Bearer`` per request.

    ::

        requests.get(url, auth=jupyter_msal.BearerAuth("https://graph.microsoft.com/.default"))
        httpx.get(url, auth=jupyter_msal.BearerAuth("https://graph.microsoft.com/.default"))

    With ``requests``, a ``401`` carrying a claims challenge is answered once: a token with those
    claims is fetched and the request is sent again.
    """

    def __init__(
        self,
        *scopes: str | Iterable[str],
        account: str | None = None,
        sign_in: bool = True,
        timeout: float | None = None,
    ) -> None:
        super().__init__(account=account, sign_in=sign_in, timeout=timeout)
        self.scopes = scopes

    def __repr__(self) -> str:
        return f"<jupyter_msal.BearerAuth scopes={list(self.scopes)!r}>"

    def token(self, claims: str | None = None) -> AccessToken:
        """The token the next request will carry."""
        return self._fetch(self.scopes, claims)

    def __call__(self, request: Any) -> Any:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        register_hook = getattr(request, "register_hook", None)
        if register_hook is not None:  # requests.PreparedRequest
            register_hook("response", self._on_response)
        return request

    def _on_response(self, response: Any, **kwargs: Any) -> Any:
        if response.status_code != 401 or getattr(response.request, "_jupyter_msal_retry", False):
            return response
        claims = parse_claims_challenge(response.headers.get("WWW-Authenticate", ""))
        if not claims:
            return response
        _ = response.content  # read the body so the connection can be reused
        response.close()
        retry = response.request.copy()
        retry._jupyter_msal_retry = True
        retry.headers["Authorization"] = f"Bearer {self.token(claims)}"
        new = response.connection.send(retry, **kwargs)
        new.history.append(response)
        new.request = retry
        return new
