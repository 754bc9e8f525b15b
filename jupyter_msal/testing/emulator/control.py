"""The Entra ID emulator's HTTP test controls under ``/_emulator/``, for other processes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .handlers import EmulatorHandler

if TYPE_CHECKING:
    from .grants import EmulatorGrants

__all__ = ["ControlHandler", "StateHandler"]


class StateHandler(EmulatorHandler):
    """``GET /_emulator/state``: pending codes, counts, request log (no secrets)."""

    def get(self) -> None:
        self.write_json(self.emu.state())


class ControlHandler(EmulatorHandler):
    """``POST /_emulator/<action>`` with a JSON object body."""

    def post(self, action: str) -> None:
        body = self.request.body.strip()
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if body and content_type != "application/json":
            # refuse form posts, so a web page cannot drive the emulator cross-site
            self.write_json({"ok": False, "error": "send a JSON body"}, 415)
            return
        try:
            args = json.loads(body) if body else {}
        except ValueError:
            self.write_json({"ok": False, "error": "body is not JSON"}, 400)
            return
        if not isinstance(args, dict):
            self.write_json({"ok": False, "error": "body must be a JSON object"}, 400)
            return
        try:
            result = self._dispatch(action, args)
        except LookupError as exc:
            self.write_json({"ok": False, "error": str(exc).strip("'\"")}, 404)
            return
        except (TypeError, ValueError) as exc:
            self.write_json({"ok": False, "error": str(exc)}, 400)
            return
        self.write_json({"ok": True, **result})

    def _dispatch(self, action: str, args: dict[str, Any]) -> dict[str, Any]:
        control = _CONTROLS.get(action)
        if control is None:
            raise LookupError(f"unknown control action {action!r}")
        return control(self.emu, args)


Control = Callable[["EmulatorGrants", dict[str, Any]], dict[str, Any]]


def _approve(emu: EmulatorGrants, args: dict[str, Any]) -> dict[str, Any]:
    code = emu.approve(args.get("user_code"), args.get("username"), args.get("tenant_id"))
    return {"user_code": code}


def _latency(emu: EmulatorGrants, args: dict[str, Any]) -> dict[str, Any]:
    emu.set_latency(float(args.get("seconds", 0)), args.get("endpoint", "token"))
    return {}


def _error(emu: EmulatorGrants, args: dict[str, Any]) -> dict[str, Any]:
    emu.inject_error(
        status=int(args.get("status", 500)),
        body=args.get("body"),
        endpoint=args.get("endpoint", "token"),
        count=args.get("count", 1),
        content_type=args.get("content_type", "application/json"),
        headers=args.get("headers"),
    )
    return {}


def _aadsts(emu: EmulatorGrants, args: dict[str, Any]) -> dict[str, Any]:
    emu.inject_aadsts(
        code=int(args.get("code", 50076)),
        error=args.get("error", "interaction_required"),
        endpoint=args.get("endpoint", "token"),
        count=args.get("count", 1),
        description=args.get("description"),
        status=int(args.get("status", 400)),
        extra=args.get("extra"),
    )
    return {}


def _block(emu: EmulatorGrants, args: dict[str, Any]) -> dict[str, Any]:
    emu.block_sign_in(str(args.get("method", "device_code")), int(args.get("code", 53003)))
    return {"blocked": emu.blocked_sign_ins}


def _unblock(emu: EmulatorGrants, args: dict[str, Any]) -> dict[str, Any]:
    emu.unblock_sign_in(args.get("method"))
    return {"blocked": emu.blocked_sign_ins}


def _guest(emu: EmulatorGrants, args: dict[str, Any]) -> dict[str, Any]:
    emu.add_guest(str(args["username"]), str(args["tenant_id"]), domain=args.get("domain"))
    return {"guests": emu.guests}


def _require_mfa(emu: EmulatorGrants, args: dict[str, Any]) -> dict[str, Any]:
    emu.require_mfa(str(args["tenant_id"]), bool(args.get("required", True)))
    return {}


def _auto_approve(emu: EmulatorGrants, args: dict[str, Any]) -> dict[str, Any]:
    emu.auto_approve = args.get("username")
    return {"auto_approve": emu.auto_approve}


_INT_SETTINGS = ("access_token_lifetime", "device_code_lifetime", "device_code_interval")
_FLAG_SETTINGS = ("refresh_token_single_use", "expand_default_scope", "auth_code_sign_in_page")


def _config(emu: EmulatorGrants, args: dict[str, Any]) -> dict[str, Any]:
    for name in _INT_SETTINGS:
        if name in args:
            setattr(emu, name, int(args[name]))
    if "default_username" in args:
        emu.default_username = str(args["default_username"])
    if "access_token_version" in args:
        version = str(args["access_token_version"])
        if version not in ("auto", "1.0", "2.0"):
            raise ValueError("access_token_version must be 'auto', '1.0' or '2.0'")
        emu.access_token_version = version
    for flag in _FLAG_SETTINGS:
        if flag in args:
            setattr(emu, flag, bool(args[flag]))
    return {}


def _done(action: Callable[[], object]) -> dict[str, Any]:
    action()
    return {}


#: ``/_emulator/<action>`` -> what it does with the JSON body's arguments.
_CONTROLS: dict[str, Control] = {
    "approve": _approve,
    "decline": lambda emu, args: {"user_code": emu.decline(args.get("user_code"))},
    "expire": lambda emu, args: {"user_code": emu.expire(args.get("user_code"))},
    "latency": _latency,
    "error": _error,
    "aadsts": _aadsts,
    "block": _block,
    "unblock": _unblock,
    "revoke-sessions": lambda emu, args: {"revoked": emu.revoke_sessions(args.get("username"))},
    "revoke": lambda emu, args: {"revoked": emu.revoke_refresh_tokens(args.get("username"))},
    "reset": lambda emu, args: _done(emu.reset_counts),
    "clear-faults": lambda emu, args: _done(emu.clear_faults),
    "auto-approve": _auto_approve,
    "guest": _guest,
    "require-mfa": _require_mfa,
    "config": _config,
}
