"""Cancelling a sign-in whose approval lands while its poll is on the wire undoes exactly the
account that sign-in signed in: not an account another sign-in added meanwhile, and not one
that was signed in before.

The race is made deterministic with the emulator's latency: each device-code poll waits at
the emulator before it is answered, so the test approves the code and cancels the flow while
a poll it has seen arrive is still waiting; that poll then comes back approved.
"""

from __future__ import annotations

from jupyter_msal.flows import SignInFlow
from jupyter_msal.service import TokenService
from jupyter_msal.testing import EntraEmulator, wait_until

ADA, BOB = "ada@contoso.com", "bob@contoso.com"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
POLL_LATENCY = 3.0  # seconds each poll waits at the emulator: the window to approve + cancel


def signed_in(service: TokenService, emulator: EntraEmulator, username: str) -> SignInFlow:
    """A device-code sign-in of ``username``, approved at once; the finished flow."""
    flow = service.flows.start("device_code")
    emulator.approve(flow.prompt.user_code, username=username)
    assert flow.wait(30) == "succeeded", flow.to_dict()
    return flow


def poll_on_the_wire(emulator: EntraEmulator, seen: int) -> bool:
    """Whether a device-code poll beyond the first ``seen`` requests is waiting for its answer."""
    return any(
        r["grant_type"] == DEVICE_CODE_GRANT and r["status"] is None
        for r in emulator.requests[seen:]
    )


def cancel_mid_poll(service: TokenService, emulator: EntraEmulator, flow: SignInFlow) -> None:
    """Approve ``flow`` as Ada and cancel it while one of its polls is on the wire."""
    emulator.set_latency(POLL_LATENCY, endpoint="token")
    seen = len(emulator.requests)
    wait_until(lambda: poll_on_the_wire(emulator, seen), 30)
    emulator.approve(flow.prompt.user_code, username=ADA)
    service.flows.cancel(flow.id)
    # the poll comes back approved, and the flow's thread undoes what it signed in
    wait_until(lambda: any(r["status"] == 200 for r in emulator.requests[seen:]), 30)
    emulator.set_latency(0, endpoint="token")


def usernames(service: TokenService) -> list[str]:
    return [a.username for a in service.list_accounts()]


def refresh_token_owners(service: TokenService) -> set[str]:
    import msal

    kind = msal.TokenCache.CredentialType
    owners = {e["home_account_id"] for e in service.cache.cache.search(kind.REFRESH_TOKEN)}
    return {
        a["username"]
        for a in service.cache.cache.search(kind.ACCOUNT)
        if a["home_account_id"] in owners
    }


def test_an_account_signed_in_meanwhile_survives_the_undo(
    service: TokenService, msal_emulator: EntraEmulator
) -> None:
    cancelled = service.flows.start("device_code")  # Ada's, cancelled later
    signed_in(service, msal_emulator, BOB)  # another sign-in finishes meanwhile
    issued_before = len(msal_emulator.issued_refresh_tokens)

    cancel_mid_poll(service, msal_emulator, cancelled)

    assert len(msal_emulator.issued_refresh_tokens) == issued_before + 1  # Ada's poll succeeded
    wait_until(lambda: usernames(service) == [BOB], 10)
    assert cancelled.state == "cancelled"
    assert refresh_token_owners(service) == {BOB}


def test_an_account_signed_in_before_is_not_undone(
    service: TokenService, msal_emulator: EntraEmulator
) -> None:
    signed_in(service, msal_emulator, ADA)
    cancelled = service.flows.start("device_code")
    issued_before = len(msal_emulator.issued_refresh_tokens)

    cancel_mid_poll(service, msal_emulator, cancelled)

    assert len(msal_emulator.issued_refresh_tokens) == issued_before + 1
    assert cancelled.wait(10) == "cancelled"
    assert usernames(service) == [ADA] and refresh_token_owners(service) == {ADA}
