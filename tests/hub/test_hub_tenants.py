"""Guest tenants from the hub login: a real JupyterHub (OAuthenticator against the emulator,
``jupyter_msal.hub.enable(c)``) whose user alice is a guest in two more tenants.

Her server's token API and her kernels get the guest tenant's tokens from her hub login, with
one refresh at that tenant and no sign-in. A guest tenant that demands its own sign-in (MFA)
says so, naming the tenant; a sign-in on her server for that tenant mends it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from jupyter_msal.models import decode_jwt_claims
from jupyter_msal.testing.hub import JupyterHubProcess

ALICE = "msal-alice"
GUEST = "f00dface-0000-4000-8000-00000000fab1"
GUEST_DOMAIN = "fabrikam.onmicrosoft.com"
MFA_TENANT = "f00dface-0000-4000-8000-0000000000fa"
STORAGE = "https://storage.azure.com/.default"
VAULT = "https://vault.azure.net/.default"
SIGN_INS = ("devicecode", "authorize", "grant:device_code", "grant:authorization_code")


@pytest.fixture(scope="module")
def emulator(msal_emulator_module: Any) -> Any:
    """Refresh tokens are single use (a rotated one must be stored back); alice is a guest
    of GUEST and of MFA_TENANT, which wants its own sign-in."""
    msal_emulator_module.refresh_token_single_use = True
    msal_emulator_module.add_guest(ALICE, GUEST, domain=GUEST_DOMAIN)
    msal_emulator_module.add_guest(ALICE, MFA_TENANT)
    msal_emulator_module.require_mfa(MFA_TENANT)
    return msal_emulator_module


@pytest.fixture(scope="module")
def hub(emulator: Any, hub_factory: Any) -> JupyterHubProcess:
    hub = hub_factory(users=[ALICE])
    hub.login(ALICE)
    hub.spawn(ALICE)
    return hub


def _call(url: str, token: str, body: Any = None, method: str = "POST") -> tuple[int, Any]:
    """(status, JSON) of a request to ``url`` with a JupyterHub token."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _claims(answer: dict[str, Any]) -> dict[str, Any]:
    return decode_jwt_claims(answer["access_token"])


def _sign_ins(emulator: Any) -> int:
    return sum(emulator.counts[key] for key in SIGN_INS)


def test_a_guest_token_from_the_hub_login(hub: JupyterHubProcess, emulator: Any) -> None:
    token_url = hub.server_url(ALICE) + "jupyter-msal/token"
    alice = hub.user_token(ALICE)
    emulator.reset_counts()
    status, guest = _call(token_url, alice, {"scopes": [STORAGE], "tenant": GUEST})
    assert status == 200, guest
    claims = _claims(guest)
    assert (claims["tid"], claims["upn"], claims["aud"]) == (
        GUEST,
        ALICE,
        "https://storage.azure.com",
    )
    assert guest["account"]["username"] == ALICE
    assert guest["account"]["sign_in_method"] == "hub"
    assert emulator.token_requests_at(GUEST, "refresh_token") == 1
    assert emulator.counts["grant:refresh_token"] == emulator.counts["token"] == 1
    assert _sign_ins(emulator) == 0

    # Again, by the tenant's domain name too: kept, nothing sent.
    emulator.reset_counts()
    status, again = _call(token_url, alice, {"scopes": [STORAGE], "tenant": GUEST})
    assert status == 200 and again["access_token"] == guest["access_token"]
    assert sum(emulator.counts.values()) == 0

    # The home tenant's token is the home tenant's.
    status, home = _call(token_url, alice, {"scopes": [STORAGE]})
    assert status == 200 and _claims(home)["tid"] == hub.tenant_id
    assert _sign_ins(emulator) == 0

    # Bad tenants: 400 before anything is sent.
    emulator.reset_counts()
    status, refused = _call(token_url, alice, {"scopes": [STORAGE], "tenant": "no tenant"})
    assert (status, refused["error"]) == (400, "bad_request")
    assert sum(emulator.counts.values()) == 0


def test_a_kernel_gets_a_guest_token_from_the_hub_login(
    hub: JupyterHubProcess, emulator: Any
) -> None:
    emulator.reset_counts()
    with hub.open_kernel(ALICE) as kernel:
        kernel.ok("%load_ext jupyter_msal")
        kernel.ok(f"v = %msal_token vault --tenant {GUEST_DOMAIN}")
        who = kernel.eval("(v.claims['tid'], v.claims['aud'], v.account.sign_in_method)")
    assert who == [GUEST, "https://vault.azure.net", "hub"]
    assert emulator.token_requests_at(GUEST_DOMAIN, "refresh_token") == 1
    assert emulator.counts["grant:refresh_token"] == 1
    assert _sign_ins(emulator) == 0


def test_a_guest_tenant_that_wants_its_own_sign_in(hub: JupyterHubProcess, emulator: Any) -> None:
    server = hub.server_url(ALICE) + "jupyter-msal/"
    alice = hub.user_token(ALICE)
    emulator.reset_counts()
    status, refused = _call(server + "token", alice, {"scopes": [STORAGE], "tenant": MFA_TENANT})
    assert (status, refused["error"], refused["tenant"]) == (401, "sign_in_required", MFA_TENANT)
    assert refused["aadsts"] == "50076"
    assert f"%msal_login --tenant {MFA_TENANT}" in refused["hint"]
    assert emulator.token_requests_at(MFA_TENANT, "refresh_token") == 1
    assert _sign_ins(emulator) == 0

    # The hub login cannot be that sign-in; auto offers this server's own methods.
    status, body = _call(server + "sign-ins", alice, {"method": "hub", "tenant": MFA_TENANT})
    assert status == 400 and "JupyterHub login cannot sign in to tenant" in body["message"]

    # A sign-in on her server for that tenant (a device code: the emulator approves it).
    approval = emulator.approve_next(username=ALICE)
    body = {"method": "device_code", "scopes": [STORAGE], "tenant": MFA_TENANT}
    status, flow = _call(server + "sign-ins", alice, body)
    assert status == 202, flow
    assert (flow["method"], flow["tenant"]) == ("device_code", MFA_TENANT)
    approval.wait(10)
    for _ in range(6):
        if flow["state"] != "pending":
            break
        status, flow = _call(server + f"sign-ins/{flow['id']}?wait=10", alice, method="GET")
    assert flow["state"] == "succeeded", flow

    emulator.reset_counts()
    status, token = _call(server + "token", alice, {"scopes": [STORAGE], "tenant": MFA_TENANT})
    assert status == 200, token
    assert (_claims(token)["tid"], _claims(token)["upn"]) == (MFA_TENANT, ALICE)
    assert _sign_ins(emulator) == 0
    # The guest tenant of the hub login is still served by the hub login.
    status, guest = _call(server + "token", alice, {"scopes": [VAULT], "tenant": GUEST})
    assert status == 200 and _claims(guest)["tid"] == GUEST
    assert guest["account"]["sign_in_method"] == "hub"
