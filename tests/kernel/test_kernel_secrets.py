"""Every public call of the notebook surface, in a real kernel: no output ever holds a token.

Each cell shows what the call returns the ways a notebook user would: as the cell's last
value, ``print``-ed, ``display``-ed, inside a list or ``vars()``, and in a verbose traceback
whose frames hold tokens. Every output (and the server's log) is scanned for every access,
refresh and ID token the emulator issued.
"""

from __future__ import annotations

from typing import Any

from jupyter_msal.testing import DEFAULT_USERNAME, EntraEmulator
from jupyter_msal.testing.kernels import CellResult
from jupyter_msal.testing.server import JupyterServerProcess

STORAGE = "https://storage.azure.com/.default"
GRAPH = "https://graph.microsoft.com/.default"

#: cell -> what its outputs must show (so that the scan looks at real displays)
CELLS: list[tuple[str, str]] = [
    ("%load_ext jupyter_msal", ""),
    ("import jupyter_msal\njupyter_msal.login()", "Signed in as"),
    # get_token and the AccessToken it returns
    (f"t = jupyter_msal.get_token({STORAGE!r})\nt", "<AccessToken for"),
    ("print(repr(t)); print([t]); print({'t': t}); display(t)", "<AccessToken for"),
    ("t.claims['aud'], t.account, t.scopes", "storage.azure.com"),
    (f"jupyter_msal.get_token({GRAPH!r}, force_refresh=True)", "<AccessToken for"),
    # the magics
    (f"%msal_token {STORAGE}", "<AccessToken for"),
    (f"m = %msal_token {STORAGE}\nm", "<AccessToken for"),
    ("%msal_accounts", DEFAULT_USERNAME),
    ("jupyter_msal.accounts()", DEFAULT_USERNAME),
    # the Azure SDK credentials
    ("c = jupyter_msal.Credential()\nc", "jupyter_msal.Credential"),
    (f"c.get_token({STORAGE!r})", "AccessToken(token=<AccessToken for"),
    (f"print(c.get_token({STORAGE!r}))", "<AccessToken for"),
    (f"info = c.get_token_info({STORAGE!r})\ninfo", "AccessTokenInfo(token=<AccessToken for"),
    ("print(info); print(str(info)); print([info]); display(info)", "AccessTokenInfo(token=<"),
    ("vars(info)", "<AccessToken for"),
    (
        "from jupyter_msal.kernel import AsyncCredential\n"
        f"await AsyncCredential().get_token_info({STORAGE!r})",
        "AccessTokenInfo(token=<AccessToken for",
    ),
    (f"await AsyncCredential().get_token({GRAPH!r})", "AccessToken(token=<AccessToken for"),
    # requests / httpx auth
    (f"b = jupyter_msal.BearerAuth({STORAGE!r})\nb", "BearerAuth"),
    ("b.token()", "<AccessToken for"),
    # errors, with tokens in the frames of a verbose traceback
    ("%xmode Verbose", ""),
    (
        "def use_tokens():\n"
        f"    tok = jupyter_msal.get_token({STORAGE!r})\n"
        f"    info = c.get_token_info({STORAGE!r})\n"
        "    raise RuntimeError('the API call failed')\n"
        "use_tokens()",
        "RuntimeError",
    ),
    ("jupyter_msal.get_token('https://storage.azure.com/.default\\u202e')", "Invalid scope"),
    (f"c.get_token({STORAGE!r}, tenant_id='another-tenant')", "ClientAuthenticationError"),
    ("%xmode Context", ""),
    ("jupyter_msal.logout()", DEFAULT_USERNAME),
    (f"jupyter_msal.Credential(sign_in=False).get_token({STORAGE!r})", "Sign in first"),
]


def test_no_output_of_any_public_call_holds_a_token(
    signed_out: JupyterServerProcess, emulator: EntraEmulator
) -> None:
    emulator.auto_approve = DEFAULT_USERNAME
    results: list[tuple[str, CellResult]] = []
    with signed_out.open_kernel() as kernel:
        for code, expected in CELLS:
            result = kernel.execute(code, timeout=90)
            results.append((code, result))
            assert expected in result.text(), (code, result.outputs)
    issued = [
        *emulator.issued_access_tokens,
        *emulator.issued_refresh_tokens,
        *emulator.issued_id_tokens,
    ]
    assert len(emulator.issued_access_tokens) >= 3
    shown: dict[str, Any] = {code: result.text() for code, result in results}
    leaks = [
        (code, token[:12] + "...")
        for code, text in shown.items()
        for token in issued
        if token in text
    ]
    assert leaks == []
    log = signed_out.log(tail=2_000_000)
    assert [token[:12] for token in issued if token in log] == []
