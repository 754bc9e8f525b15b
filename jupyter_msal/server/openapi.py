"""The OpenAPI 3 description of the REST API, served at ``jupyter-msal/openapi.json``.

Enumerations and the account fields come from :mod:`jupyter_msal.models`; every object the
API answers with is closed (``additionalProperties: false``), and the tests validate each
answer they receive against this document, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from .._version import __version__
from ..models import Account, FlowState, SignInMethod

__all__ = ["openapi_document"]

_STRING_LIST = {"type": "array", "items": {"type": "string", "minLength": 1}}
#: Scopes a request may name: RFC 6749 scope tokens (anything else is a 400).
_SCOPE_LIST = {
    "type": "array",
    "maxItems": 50,
    "items": {
        "type": "string",
        "minLength": 1,
        "maxLength": 512,
        "pattern": "^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$",
    },
}
#: A username or home_account_id (printable, no white space; anything else is a 400).
_ACCOUNT_SELECTOR = {"type": "string", "minLength": 1, "maxLength": 256}
_ACCOUNT = {
    "type": "object",
    "additionalProperties": False,
    "required": list(Account.__dataclass_fields__),
    "properties": {k: {"type": "string"} for k in Account.__dataclass_fields__},
}
_ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "hint": {"type": "string"},
        "aadsts": {"type": "string"},
        "setting": {"type": "string"},
        "retry_after": {"type": "integer", "description": "seconds; also the Retry-After header"},
        "replayed": {"type": "boolean", "description": "msal replayed an earlier 429/5xx"},
    },
}
_FLOW_PROPERTIES: dict[str, Any] = {
    "id": {"type": "string"},
    "method": {
        "type": "string",
        "enum": [m.value for m in SignInMethod if m is not SignInMethod.AUTO],
    },
    "state": {"type": "string", "enum": [s.value for s in FlowState]},
    "user_code": {"type": ["string", "null"]},
    "verification_uri": {"type": ["string", "null"]},
    "sign_in_url": {"type": ["string", "null"]},
    "message": {"type": ["string", "null"]},
    "expires_on": {"type": ["integer", "null"]},
    "created_on": {"type": "integer"},
    "scopes": _STRING_LIST,
    "account": {"oneOf": [{"$ref": "#/components/schemas/Account"}, {"type": "null"}]},
    "error": {"oneOf": [{"$ref": "#/components/schemas/Error"}, {"type": "null"}]},
    "fallback_reason": {"type": ["string", "null"]},
    "step": {"type": "integer", "minimum": 0},
}
_FLOW = {
    "type": "object",
    "additionalProperties": False,
    "required": list(_FLOW_PROPERTIES),
    "properties": _FLOW_PROPERTIES,
}


#: How a 503 answer says that jupyter-msal could not start on this server.
_INACTIVE = (
    "; `inactive` when jupyter-msal could not start on this server (an invalid setting, a "
    "file it cannot read): the message is `jupyter-msal is not active on this server: <reason>`"
)


def _json(schema: dict[str, Any] | str, description: str = "OK") -> dict[str, Any]:
    if isinstance(schema, str):
        schema = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    """The error answers of an operation: ``codes``, and the 503 every operation may answer."""
    answers = {str(code): _json("Error", "Error (see the `error` code)") for code in codes}
    answers.setdefault("503", _json("Error", "Error (see the `error` code)"))
    answers["503"]["description"] += _INACTIVE
    return answers


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": False, "content": {"application/json": {"schema": schema}}}


def _closed(properties: dict[str, Any]) -> dict[str, Any]:
    """An object schema with exactly these properties, all required."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(properties),
        "properties": properties,
    }


_ACCOUNTS_REPLY = _closed(
    {
        "accounts": {"type": "array", "items": {"$ref": "#/components/schemas/Account"}},
        "revision": {"type": "integer"},
    }
)
_ACCOUNT_LIST = {"type": "array", "items": {"$ref": "#/components/schemas/Account"}}
_SIGN_OUT_REPLY = _closed(
    {"removed": _ACCOUNT_LIST, "accounts": _ACCOUNT_LIST, "revision": {"type": "integer"}}
)
_SIGN_IN_LIST = _closed(
    {"sign_ins": {"type": "array", "items": {"$ref": "#/components/schemas/SignIn"}}}
)
_TOKEN = _closed(
    {
        "access_token": {"type": "string"},
        "token_type": {"type": "string"},
        "expires_on": {"type": "integer"},
        "scopes": _STRING_LIST,
        "account": {"oneOf": [{"$ref": "#/components/schemas/Account"}, {"type": "null"}]},
    }
)
_STRING_OR_NULL = {"type": ["string", "null"]}
_STATUS = _closed(
    {
        "version": {"type": "string"},
        "mode": {"type": "string", "enum": ["user", "service_principal"]},
        "config": {"type": "object", "description": "every non-secret effective setting"},
        "cache": _closed(
            {
                "path": {"type": "string"},
                "encrypted": {"type": "boolean"},
                "encryption": {"type": "string", "enum": ["key", "keyring", "none"]},
                "warnings": {"type": "array", "items": {"type": "string"}},
            }
        ),
        "broker": _closed({"available": {"type": "boolean"}, "reason": _STRING_OR_NULL}),
        "region": _closed(
            {
                "configured": _STRING_OR_NULL,
                "applies": {"type": "boolean"},
                "note": {"type": "string"},
            }
        ),
        "sign_in_methods": {
            "type": "array",
            "items": {"type": "string", "enum": _FLOW_PROPERTIES["method"]["enum"]},
        },
        "accounts": _ACCOUNT_LIST,
        "managed_identity": _closed(
            {
                "enabled": {"type": "boolean"},
                "endpoint": _STRING_OR_NULL,
                "note": {"type": "string"},
            }
        ),
        "hub": _closed(
            {
                "url": _STRING_OR_NULL,
                "account": _STRING_OR_NULL,
                "in_use": {"type": "boolean"},
                "note": {"type": "string"},
            }
        ),
        "revision": {"type": "integer"},
        "warnings": {"type": "array", "items": {"type": "string"}},
    }
)
_MANAGED_IDENTITY_TOKEN = _closed(
    {
        "access_token": {"type": "string"},
        "expires_on": {"type": "integer", "description": "epoch seconds"},
        "resource": {"type": "string"},
        "token_type": {"type": "string"},
        "client_id": {"type": "string"},
    }
)
_MANAGED_IDENTITY_ERROR = _closed(
    {
        "error": {"type": "string"},
        "error_description": {"type": "string"},
        "statusCode": {"type": "integer"},
        "message": {"type": "string"},
    }
)
_ACCOUNT_PARAM = {
    "name": "account",
    "in": "path",
    "required": True,
    "description": "home_account_id or username",
    "schema": {"type": "string"},
}
_FLOW_PARAM = {"name": "flow_id", "in": "path", "required": True, "schema": {"type": "string"}}


def openapi_document(base_url: str = "/") -> dict[str, Any]:
    """The OpenAPI document, with the server URL under ``base_url``."""
    prefix = base_url.rstrip("/") + "/jupyter-msal"
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "jupyter-msal",
            "version": __version__,
            "description": "Microsoft Entra ID sign-in and access tokens for Jupyter. "
            "Authenticate as for any Jupyter API (token or cookie + XSRF), or from a kernel "
            "with the X-Jupyter-Msal-Secret header.",
        },
        "servers": [{"url": prefix}],
        "components": {
            "schemas": {
                "Account": _ACCOUNT,
                "Error": _ERROR,
                "SignIn": _FLOW,
                "Status": _STATUS,
                "Token": _TOKEN,
                "ManagedIdentityToken": _MANAGED_IDENTITY_TOKEN,
                "ManagedIdentityError": _MANAGED_IDENTITY_ERROR,
            },
            "securitySchemes": {
                "jupyterToken": {"type": "apiKey", "in": "header", "name": "Authorization"},
                "kernelSecret": {"type": "apiKey", "in": "header", "name": "X-Jupyter-Msal-Secret"},
                "identityHeader": {"type": "apiKey", "in": "header", "name": "X-IDENTITY-HEADER"},
            },
        },
        "security": [{"jupyterToken": []}, {"kernelSecret": []}],
        "paths": {
            "/status": {
                "get": {
                    "summary": "Non-secret configuration and state",
                    "responses": {"200": _json("Status"), **_errors(403)},
                }
            },
            "/accounts": {
                "get": {
                    "summary": "Signed-in accounts",
                    "responses": {"200": _json(_ACCOUNTS_REPLY), **_errors(403)},
                },
                "delete": {
                    "summary": "Sign out of all accounts",
                    "responses": {"200": _json(_SIGN_OUT_REPLY), **_errors(403, 502, 503, 504)},
                },
            },
            "/accounts/{account}": {
                "parameters": [_ACCOUNT_PARAM],
                "get": {
                    "summary": "One account",
                    "responses": {"200": _json("Account"), **_errors(400, 403, 404)},
                },
                "delete": {
                    "summary": "Sign out of one account",
                    "responses": {
                        "200": _json(_SIGN_OUT_REPLY),
                        **_errors(400, 403, 404, 502, 503, 504),
                    },
                },
            },
            "/token": {
                "post": {
                    "summary": "An access token (kernels, terminals and API-token clients only)",
                    "requestBody": _body(
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "scopes": _SCOPE_LIST,
                                "account": _ACCOUNT_SELECTOR,
                                "force_refresh": {"type": "boolean"},
                                "claims": {"type": "string"},
                            },
                        }
                    ),
                    "responses": {
                        "200": _json("Token"),
                        **_errors(400, 401, 403, 404, 413, 502, 503, 504),
                    },
                }
            },
            "/sign-ins": {
                "get": {
                    "summary": "Sign-ins in progress or recently finished",
                    "responses": {"200": _json(_SIGN_IN_LIST), **_errors(403)},
                },
                "post": {
                    "summary": "Start a sign-in",
                    "requestBody": _body(
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "method": {"type": "string", "enum": SignInMethod.names()},
                                "scopes": _SCOPE_LIST,
                                "claims": {"type": "string"},
                            },
                        }
                    ),
                    "responses": {
                        "202": _json("SignIn"),
                        **_errors(400, 403, 409, 413, 429, 502, 503, 504),
                    },
                },
            },
            "/sign-ins/{flow_id}": {
                "parameters": [_FLOW_PARAM],
                "get": {
                    "summary": "One sign-in; with wait=S, answers when it finishes or after S s",
                    "parameters": [
                        {
                            "name": "wait",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "number", "minimum": 0, "maximum": 30},
                        },
                        {
                            "name": "since",
                            "in": "query",
                            "required": False,
                            "description": "the step the caller has seen: a flow that has "
                            "moved on from it answers at once",
                            "schema": {"type": "integer", "minimum": 0},
                        },
                    ],
                    "responses": {"200": _json("SignIn"), **_errors(400, 403, 404)},
                },
                "delete": {
                    "summary": "Cancel a sign-in",
                    "responses": {"200": _json("SignIn"), **_errors(403, 404)},
                },
            },
            "/sign-ins/{flow_id}/response": {
                "parameters": [_FLOW_PARAM],
                "post": {
                    "summary": "Complete an authorization-code sign-in with the address the "
                    "browser ended on (state-checked, one use)",
                    "requestBody": _body(
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["url"],
                            "properties": {"url": {"type": "string", "minLength": 1}},
                        }
                    ),
                    "responses": {
                        "200": _json("SignIn"),
                        **_errors(400, 403, 404, 409, 413, 502, 503, 504),
                    },
                }
            },
            "/managed-identity": {
                "get": {
                    "summary": "The signed-in user's token for one resource, in the App Service "
                    "managed-identity protocol (IDENTITY_ENDPOINT, for unmodified Azure code)",
                    "description": "Authenticated only by the X-IDENTITY-HEADER secret that "
                    "kernels and terminals inherit in IDENTITY_HEADER; Jupyter tokens and cookies "
                    "are refused. client_id, mi_res_id, object_id and principal_id are accepted "
                    "and ignored. Errors use 4xx statuses only, which Azure SDKs do not retry "
                    "(error `inactive` with a 400 when jupyter-msal could not start here).",
                    "security": [{"identityHeader": []}],
                    "parameters": [
                        {
                            "name": "api-version",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "enum": ["2019-08-01"]},
                        },
                        {
                            "name": "resource",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "minLength": 1},
                        },
                        *(
                            {
                                "name": name,
                                "in": "query",
                                "required": False,
                                "schema": {"type": "string"},
                                "description": "ignored",
                            }
                            for name in ("client_id", "mi_res_id", "object_id", "principal_id")
                        ),
                    ],
                    "responses": {
                        "200": _json("ManagedIdentityToken"),
                        **{
                            str(code): _json("ManagedIdentityError", "Error (see `message`)")
                            for code in (400, 401, 403)
                        },
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": _json({"type": "object"}), **_errors(403)},
                }
            },
        },
    }
