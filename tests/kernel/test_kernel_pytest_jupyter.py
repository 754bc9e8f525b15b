"""The same end-to-end path with pytest-jupyter's in-process server (``jp_serverapp``).

A kernel is started with ``POST /api/kernels`` and driven through the server's kernel
manager, so it inherits exactly the environment the extension published.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from jupyter_msal.testing import DEFAULT_USERNAME as ADA
from jupyter_msal.testing import EntraEmulator

STORAGE = "https://storage.azure.com/.default"


async def test_magics_in_a_kernel_of_jp_serverapp(
    jp_fetch: Any, jp_serverapp: Any, msal_emulator: EntraEmulator
) -> None:
    response = await jp_fetch("api", "kernels", method="POST", body=json.dumps({"name": "python3"}))
    kernel_id = json.loads(response.body)["id"]
    kc = jp_serverapp.kernel_manager.get_kernel(kernel_id).client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=60)
        outputs: list[dict[str, Any]] = []

        async def run(code: str) -> str:
            del outputs[:]
            reply = await kc.execute_interactive(
                code, output_hook=lambda msg: outputs.append(msg), timeout=60
            )
            return reply["content"]["status"]

        approver = msal_emulator.approve_next()
        assert await run(f"%load_ext jupyter_msal\ntok = %msal_token {STORAGE}") == "ok"
        approver.wait(5)
        updates = [m for m in outputs if m["msg_type"] == "update_display_data"]
        assert updates[-1]["content"]["data"]["text/plain"] == f"Signed in as {ADA}."

        assert (
            await run("import hashlib; print(hashlib.sha256(str(tok).encode()).hexdigest())")
            == "ok"
        )
        printed = "".join(m["content"]["text"] for m in outputs if m["msg_type"] == "stream")
        issued = {
            hashlib.sha256(t.encode()).hexdigest() for t in msal_emulator.issued_access_tokens
        }
        assert printed.strip() in issued

        msal_emulator.reset_counts()
        assert await run(f"tok2 = %msal_token {STORAGE}") == "ok"
        assert sum(msal_emulator.counts.values()) == 0
        assert await run(f"tok3 = %msal_token {STORAGE} --force-refresh") == "ok"
        assert msal_emulator.counts["token"] == 1

        assert await run("tok3") == "ok"
        (result,) = [m for m in outputs if m["msg_type"] == "execute_result"]
        assert result["content"]["data"]["text/plain"].startswith(f"<AccessToken for {ADA}")
        for token in msal_emulator.issued_access_tokens:
            assert token not in json.dumps([m["content"] for m in outputs])
    finally:
        kc.stop_channels()
        await jp_fetch("api", "kernels", kernel_id, method="DELETE")
