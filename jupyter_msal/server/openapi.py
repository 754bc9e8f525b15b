"""The OpenAPI 3 description of the REST API, served at ``jupyter-msal/openapi.json``."""

from __future__ import annotations

from typing import Any

from .. import __version__

__all__ = ["openapi_document"]

_STRING_LIST = {"type": "array", "items": {"type": "string", "minLength": 1}}
_ACCOUNT = {
    "type": "object",
    "properties": {
        k: {"type": "string"}
        for k in ("home_account_id", "username", "tenant_id", "environment", "authority")
    },
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
    },
}
_FLOW = {
    "type": "object",
    "required": ["id", "method", "state"],
    "properties": {
        "id": {"type": "string"},
        "method": {"type": "string", "enum": ["device_code", "broker"]},
        "state": {
            "type": "string",
            "enum": ["pending", "succeeded", "failed", "expired", "cancelled"],
        },
        "user_code": {"type": ["string", "null"]},
        "verification_uri": {"type": ["string", "null"]},
        "message": {"type": ["string", "null"]},
        "expires_on": {"type": ["integer", "null"]},
        "created_on": {"type": "integer"},
        "scopes": _STRING_LIST,
        "account": {"oneOf": [{"$ref": "#/components/schemas/Account"}, {"type": "null"}]},
        "error": {"oneOf": [{"$ref": "#/components/schemas/Error"}, {"type": "null"}]},
        "fallback_reason": {"type": ["string", "null"]},
    },
}


def _json(schema: dict[str, Any] | str, description: str = "OK") -> dict[str, Any]:
    if isinstance(schema, str):
        schema = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): _json("Error", "Error (see the `error` code)") for code in codes}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": False, "content": {"application/json": {"schema": schema}}}


_ACCOUNTS_REPLY = {
    "type": "object",
    "properties": {
        "accounts": {"type": "array", "items": {"$ref": "#/components/schemas/Account"}},
        "revision": {"type": "integer"},
    },
}
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
            "schemas": {"Account": _ACCOUNT, "Error": _ERROR, "SignIn": _FLOW},
            "securitySchemes": {
                "jupyterToken": {"type": "apiKey", "in": "header", "name": "Authorization"},
                "kernelSecret": {"type": "apiKey", "in": "header", "name": "X-Jupyter-Msal-Secret"},
            },
        },
        "security": [{"jupyterToken": []}, {"kernelSecret": []}],
        "paths": {
            "/status": {
                "get": {
                    "summary": "Non-secret configuration and state",
                    "responses": {"200": _json({"type": "object"}), **_errors(403)},
                }
            },
            "/accounts": {
                "get": {
                    "summary": "Signed-in accounts",
                    "responses": {"200": _json(_ACCOUNTS_REPLY), **_errors(403)},
                },
                "delete": {
                    "summary": "Sign out of all accounts",
                    "responses": {"200": _json({"type": "object"}), **_errors(403)},
                },
            },
            "/accounts/{account}": {
                "parameters": [_ACCOUNT_PARAM],
                "get": {
                    "summary": "One account",
                    "responses": {"200": _json("Account"), **_errors(403, 404)},
                },
                "delete": {
                    "summary": "Sign out of one account",
                    "responses": {"200": _json({"type": "object"}), **_errors(403, 404)},
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
                                "scopes": _STRING_LIST,
                                "account": {"type": "string"},
                                "force_refresh": {"type": "boolean"},
                                "claims": {"type": "string"},
                            },
                        }
                    ),
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["access_token", "expires_on"],
                                "properties": {
                                    "access_token": {"type": "string"},
                                    "token_type": {"type": "string"},
                                    "expires_on": {"type": "integer"},
                                    "scopes": _STRING_LIST,
                                },
                            }
                        ),
                        **_errors(400, 401, 403, 413, 502, 504),
                    },
                }
            },
            "/sign-ins": {
                "get": {
                    "summary": "Sign-ins in progress or recently finished",
                    "responses": {"200": _json({"type": "object"}), **_errors(403)},
                },
                "post": {
                    "summary": "Start a sign-in",
                    "requestBody": _body(
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "method": {
                                    "type": "string",
                                    "enum": ["auto", "device_code", "broker"],
                                },
                                "scopes": _STRING_LIST,
                                "claims": {"type": "string"},
                            },
                        }
                    ),
                    "responses": {
                        "202": _json("SignIn"),
                        **_errors(400, 403, 409, 413, 429, 502, 504),
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
                        }
                    ],
                    "responses": {"200": _json("SignIn"), **_errors(400, 403, 404)},
                },
                "delete": {
                    "summary": "Cancel a sign-in",
                    "responses": {"200": _json("SignIn"), **_errors(403, 404)},
                },
            },
            "/openapi.json": {
                "get": {"summary": "This document", "responses": {"200": _json({"type": "object"})}}
            },
        },
    }
