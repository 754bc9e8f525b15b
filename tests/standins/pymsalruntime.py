"""A stand-in for ``pymsalruntime`` (the OS authentication broker), for tests only.

msal's own broker adapter (``msal/broker.py``) calls it exactly as it calls the real one. Like
the emulator, it fakes the identity-provider side: where the OS broker would show its window
and talk to Entra ID, this module signs the configured user in at the Entra ID emulator
(authorization code with PKCE, over TLS) and keeps the refresh token to itself, as a broker
does. :func:`configure` says which emulator and what the "user" does in the window::

    pymsalruntime.configure(emulator, outcome="success", username="ada@contoso.com")
    pymsalruntime.configure(emulator, outcome="cancel")    # the user closes the window
    pymsalruntime.configure(emulator, outcome="error")     # the broker fails
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import secrets
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

#: What the broker's window does next, and where it signs in.
_STATE: dict[str, Any] = {"emulator": None, "outcome": "success", "username": None}
#: Calls made, for assertions: ("signin_interactively", scopes), ...
calls: list[tuple[str, Any]] = []
#: account_id -> (username, refresh token): the broker's own store.
_accounts: dict[str, tuple[str, str]] = {}

_NATIVE_REDIRECT = "https://login.microsoftonline.com/common/oauth2/nativeclient"


def configure(emulator: Any, *, outcome: str = "success", username: str | None = None) -> None:
    """Point the stand-in at ``emulator`` and script the user's next answers."""
    _STATE.update(emulator=emulator, outcome=outcome, username=username)
    calls.clear()


class LogLevel(enum.Enum):
    TRACE = 1
    DEBUG = 2
    INFO = 3
    WARNING = 4
    ERROR = 5
    FATAL = 6


class Response_Status(enum.Enum):  # pymsalruntime's own name
    Status_Unexpected = 0
    Status_UserCanceled = 2
    Status_AccountUnusable = 4
    Status_InteractionRequired = 6


def register_logging_callback(callback: Any) -> None:
    """Accepted and ignored."""


def set_is_pii_enabled(enabled: int) -> None:
    """Accepted and ignored."""


def get_console_window() -> int:
    return 1


def get_desktop_window() -> int:
    return 2


class MSALRuntimeAuthParameters:
    def __init__(self, client_id: str, authority: str) -> None:
        self.client_id, self.authority = client_id, authority
        self.scopes: list[str] = []
        self.claims: str | None = None
        self.extra: dict[str, str] = {}

    def set_additional_parameter(self, key: str, value: str) -> None:
        self.extra[key] = value

    def set_requested_scopes(self, scopes: list[str]) -> None:
        self.scopes = list(scopes)

    def set_redirect_uri(self, uri: str) -> None:
        self.redirect_uri = uri

    def set_decoded_claims(self, claims: str) -> None:
        self.claims = claims

    def set_pop_params(self, *args: Any) -> None:
        raise NotImplementedError("proof-of-possession is not emulated")


class CallbackData:
    def __init__(self, is_interactive: bool = False) -> None:
        self.signal = threading.Event()
        self.result: Any = None

    def complete(self, result: Any) -> None:
        self.result = result
        self.signal.set()


class _Error:
    def __init__(self, status: Response_Status, context: str) -> None:
        self._status, self._context = status, context

    def get_context(self) -> str:
        return self._context

    def get_status(self) -> Response_Status:
        return self._status

    def get_error_code(self) -> int:
        return 0

    def get_tag(self) -> int:
        return 0


class _Account:
    def __init__(self, account_id: str, client_info: str) -> None:
        self._id, self._client_info = account_id, client_info

    def get_account_id(self) -> str:
        return self._id

    def get_client_info(self) -> str:
        return self._client_info


class _Result:
    def __init__(self, body: dict[str, Any] | None = None, error: _Error | None = None) -> None:
        self._body, self._error = body or {}, error

    def get_error(self) -> _Error | None:
        return self._error

    def get_telemetry_data(self) -> dict[str, Any]:
        return {}

    def get_account(self) -> _Account | None:
        info = self._body.get("client_info")
        return _Account(self._body["_account_id"], info) if info else None

    def get_id_token(self) -> str:
        raw = self._body.get("id_token", "")
        payload = raw.split(".")[1] if raw.count(".") == 2 else ""
        if not payload:
            return ""
        return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()

    def get_raw_id_token(self) -> str:
        return str(self._body.get("id_token", ""))

    def is_pop_authorization(self) -> bool:
        return False

    def get_access_token(self) -> str:
        return str(self._body.get("access_token", ""))

    def get_access_token_expiry_time(self) -> int:
        return int(time.time()) + int(self._body.get("expires_in", 0))

    def get_granted_scopes(self) -> list[str]:
        return str(self._body.get("scope", "")).split()


def _session(emulator: Any) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = emulator.ca_bundle_path
    return session


def _authority(params: MSALRuntimeAuthParameters) -> str:
    """The emulator's authority for the tenant msal names (msal drops the port of the host)."""
    return str(_STATE["emulator"].authority(params.authority.rstrip("/").rsplit("/", 1)[-1]))


def _sign_in_at_idp(params: MSALRuntimeAuthParameters, username: str) -> dict[str, Any]:
    """What the broker does with Entra ID: an auth-code sign-in of its own (PKCE)."""
    emulator = _STATE["emulator"]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = {
        "client_id": params.client_id,
        "response_type": "code",
        "redirect_uri": _NATIVE_REDIRECT,
        "scope": " ".join([*params.scopes, "openid", "profile", "offline_access"]),
        "code_challenge": challenge.decode().rstrip("="),
        "code_challenge_method": "S256",
        "login_hint": username,
    }
    with _session(emulator) as session:
        answer = session.get(
            f"{_authority(params)}/oauth2/v2.0/authorize", params=query, allow_redirects=False
        )
        code = dict(parse_qsl(urlsplit(answer.headers["Location"]).query))["code"]
        form = {
            "grant_type": "authorization_code",
            "client_id": params.client_id,
            "code": code,
            "redirect_uri": _NATIVE_REDIRECT,
            "code_verifier": verifier,
            "client_info": "1",
        }
        if params.claims:
            form["claims"] = params.claims
        body = session.post(f"{_authority(params)}/oauth2/v2.0/token", data=form).json()
    account_id = f"broker-{hashlib.sha256(username.encode()).hexdigest()[:12]}"
    _accounts[account_id] = (username, body.get("refresh_token", ""))
    return {**body, "_account_id": account_id}


def _refresh_at_idp(params: MSALRuntimeAuthParameters, account_id: str) -> dict[str, Any]:
    _username, refresh_token = _accounts[account_id]
    form = {
        "grant_type": "refresh_token",
        "client_id": params.client_id,
        "refresh_token": refresh_token,
        "scope": " ".join([*params.scopes, "openid", "profile", "offline_access"]),
        "client_info": "1",
    }
    if params.claims:
        form["claims"] = params.claims
    with _session(_STATE["emulator"]) as session:
        body = session.post(f"{_authority(params)}/oauth2/v2.0/token", data=form).json()
    return {**body, "_account_id": account_id}


def signin_silently(params: MSALRuntimeAuthParameters, correlation_id: str, callback: Any) -> None:
    calls.append(("signin_silently", params.scopes))
    missing = _Error(Response_Status.Status_InteractionRequired, "no default account")
    callback(_Result(error=missing))


def signin_interactively(
    window: int, params: MSALRuntimeAuthParameters, correlation_id: str, hint: Any, callback: Any
) -> None:
    calls.append(("signin_interactively", params.scopes))
    outcome = _STATE["outcome"]
    if outcome == "cancel":
        callback(_Result(error=_Error(Response_Status.Status_UserCanceled, "User canceled")))
    elif outcome == "error":
        callback(_Result(error=_Error(Response_Status.Status_Unexpected, "The broker crashed")))
    else:
        username = _STATE["username"] or _STATE["emulator"].default_username
        callback(_Result(_sign_in_at_idp(params, username)))


def read_account_by_id(account_id: str, correlation_id: str, callback: Any) -> None:
    known = account_id in _accounts
    callback(_Result({"_account_id": account_id, "client_info": "x"} if known else None))


def acquire_token_silently(
    params: MSALRuntimeAuthParameters, correlation_id: str, account: _Account, callback: Any
) -> None:
    calls.append(("acquire_token_silently", params.scopes))
    body = _refresh_at_idp(params, account.get_account_id())
    if "error" in body:
        refused = _Error(Response_Status.Status_InteractionRequired, json.dumps(body))
        callback(_Result(error=refused))
    else:
        callback(_Result(body))


def signout_silently(client_id: str, correlation_id: str, account: _Account, callback: Any) -> None:
    _accounts.pop(account.get_account_id(), None)
    callback(_Result())
