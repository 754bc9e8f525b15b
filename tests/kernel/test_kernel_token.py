"""The redacted token object, the prompt rendering and the kernel-side cache (no server)."""

from __future__ import annotations

import base64
import copy
import json
import pickle
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from jupyter_msal import client
from jupyter_msal.errors import BadRequest, SignInRequired
from jupyter_msal.kernel import AccessToken, api, prompt
from jupyter_msal.models import Account

ADA = Account("uid.utid", "ada@contoso.com", "utid", "login.example", "https://login.example/org")


def jwt(payload: dict[str, Any]) -> str:
    def part(obj: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(payload)}.c2lnbmF0dXJl"


SECRET = jwt({"aud": "https://storage.azure.com", "scp": "user_impersonation", "upn": "ada"})


def make(
    token: str = SECRET, lifetime: float = 3600, *, now: float | None = None, **kw: Any
) -> AccessToken:
    kw.setdefault("scopes", ("https://storage.azure.com/.default",))
    kw.setdefault("account", ADA)
    return AccessToken(token, (time.time() if now is None else now) + lifetime, **kw)


class FrozenTime:
    """The ``time`` module as one module sees it, with ``time()`` stopped at :attr:`now`."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        """The frozen wall-clock time."""
        return self.now

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FrozenTime:
    """The clock of the token object, the prompt and the kernel cache, frozen (set ``.now``)."""
    from jupyter_msal import models

    frozen = FrozenTime(float(int(time.time())))
    monkeypatch.setattr(models, "time", frozen)
    monkeypatch.setattr(prompt, "time", frozen)
    monkeypatch.setattr(api, "_time", frozen.time)
    return frozen


# -- the token object ---------------------------------------------------------------------------


def test_token_is_a_string_everywhere_a_string_is_used() -> None:
    tok = make()
    assert str(tok) == SECRET and type(str(tok)) is str
    assert f"{tok}" == SECRET and "%s" % tok == SECRET  # noqa: UP031
    assert "Bearer " + tok == "Bearer " + SECRET
    assert json.dumps({"t": tok}) == json.dumps({"t": SECRET})
    assert tok == SECRET and hash(tok) == hash(SECRET)
    assert tok.token == SECRET and type(tok.token) is str
    assert tok.encode() == SECRET.encode()
    import requests

    prepared = requests.Request("GET", "http://x/", headers={"Authorization": f"Bearer {tok}"})
    assert prepared.prepare().headers["Authorization"] == "Bearer " + SECRET


def test_every_display_is_redacted(clock: FrozenTime) -> None:
    from IPython.core.formatters import DisplayFormatter
    from IPython.lib.pretty import pretty

    tok = make(lifetime=3590, now=clock.now)
    expected = "<AccessToken for ada@contoso.com, scopes=['https://storage.azure.com/.default'], "
    assert repr(tok).startswith(expected) and repr(tok).endswith("expires in 59 min>")
    assert pretty(tok) == repr(tok)
    nested = pretty([tok, {"k": tok}])
    assert SECRET not in nested and nested.count(repr(tok)) == 2
    assert repr([tok]) == f"[{tok!r}]"
    bundle, _ = DisplayFormatter().format(tok)
    assert set(bundle) >= {"text/plain", "text/html"}
    for value in bundle.values():
        assert SECRET not in str(value)
    assert "&lt;AccessToken for ada@contoso.com" in bundle["text/html"]
    assert make(lifetime=-5, now=clock.now)._describe().endswith("expired>")
    assert make(lifetime=0, now=clock.now)._describe().endswith("expired>")
    half_minute = make(lifetime=30, now=clock.now)
    minute = make(lifetime=60, now=clock.now)
    assert half_minute._describe().endswith("expires in 30 s>")
    assert minute._describe().endswith("expires in 1 min>")
    clock.now += 0.5
    assert half_minute._describe().endswith("expires in 29 s>")
    assert minute._describe().endswith("expires in 59 s>")
    assert "for app," in repr(make(account=None))


def test_verbose_traceback_does_not_show_the_token() -> None:
    from IPython.core.ultratb import VerboseTB

    def use(token: AccessToken) -> None:
        local_copy = token  # noqa: F841 - shown among the locals
        raise RuntimeError("the API said no")

    try:
        use(make())
    except RuntimeError:
        text = VerboseTB(color_scheme="NoColor").text(*sys.exc_info())
    assert "<AccessToken for ada@contoso.com" in text
    assert SECRET not in text


def test_claims_are_decoded_not_validated() -> None:
    tok = make()
    assert tok.claims == {
        "aud": "https://storage.azure.com",
        "scp": "user_impersonation",
        "upn": "ada",
    }
    tok.claims["aud"] = "changed"  # a copy: the token is unaffected
    assert tok.claims["aud"] == "https://storage.azure.com"
    assert make("opaque-token").claims == {}
    assert make("a.!!!.c").claims == {}
    assert make("a." + base64.urlsafe_b64encode(b"[1]").decode() + ".c").claims == {}


def test_token_attributes_pickle_and_copy() -> None:
    tok = make(token_type="pop")
    assert tok.scopes == ("https://storage.azure.com/.default",)
    assert tok.account is ADA and tok.username == "ada@contoso.com"
    assert 3590 < tok.expires_in <= 3600 and isinstance(tok.expires_on, int)
    assert tok.token_type == "pop"
    back = pickle.loads(pickle.dumps(tok))
    assert back == tok and back.account == ADA and back.expires_on == tok.expires_on
    assert copy.copy(tok) is tok and copy.deepcopy(tok) is tok


def test_token_from_rest_answer() -> None:
    tok = AccessToken.from_response(
        {
            "access_token": SECRET,
            "token_type": "Bearer",
            "expires_on": 1790000000,
            "scopes": ["a", "b"],
            "account": ADA.to_dict(),
        }
    )
    assert tok == SECRET and tok.expires_on == 1790000000 and tok.scopes == ("a", "b")
    assert tok.account == ADA


# -- prompt rendering ----------------------------------------------------------------------------

FLOW = {
    "id": "f1",
    "method": "device_code",
    "state": "pending",
    "user_code": "ABCD-1234",
    "verification_uri": "https://microsoft.com/devicelogin",
    "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin "
    "and enter the code ABCD-1234 to authenticate.",
}


def test_prompt_html_has_link_code_copy_button_and_countdown(clock: FrozenTime) -> None:
    flow = dict(FLOW, expires_on=clock.now + 900)
    html = prompt.render_html(flow, element_id="p1")
    assert '<a href="https://microsoft.com/devicelogin" target="_blank"' in html
    assert '<input type="text" readonly value="ABCD-1234"' in html
    # The copy button falls back to execCommand where navigator.clipboard is missing (plain HTTP).
    assert "navigator.clipboard&amp;&amp;window.isSecureContext" in html
    assert "document.execCommand('copy')" in html
    assert 'data-jmsal-remaining="900"' in html
    assert ">15:00<" in html
    clock.now += 1
    later = prompt.render_html(flow, element_id="p1")
    assert 'data-jmsal-remaining="899"' in later and ">14:59<" in later
    assert "<script>" in html and 'getElementById("p1")' in html
    assert "<script>" not in prompt.render_html(flow, countdown=False)
    assert "data-jmsal-remaining" not in prompt.render_html(flow, countdown=False)


def test_prompt_escapes_what_the_identity_provider_sent() -> None:
    flow = dict(
        FLOW,
        user_code='"><img src=x onerror=alert(1)>',
        verification_uri="javascript:alert(1)",
        message="<b>hi</b>",
        expires_on=time.time() + 60,
    )
    html = prompt.render_html(flow)
    assert "<img" not in html and "javascript:" not in html
    assert "&lt;b&gt;hi&lt;/b&gt;" in html  # no usable link: the message is shown, escaped


def test_prompt_text() -> None:
    flow = dict(FLOW, expires_on=time.time() + 900)
    text = prompt.render_text(flow)
    assert text.startswith(FLOW["message"])
    assert "(The code expires at " in text and "in 15 min.)" in text
    assert prompt.render_text({"verification_uri": "https://x/dl", "user_code": "C"}) == (
        "To sign in, open https://x/dl and enter the code C."
    )
    assert prompt.format_remaining(899.6) == "15:00"
    assert prompt.format_remaining(61) == "1:01"
    assert prompt.format_remaining(0) == "expired"


def test_prompt_prints_outside_ipython(capsys: pytest.CaptureFixture[str]) -> None:
    p = prompt.SignInPrompt(dict(FLOW, expires_on=time.time() + 900), rich=False)
    p.show()
    p.finish("Signed in as ada@contoso.com.")
    out = capsys.readouterr().out
    assert "enter the code ABCD-1234" in out and out.endswith("Signed in as ada@contoso.com.\n")


# -- the kernel-side cache -----------------------------------------------------------------------


class CountingClient:
    """A stand-in token service that counts calls (to test the kernel-side cache only)."""

    mode = "server"

    def __init__(self, lifetime: float = 3600) -> None:
        self.lifetime = lifetime
        self.calls: list[tuple[Sequence[str], Any, bool, Any]] = []
        self.signed_in = True

    def token(
        self,
        scopes: Sequence[str],
        account: str | None = None,
        force_refresh: bool = False,
        claims: str | None = None,
    ) -> AccessToken:
        self.calls.append((tuple(scopes), account, force_refresh, claims))
        if not self.signed_in:
            raise SignInRequired(scopes=scopes)
        return make(f"token-{len(self.calls)}", self.lifetime, scopes=scopes)

    def close(self) -> None:
        pass


@pytest.fixture
def counting() -> Iterator[CountingClient]:
    fake = CountingClient()
    client.reset_client(fake)  # type: ignore[arg-type]
    api.clear_cache()
    try:
        yield fake
    finally:
        client.reset_client(None)
        api.clear_cache()


def test_cache_hit_until_the_refresh_margin(counting: CountingClient, monkeypatch: Any) -> None:
    scope = "https://storage.azure.com/.default"
    first = api.get_token(scope)
    assert api.get_token(scope) is first
    assert api.get_token([scope]) is first  # a list is normalised onto the same entry
    assert len(counting.calls) == 1
    # 5 minutes before expiry the kernel asks again.
    now = time.time()
    monkeypatch.setattr(api, "_time", lambda: now + 3600 - 301)
    assert api.get_token(scope) is first
    monkeypatch.setattr(api, "_time", lambda: now + 3600 - 299)
    assert api.get_token(scope) is not first and len(counting.calls) == 2


def test_cache_keys_force_refresh_and_claims(counting: CountingClient) -> None:
    a = api.get_token("s1 s2")
    assert api.get_token("s2", "s1") is a  # same scopes, any order or spelling
    assert counting.calls == [(("s1", "s2"), None, False, None)]
    other = api.get_token("s1 s2", account="grace@contoso.com")
    assert other is not a and len(counting.calls) == 2
    fresh = api.get_token("s1 s2", force_refresh=True)
    assert counting.calls[-1][2] is True and fresh is not a
    assert api.get_token("s1 s2") is fresh  # a forced token replaces the kept one
    claims = {"access_token": {"nbf": {"essential": True, "value": "1"}}}
    api.get_token("s1 s2", claims=claims)
    api.get_token("s1 s2", claims=claims)
    assert [c[3] for c in counting.calls[-2:]] == [json.dumps(claims, separators=(",", ":"))] * 2


def test_short_lived_tokens_are_kept_half_their_life(
    counting: CountingClient, monkeypatch: Any
) -> None:
    counting.lifetime = 120  # shorter than the 300 s margin
    tok = api.get_token("s")
    assert api.get_token("s") is tok
    now = time.time()
    monkeypatch.setattr(api, "_time", lambda: now + 61)
    assert api.get_token("s") is not tok


def test_refresh_margin_setting(counting: CountingClient, monkeypatch: Any) -> None:
    import jupyter_msal.kernel as kernel

    monkeypatch.setattr(kernel, "refresh_margin", 1000)
    tok = api.get_token("s")
    now = time.time()
    monkeypatch.setattr(api, "_time", lambda: now + 2601)
    assert api.get_token("s") is not tok
    monkeypatch.setenv("JUPYTER_MSAL_KERNEL_REFRESH_MARGIN", "42")
    assert api.margin_from_env() == 42
    monkeypatch.setenv("JUPYTER_MSAL_KERNEL_REFRESH_MARGIN", "soon")
    assert api.margin_from_env() == 300


def test_sign_in_required_without_sign_in(counting: CountingClient) -> None:
    counting.signed_in = False
    with pytest.raises(SignInRequired):
        api.get_token("s", sign_in=False)


def test_claims_validation() -> None:
    raw = '{"access_token": {"xms_cc": {"values": ["cp1"]}}}'
    assert api.normalize_claims(raw) == raw
    encoded = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    assert api.normalize_claims(encoded) == raw
    assert api.normalize_claims(None) is None and api.normalize_claims("") is None
    for bad in ("{not json", "[1, 2]", "bm90IGpzb24"):
        with pytest.raises(BadRequest) as info:
            api.normalize_claims(bad)
        assert "\n" not in str(info.value)


def test_scopes_must_be_strings(counting: CountingClient) -> None:
    with pytest.raises(BadRequest, match="Scopes must be strings"):
        api.get_token(42)  # type: ignore[arg-type]
    with pytest.raises(BadRequest, match="Scopes must be strings"):
        api.get_token(["ok", 1])  # type: ignore[list-item]
