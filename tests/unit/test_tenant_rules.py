"""The tenant rules as tables: azure-identity's ``resolve_tenant`` cases, what a tenant looks
like, the admin policy ``allowed_tenants`` and ``AZURE_ADDITIONALLY_ALLOWED_TENANTS``."""

from __future__ import annotations

import pytest

from jupyter_msal.config import JupyterMsal
from jupyter_msal.errors import BadRequest, ConfigError, TenantNotAllowed
from jupyter_msal.kernel.tenants import allowed_tenants, resolve_tenant
from jupyter_msal.scopes import check_tenant, check_tenant_policy

A = "aaaaaaaa-0000-4000-8000-000000000001"
B = "bbbbbbbb-0000-4000-8000-000000000002"

#: (configured, requested, additionally allowed, environment, the tenant used or None=refused)
CASES = [
    (None, None, [], {}, None),
    (None, B, [], {}, B),  # nothing configured: the requested one
    (A, None, [], {}, A),
    (A, A, [], {}, A),
    (A, B, [], {}, "refused"),
    (A, B, [B], {}, B),
    (A, B, ["*"], {}, B),
    (A, B, [A], {}, "refused"),
    ("organizations", B, [], {}, B),  # azure-identity's dev-credential rule
    ("organizations", B, [A], {}, "refused"),
    ("adfs", B, [], {}, "adfs"),
    (A, B, [], {"AZURE_IDENTITY_DISABLE_MULTITENANTAUTH": "1"}, A),
    (None, B, [], {"AZURE_IDENTITY_DISABLE_MULTITENANTAUTH": "1"}, None),
]


@pytest.mark.parametrize(("configured", "requested", "allowed", "env", "used"), CASES)
def test_resolve_tenant_follows_azure_identity(
    configured: str | None,
    requested: str | None,
    allowed: list[str],
    env: dict[str, str],
    used: str | None,
) -> None:
    if used == "refused":
        with pytest.raises(BadRequest, match="additionally_allowed_tenants") as refused:
            resolve_tenant(configured, requested, allowed, env)
        assert refused.value.details["tenant"] == requested
        return
    assert resolve_tenant(configured, requested, allowed, env) == used


def test_resolve_tenant_agrees_with_azure_identity() -> None:
    """Where azure-identity is installed, its own function answers every case alike."""
    utils = pytest.importorskip("azure.identity._internal.utils")
    from azure.core.exceptions import ClientAuthenticationError

    for configured, requested, allowed, env, used in CASES:
        if configured is None or env:
            continue  # azure-identity takes "" for none and reads os.environ
        try:
            theirs = utils.resolve_tenant(
                configured, requested, additionally_allowed_tenants=allowed
            )
        except ClientAuthenticationError:
            theirs = "refused"
        assert theirs == used, (configured, requested, allowed)


@pytest.mark.parametrize(
    ("given", "env", "expected"),
    [
        (None, {}, []),
        (None, {"AZURE_ADDITIONALLY_ALLOWED_TENANTS": f"{A};{B}"}, [A, B]),
        (None, {"AZURE_ADDITIONALLY_ALLOWED_TENANTS": f" {A} , * "}, [A, "*"]),
        ([B], {"AZURE_ADDITIONALLY_ALLOWED_TENANTS": A}, [B]),  # the argument wins
        ([], {"AZURE_ADDITIONALLY_ALLOWED_TENANTS": A}, []),
    ],
)
def test_allowed_tenants_from_the_argument_or_the_environment(
    given: list[str] | None, env: dict[str, str], expected: list[str]
) -> None:
    assert allowed_tenants(given, env) == expected


@pytest.mark.parametrize(
    ("tenant", "expected"),
    [
        (A.upper(), A),
        ("Contoso.onmicrosoft.com", "contoso.onmicrosoft.com"),
        (" fabrikam.com ", "fabrikam.com"),
        ("organizations", None),
        ("common", None),
        ("consumers", None),
        ("", None),
        ("contoso", None),
        ("a b.com", None),
        ("../token", None),
        ("contoso.com/oauth2", None),
        ("x" * 250 + ".com", None),
        ("-bad.com", None),
    ],
)
def test_check_tenant(tenant: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(BadRequest):
            check_tenant(tenant)
    else:
        assert check_tenant(tenant) == expected


@pytest.mark.parametrize(
    ("allowed", "tenant", "ok"),
    [
        ([], B, True),
        (["*"], B, True),
        ([A, B], B, True),
        ([A], B, False),
        (["contoso.onmicrosoft.com"], "contoso.onmicrosoft.com", True),
        (["contoso.onmicrosoft.com"], A, False),
    ],
)
def test_check_tenant_policy(allowed: list[str], tenant: str, ok: bool) -> None:
    if ok:
        check_tenant_policy(tenant, allowed)
        return
    with pytest.raises(TenantNotAllowed, match="allowed_tenants") as refused:
        check_tenant_policy(tenant, allowed)
    assert refused.value.tenant == tenant and refused.value.to_dict()["tenant"] == tenant


def test_the_setting_accepts_tenants_and_refuses_junk() -> None:
    assert JupyterMsal(allowed_tenants=[A.upper(), "Contoso.com", "*"]).allowed_tenants == [
        A,
        "contoso.com",
        "*",
    ]
    with pytest.raises(ConfigError, match=r"JupyterMsal\.allowed_tenants: Invalid tenant"):
        JupyterMsal(allowed_tenants=["not a tenant"])
    assert JupyterMsal.class_traits()["allowed_tenants"].help
