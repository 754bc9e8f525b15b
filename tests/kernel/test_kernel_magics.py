"""The magics in real kernels started through a real Jupyter server, against the emulator."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from jupyter_msal.testing import DEFAULT_USERNAME as ADA
from jupyter_msal.testing import EntraEmulator, wait_until
from jupyter_msal.testing.kernels import CellResult
from jupyter_msal.testing.server import JupyterServerProcess

STORAGE = "https://storage.azure.com/.default"
GRAPH = "https://graph.microsoft.com/.default"


@pytest.fixture(scope="module")
def server_extra_env() -> dict[str, str]:
    """This module's server has an admin policy on scopes."""
    return {
        "JUPYTER_MSAL_ALLOWED_SCOPES": "https://storage.azure.com/*,https://graph.microsoft.com/*"
    }


def _issued(emulator: EntraEmulator) -> set[str]:
    """Fingerprints of the issued tokens, so kernels never print a token for a comparison."""
    return {hashlib.sha256(t.encode()).hexdigest() for t in emulator.issued_access_tokens}


def _no_token_shown(result: CellResult, emulator: EntraEmulator) -> None:
    shown = result.text()
    for token in emulator.issued_access_tokens:
        assert token not in shown


def test_sign_in_then_cached_then_force_refresh(
    signed_out: JupyterServerProcess, emulator: EntraEmulator
) -> None:
    server = signed_out
    with server.open_kernel() as k:
        k.ok("%load_ext jupyter_msal")
        approver = emulator.approve_next()
        first = k.ok(f"tok = %msal_token {STORAGE}")
        approver.wait(5)

        # The prompt was displayed with a display_id, showing link, code and copy button ...
        prompts = [o for o in first.outputs if o["type"] == "display_data"]
        assert len(prompts) == 1 and prompts[0]["display_id"]
        html = prompts[0]["data"]["text/html"]
        assert approver.user_code in html and "/devicelogin" in html
        assert "execCommand('copy')" in html and "navigator.clipboard" in html
        assert "data-jmsal-remaining" in html
        assert approver.user_code in prompts[0]["data"]["text/plain"]
        # ... and then replaced by "Signed in as ..." in place.
        updates = [o for o in first.outputs if o["type"] == "update_display_data"]
        assert [u["display_id"] for u in updates] == [prompts[0]["display_id"]]
        assert updates[-1]["data"]["text/plain"] == f"Signed in as {ADA}."
        assert emulator.counts["grant:device_code"] >= 1

        # The token is the one the emulator issued, for Ada, with decoded claims.
        assert k.eval("__import__('hashlib').sha256(str(tok).encode()).hexdigest()") in _issued(
            emulator
        )
        assert k.eval("tok.account.username") == ADA
        assert k.eval("tok.claims['aud']") == "https://storage.azure.com"
        assert k.eval("'Bearer ' + tok == 'Bearer ' + tok.token and f'{tok}' == str(tok)")

        # Ending a cell with the token shows the redacted form only.
        shown = k.ok("tok")
        assert shown.value["text/plain"].startswith(f"<AccessToken for {ADA}, scopes=[")
        assert (
            "expires in 59 min" in shown.value["text/plain"]
            or "60 min" in shown.value["text/plain"]
        )
        assert "AccessToken for" in shown.value["text/html"]
        _no_token_shown(shown, emulator)

        # Second call: no identity-provider request at all (kernel cache).
        emulator.reset_counts()
        k.ok(f"tok2 = %msal_token {STORAGE}")
        assert sum(emulator.counts.values()) == 0
        assert k.eval("tok2 is tok")

        # --force-refresh: exactly one request to the token endpoint.
        k.ok(f"tok3 = %msal_token {STORAGE} --force-refresh")
        assert emulator.counts["token"] == 1
        assert emulator.counts["grant:refresh_token"] == 1
        assert k.eval("str(tok3) != str(tok)")
        assert k.eval("__import__('hashlib').sha256(str(tok3).encode()).hexdigest()") in _issued(
            emulator
        )

        # Server mode never imports msal in the kernel.
        assert k.eval("'msal' in __import__('sys').modules") is False

    # A new kernel's first call for a scope the server holds: no identity-provider request.
    emulator.reset_counts()
    with server.open_kernel() as k2:
        out = k2.ok(
            "import jupyter_msal, sys\n"
            f"t = jupyter_msal.get_token({STORAGE!r}, sign_in=False)\n"
            "print(t.account.username, 'msal' in sys.modules)"
        )
        assert out.stdout.split() == [ADA, "False"]
        assert sum(emulator.counts.values()) == 0


def test_kernel_restart_keeps_sign_in(
    signed_out: JupyterServerProcess, emulator: EntraEmulator
) -> None:
    server = signed_out
    with server.open_kernel() as k:
        approver = emulator.approve_next()
        k.ok(f"import jupyter_msal; t = jupyter_msal.get_token({GRAPH!r})")
        approver.wait(5)
        server.restart_kernel(k)
        emulator.reset_counts()
        assert k.eval("'t' in globals()") is False  # really a new process
        out = k.ok(
            "import jupyter_msal\n"
            f"t = jupyter_msal.get_token({GRAPH!r}, sign_in=False)\n"
            "print(t.account.username)"
        )
        assert out.stdout.strip() == ADA
        assert emulator.counts["devicecode"] == 0 and emulator.counts["token"] == 0


def _no_account_within(server: JupyterServerProcess, seconds: float) -> None:
    """Fail as soon as an account shows up at ``server`` during the next ``seconds``."""
    with pytest.raises(TimeoutError):
        wait_until(
            lambda: server.request("GET", "jupyter-msal/accounts")["accounts"], timeout=seconds
        )


def test_interrupt_cancels_the_sign_in_and_shows_one_line(
    signed_out: JupyterServerProcess, emulator: EntraEmulator
) -> None:
    server = signed_out
    with server.open_kernel() as k:
        k.ok("%load_ext jupyter_msal")
        known = set(emulator.pending_user_codes())

        def interrupt_at_the_prompt(output: dict[str, Any]) -> None:
            if output["type"] == "display_data":  # the kernel now waits for the sign-in
                server.interrupt_kernel(k)

        result = k.execute(f"tok = %msal_token {STORAGE}", on_output=interrupt_at_the_prompt)

        # The cell showed the prompt, replaced it in place, and raised one line.
        assert result.status == "error"
        assert [o["type"] for o in result.outputs] == [
            "display_data",
            "update_display_data",
            "error",
        ]
        prompt, update, error = result.outputs
        (code,) = [c for c in emulator.pending_user_codes() if c not in known]
        assert code in prompt["data"]["text/plain"]
        assert update["display_id"] == prompt["display_id"] is not None
        assert update["data"]["text/plain"] == "Sign-in cancelled."
        assert error["traceback"] == [
            "\x1b[0;31mERROR:\x1b[0m Interrupted: the sign-in was cancelled."
        ]

        # The sign-in was cancelled on the server; approving now is too late.
        flows = server.request("GET", "jupyter-msal/sign-ins")["sign_ins"]
        assert [f["state"] for f in flows if f["user_code"] == code] == ["cancelled"]
        emulator.approve(code, username=ADA)
        _no_account_within(server, emulator.device_code_interval + 1)

        # The kernel is fine afterwards.
        assert k.eval("'tok' in globals()") is False


def _one_line_error(result: CellResult) -> str:
    """The single line a failed cell showed (an ERROR: line or a UsageError)."""
    assert result.status == "error", result.outputs
    lines = []
    for o in result.outputs:
        if o["type"] == "error":
            lines.extend(line for tb in o["traceback"] for line in tb.splitlines() if line.strip())
        elif o["type"] == "stream":
            lines.extend(line for line in o["text"].splitlines() if line.strip())
    assert len(lines) == 1, lines
    return lines[0]


def test_bad_input_gives_one_line_errors(
    signed_out: JupyterServerProcess, emulator: EntraEmulator
) -> None:
    server = signed_out
    with server.open_kernel() as k:
        k.ok("%load_ext jupyter_msal")
        line = _one_line_error(k.execute(f"%msal_token {STORAGE} --bogus"))
        assert line == (
            "UsageError: unrecognized arguments: --bogus (see %msal_token? for the options)"
        )

        line = _one_line_error(k.execute(f"%msal_token {STORAGE} --claims '{{not json'"))
        assert line.startswith("UsageError: --claims: The claims are not valid JSON")

        line = _one_line_error(k.execute(f"%msal_token {STORAGE} --timeout soon"))
        assert "--timeout" in line and "invalid float value" in line

        line = _one_line_error(k.execute("%msal_token https://vault.azure.net/.default"))
        assert line == (
            "\x1b[0;31mERROR:\x1b[0m The scope 'https://vault.azure.net/.default' is not allowed "
            "by the admin policy JupyterMsal.allowed_scopes (https://storage.azure.com/*, "
            "https://graph.microsoft.com/*). Ask the admin of this Jupyter server to allow it."
        )

        line = _one_line_error(k.execute("%msal_token"))  # no scope, no default_scopes
        assert "Name at least one scope" in line and "JupyterMsal.default_scopes" in line

        line = _one_line_error(k.execute(f"%msal_token {STORAGE} --no-sign-in"))
        assert line.endswith(
            "Sign in first: no signed-in account can get this token. "
            "Run %msal_login, `jupyter msal login`, or use the Sign in button."
        )
        assert line.startswith("\x1b[0;31mERROR:\x1b[0m ")

        # --timeout: nobody used the code in time, so the sign-in is cancelled on the server.
        known = set(emulator.pending_user_codes())
        line = _one_line_error(k.execute(f"%msal_token {STORAGE} --timeout 1.5"))
        assert line == (
            "\x1b[0;31mERROR:\x1b[0m Nobody completed the sign-in within 1.5 s; it was "
            "cancelled. Run it again, and use the code before the time runs out."
        )
        (code,) = [c for c in emulator.pending_user_codes() if c not in known]
        flows = server.request("GET", "jupyter-msal/sign-ins")["sign_ins"]
        assert [f["state"] for f in flows if f["user_code"] == code] == ["cancelled"]

        # Errors raised by the Python API inside a cell are one line too.
        line = _one_line_error(
            k.execute(f"import jupyter_msal; jupyter_msal.get_token({STORAGE!r}, sign_in=False)")
        )
        assert "Sign in first" in line

        line = _one_line_error(k.execute("%msal_logout ada@contoso.com --all"))
        assert line == "UsageError: Give an account or --all, not both."

        # %xmode Verbose brings the whole traceback back, for debugging.
        k.ok("%xmode Verbose")
        verbose = k.execute(f"%msal_token {STORAGE} --no-sign-in")
        assert verbose.status == "error"
        assert len("".join(verbose.errors[0]["traceback"]).splitlines()) > 5
        k.ok("%xmode Context")


def test_accounts_login_logout_magics(
    signed_out: JupyterServerProcess, emulator: EntraEmulator
) -> None:
    server = signed_out
    with server.open_kernel() as k:
        k.ok("%load_ext jupyter_msal")
        assert k.ok("%msal_accounts").stdout.strip() == (
            "Nobody is signed in. Run %msal_login to sign in."
        )
        approver = emulator.approve_next("grace@contoso.com")
        login = k.ok("%msal_login --method device_code")
        approver.wait(5)
        assert login.outputs[-1]["data"]["text/plain"] == "Signed in as grace@contoso.com."

        table = k.ok("%msal_accounts")
        (shown,) = [o for o in table.outputs if o["type"] == "display_data"]
        assert "<td>grace@contoso.com</td>" in shown["data"]["text/html"]
        plain = shown["data"]["text/plain"].splitlines()
        assert plain[0].split() == ["username", "tenant", "authority", "signed", "in", "with"]
        assert plain[2].split()[0] == "grace@contoso.com"
        assert plain[2].endswith("device code")

        # $variables expand; JSON needs no escaping.
        k.ok(f"scopes = [{STORAGE!r}]; who = 'grace@contoso.com'")
        k.ok("t = %msal_token $scopes --account $who")
        assert k.eval("t.account.username") == "grace@contoso.com"
        emulator.reset_counts()
        claims = json.dumps({"access_token": {"xms_cc": {"values": ["cp1"]}}})
        k.ok(f"t2 = %msal_token $scopes -a $who --claims '{claims}'")
        assert emulator.counts["token"] == 1  # claims skip every cache
        # msal puts the client capabilities (JupyterMsal.client_capabilities) into xms_cc
        assert k.eval("t2.claims['claims_seen']['access_token']['xms_cc']") == {"values": ["CP1"]}

        out = k.ok("%msal_logout")
        assert out.stdout.strip() == "Signed out of grace@contoso.com."
        assert server.request("GET", "jupyter-msal/accounts")["accounts"] == []
        assert k.ok("%msal_logout").stdout.strip() == "Nobody was signed in."
        # The kernel forgot its tokens with the sign-out.
        err = k.execute(f"%msal_token {STORAGE} --no-sign-in")
        assert err.status == "error"

        # --all signs out of every account (the Python API's all_accounts=True, no warning).
        approver = emulator.approve_next("grace@contoso.com")
        k.ok("%msal_login --method device_code")
        approver.wait(5)
        out = k.ok("%msal_logout --all")
        assert out.stdout.strip() == "Signed out of grace@contoso.com."
        assert "Warning" not in out.text()
        assert server.request("GET", "jupyter-msal/accounts")["accounts"] == []


def test_help_is_argparse_style(server: JupyterServerProcess) -> None:
    with server.open_kernel() as k:
        k.ok("%load_ext jupyter_msal")
        doc = k.eval("get_ipython().find_line_magic('msal_token').__doc__")
        assert "%msal_token [-a ACCOUNT] [--force-refresh] [--claims CLAIMS]" in doc
        assert "--no-sign-in" in doc and "--timeout TIMEOUT" in doc
        login = k.eval("get_ipython().find_line_magic('msal_login').__doc__")
        assert "--method {auto,device_code,auth_code,broker,hub}" in login
