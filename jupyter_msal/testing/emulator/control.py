"""The Entra ID emulator's HTTP test controls under ``/_emulator/``, for other processes."""

from __future__ import annotations

import json
from typing import Any

from .handlers import EmulatorHandler

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
        emu = self.emu
        if action == "approve":
            code = emu.approve(args.get("user_code"), args.get("username"), args.get("tenant_id"))
            return {"user_code": code}
        if action == "decline":
            return {"user_code": emu.decline(args.get("user_code"))}
        if action == "expire":
            return {"user_code": emu.expire(args.get("user_code"))}
        if action == "latency":
            emu.set_latency(float(args.get("seconds", 0)), args.get("endpoint", "token"))
            return {}
        if action == "error":
            emu.inject_error(
                status=int(args.get("status", 500)),
                body=args.get("body"),
                endpoint=args.get("endpoint", "token"),
                count=args.get("count", 1),
                content_type=args.get("content_type", "application/json"),
                headers=args.get("headers"),
            )
            return {}
        if action == "aadsts":
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
        if action == "block":
            emu.block_sign_in(str(args.get("method", "device_code")), int(args.get("code", 53003)))
            return {"blocked": emu.blocked_sign_ins}
        if action == "unblock":
            emu.unblock_sign_in(args.get("method"))
            return {"blocked": emu.blocked_sign_ins}
        if action == "revoke-sessions":
            return {"revoked": emu.revoke_sessions(args.get("username"))}
        if action == "revoke":
            return {"revoked": emu.revoke_refresh_tokens(args.get("username"))}
        if action == "reset":
            emu.reset_counts()
            return {}
        if action == "clear-faults":
            emu.clear_faults()
            return {}
        if action == "auto-approve":
            emu.auto_approve = args.get("username")
            return {"auto_approve": emu.auto_approve}
        if action == "config":
            for name in (
                "access_token_lifetime",
                "device_code_lifetime",
                "device_code_interval",
            ):
                if name in args:
                    setattr(emu, name, int(args[name]))
            if "default_username" in args:
                emu.default_username = str(args["default_username"])
            if "access_token_version" in args:
                version = str(args["access_token_version"])
                if version not in ("auto", "1.0", "2.0"):
                    raise ValueError("access_token_version must be 'auto', '1.0' or '2.0'")
                emu.access_token_version = version
            for flag in (
                "refresh_token_single_use",
                "expand_default_scope",
                "auth_code_sign_in_page",
            ):
                if flag in args:
                    setattr(emu, flag, bool(args[flag]))
            return {}
        raise LookupError(f"unknown control action {action!r}")
