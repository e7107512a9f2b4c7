"""OIDC sign-in to the console against a real OpenID provider (oidc-provider-mock, in a thread), browser-
less: httpx follows the redirects from the console to the provider's form and back. The callback sets the
session a key sign-in sets, with the ID token's roles; a wrong state or nonce is a page saying why (400)."""

from __future__ import annotations

import html
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import oidc_provider_mock
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import KeySet
from pydantic import SecretStr

from console import oidc, session
from settings import Settings
from tests.api_stack import Stack, serve_api
from tests.console_helpers import AGENT_KEYS, KEYS, field, sign_in

CLIENT_ID, SECRET = "support-console", "console-client-secret"


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with oidc_provider_mock.run_server_in_thread(require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


def _settings(stack: Stack, issuer: str) -> Settings:
    return stack.settings.model_copy(
        update={
            "OIDC_ISSUER": issuer, "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": SecretStr(SECRET),
            "OIDC_PROVIDER_NAME": "Mock ID", "OIDC_EMAIL_DOMAINS": ["example.com"],
            "CONSOLE_SECRET": SecretStr(uuid.uuid4().hex),
        }
    )  # fmt: skip


def _person(issuer: str, email: str, **claims: object) -> str:
    sub = f"{uuid.uuid4().hex[:8]}-{email}"
    r = httpx.put(f"{issuer}/users/{quote(sub)}", json={"email": email, "email_verified": True, **claims})
    assert r.status_code == 204, r.text
    return sub


async def _sign_in(console: httpx.AsyncClient, settings: Settings, sub: str) -> httpx.Response:
    """The browser's part: the sign-in page's button, the provider's form submitted as `sub`, back to us."""
    page = await console.get("/console/sign-in")
    assert "Sign in with Mock ID" in page.text
    to_provider = await console.get("/console/oidc/start", params={"next": "/console/queue"})
    assert to_provider.status_code == 303, to_provider.text
    asked = parse_qs(urlsplit(to_provider.headers["location"]).query)
    assert asked["code_challenge_method"] == ["S256"] and asked["nonce"] and asked["state"]
    kept = session.unsign(settings, console.cookies.get(oidc.STATE_COOKIE))
    assert kept is not None and asked["code_challenge"] == [create_s256_code_challenge(str(kept["v"]))]  # PKCE
    return await console.post(to_provider.headers["location"], data={"sub": sub}, follow_redirects=True)


async def test_oidc_sign_in_sets_the_session_with_the_id_tokens_roles(stack: Stack, issuer: str) -> None:
    settings = _settings(stack, issuer)
    async with serve_api(settings) as http:
        r = await http.post(
            "/tickets", json={"customer_id": "cus_1001", "channel": "email", "subject": "Hi", "body": "Hello"}
        )
        assert r.status_code == 201, r.text
        tid = r.json()["ticket_id"]
        base = str(http.base_url)
        lead = _person(issuer, "Lea@Partner.example.org", support_roles=["agent", "team-lead"])
        ana = _person(issuer, "ana@example.com")  # an allowed domain: the default roles
        auditor = _person(issuer, "aud@partner.example.org", support_roles="auditor")
        stranger = _person(issuer, "eve@elsewhere.example")
        for sub, who, roles, replies in (
            (lead, "lea@partner.example.org", "agent, team-lead", True),
            (ana, "ana@example.com", "agent", True),
            (auditor, "aud@partner.example.org", "auditor", False),
        ):
            async with httpx.AsyncClient(base_url=base, timeout=30) as console:
                back = await _sign_in(console, settings, sub)
                assert back.status_code == 200 and "Signed in as" in back.text, back.text
                cookie = back.headers["set-cookie"]
                assert session.COOKIE in cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
                queue = await console.get("/console/queue")
                assert queue.status_code == 200 and who in queue.text and f"({roles})" in queue.text
                page = (await console.get(f"/console/tickets/{tid}")).text
                assert ("Send reply" in page) is replies, who
        async with httpx.AsyncClient(base_url=base, timeout=30) as console:
            refused = await _sign_in(console, settings, stranger)
            assert refused.status_code == 403 and "not an agent here" in refused.text
            assert (await console.get("/console/queue")).status_code == 303  # no session


async def test_a_wrong_state_or_nonce_is_refused_with_a_page(stack: Stack, issuer: str) -> None:
    settings = _settings(stack, issuer)
    sub = _person(issuer, "ana@example.com")
    async with serve_api(settings) as http, httpx.AsyncClient(base_url=str(http.base_url), timeout=30) as console:
        # no sign-in started here: no state cookie
        r = await console.get("/console/oidc/callback", params={"state": "x", "code": "y"})
        assert r.status_code == 400 and "not started here" in r.text
        # the provider's answer to another sign-in (its state differs from this browser's)
        to_provider = await console.get("/console/oidc/start")
        back = await console.post(to_provider.headers["location"], data={"sub": sub})
        callback = urlsplit(back.headers["location"])
        code = parse_qs(callback.query)["code"][0]
        r = await console.get("/console/oidc/callback", params={"state": "forged", "code": code})
        assert r.status_code == 400 and "does not belong to this sign-in" in r.text
        # the right state but another nonce than the ID token's: the token is refused
        to_provider = await console.get("/console/oidc/start")
        back = await console.post(to_provider.headers["location"], data={"sub": sub})
        query = parse_qs(urlsplit(back.headers["location"]).query)
        verifier = session.unsign(settings, console.cookies.get(oidc.STATE_COOKIE))
        assert verifier is not None
        forged = session.sign(settings, {**verifier, "n": "another-nonce", "t": int(time.time())})
        console.cookies.set(oidc.STATE_COOKIE, forged, path="/console/oidc")
        r = await console.get("/console/oidc/callback", params={"state": query["state"][0], "code": query["code"][0]})
        assert r.status_code == 400 and "ID token is not valid" in r.text, r.text
        # the provider says no (the person declined); a fresh browser (the forged cookie above has no domain)
        console.cookies.clear()
        to_provider = await console.get("/console/oidc/start")
        state = parse_qs(urlsplit(to_provider.headers["location"]).query)["state"][0]
        r = await console.get("/console/oidc/callback", params={"state": state, "error": "access_denied"})
        assert r.status_code == 400 and "did not sign you in (access_denied)" in r.text
        assert (await console.get("/console/queue")).status_code == 303  # never signed in


async def test_signing_out_ends_the_providers_session_too(stack: Stack, issuer: str) -> None:
    """RP-initiated logout: the console's sign-out sends the browser to the provider's end_session_endpoint
    with this sign-in's ID token as the hint and the console's sign-in page to come back to."""
    settings = _settings(stack, issuer)
    sub = _person(issuer, "lea@partner.example.org", support_roles=["agent", "team-lead"])
    async with serve_api(settings) as http, httpx.AsyncClient(base_url=str(http.base_url), timeout=30) as console:
        assert (await _sign_in(console, settings, sub)).status_code == 200
        csrf = field((await console.get("/console/queue")).text, "csrf")
        out = await console.post("/console/sign-out", data={"csrf": csrf})
        # a page that moves on to the provider by itself (the pages' CSP allows forms to post only here)
        assert out.status_code == 200 and "Signed out" in out.text, out.text
        found = re.search(r'id="provider-sign-out" href="([^"]+)"', out.text)
        assert found and f'content="0;url={found[1]}"' in out.text
        provider_sign_out = html.unescape(found[1])
        to = urlsplit(provider_sign_out)
        meta = (await console.get(f"{issuer}/.well-known/openid-configuration")).json()
        assert f"{to.scheme}://{to.netloc}{to.path}" == meta["end_session_endpoint"]
        asked = {k: v[0] for k, v in parse_qs(to.query).items()}
        back = f"{str(http.base_url).rstrip('/')}/console/sign-in"
        assert asked["post_logout_redirect_uri"] == back and asked["client_id"] == CLIENT_ID
        # the hint is the ID token this sign-in got: the provider's signature, for this client and person
        keys = KeySet.import_key_set((await console.get(meta["jwks_uri"])).json())
        hint = jwt.decode(asked["id_token_hint"], keys)
        assert CLIENT_ID in hint.claims["aud"] and hint.claims["email"] == "lea@partner.example.org"
        assert hint.claims["iss"] == meta["issuer"]
        # the console's session ended before the browser left, and the ID token's cookie with it
        gone = out.headers.get_list("set-cookie")
        assert any(c.startswith(f"{session.COOKIE}=") and "Max-Age=0" in c for c in gone), gone
        assert any(c.startswith(f"{oidc.ID_TOKEN_COOKIE}=") and "Max-Age=0" in c for c in gone), gone
        assert (await console.get("/console/queue")).status_code == 303
        # at the provider: its sign-out page, confirmed, sends the browser back to the console's sign-in
        page = await console.get(provider_sign_out)
        assert page.status_code == 200 and "End session" in page.text
        confirmed = await console.post(meta["end_session_endpoint"] + "/confirm", data={"redirect_uri": back})
        assert confirmed.status_code in (302, 303) and confirmed.headers["location"] == back
        assert "Sign in with Mock ID" in (await console.get(back)).text


async def test_sign_out_stays_local_without_an_oidc_session_or_provider(stack: Stack, issuer: str) -> None:
    settings = _settings(stack, issuer).model_copy(update={"AGENT_KEYS": AGENT_KEYS})
    async with serve_api(settings) as http, httpx.AsyncClient(base_url=str(http.base_url), timeout=30) as console:
        # a key's session, with OIDC configured: nothing to end at the provider
        assert (await sign_in(console, key=KEYS["ana"][0])).status_code == 303
        csrf = field((await console.get("/console/queue")).text, "csrf")
        out = await console.post("/console/sign-out", data={"csrf": csrf})
        assert out.status_code == 303 and out.headers["location"] == "/console/sign-in"
        # an OIDC session whose provider cannot be reached at sign-out: the console's session still ends
        assert (await _sign_in(console, settings, _person(issuer, "ana@example.com"))).status_code == 200
        kept = dict(console.cookies.items())
    unreachable = settings.model_copy(update={"OIDC_ISSUER": "http://127.0.0.1:9"})
    async with serve_api(unreachable) as http, httpx.AsyncClient(base_url=str(http.base_url), timeout=30) as console:
        # the same browser (cookies are not kept apart by port)
        host = urlsplit(str(http.base_url)).hostname or ""
        console.cookies.set(session.COOKIE, kept[session.COOKIE], domain=host, path="/")
        console.cookies.set(oidc.ID_TOKEN_COOKIE, kept[oidc.ID_TOKEN_COOKIE], domain=host, path=oidc.SIGN_OUT_PATH)
        queue = await console.get("/console/queue")
        assert queue.status_code == 200 and "ana@example.com" in queue.text
        out = await console.post("/console/sign-out", data={"csrf": field(queue.text, "csrf")})
        assert out.status_code == 303 and out.headers["location"] == "/console/sign-in"
        assert (await console.get("/console/queue")).status_code == 303


def test_the_end_session_address() -> None:
    meta = {"end_session_endpoint": "https://id.example.com/logout?tenant=t1"}
    url = oidc.end_session_url(meta, "a.b.c", "https://support.example.com/console/sign-in", "console")
    assert url is not None and url.startswith("https://id.example.com/logout?tenant=t1&")
    assert parse_qs(urlsplit(url).query) == {
        "tenant": ["t1"], "id_token_hint": ["a.b.c"], "client_id": ["console"],
        "post_logout_redirect_uri": ["https://support.example.com/console/sign-in"],
    }  # fmt: skip
    assert oidc.end_session_url({}, "a.b.c", "https://x/console/sign-in", "console") is None  # no endpoint


def test_oidc_settings_are_whole_or_refused() -> None:
    with pytest.raises(ValueError, match="OIDC_CLIENT_ID"):
        Settings(OIDC_ISSUER="https://id.example.com")
    with pytest.raises(ValueError, match="OIDC_ISSUER"):
        Settings(OIDC_ISSUER="id.example.com", OIDC_CLIENT_ID="c")
    s = Settings(OIDC_ISSUER="https://id.example.com", OIDC_CLIENT_ID="c", OIDC_EMAIL_DOMAINS=[" @Example.com "])
    assert s.OIDC_EMAIL_DOMAINS == ["example.com"]


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium")
async def test_oidc_sign_in_in_a_real_browser(stack: Stack, issuer: str) -> None:
    """Chromium withholds a SameSite=Strict cookie on a redirect chain another site (the provider, on
    `localhost`; the console on 127.0.0.1) began: the callback's page moving on by itself keeps it."""
    from playwright.async_api import async_playwright, expect

    sub = _person(issuer, "lea@partner.example.org", support_roles=["agent", "team-lead"])
    async with serve_api(_settings(stack, issuer)) as http, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        try:
            page = await browser.new_page()
            page.set_default_timeout(20_000)
            await page.goto(f"{str(http.base_url).rstrip('/')}/console/queue")
            await page.click("text=Sign in with Mock ID")
            await page.fill("input[name=sub]", sub)
            await page.click("button:has-text('Authorize')")
            await expect(page.locator("#me")).to_have_text("lea@partner.example.org")
            assert page.url.endswith("/console/queue")
            # signing out ends the provider's session too, and the provider sends the browser back
            await page.click("button:has-text('Sign out')")
            await expect(page.locator("h1")).to_have_text("End Session")
            assert "id_token_hint" in await page.content()
            await page.click("button:has-text('End session')")
            await expect(page.locator("#oidc")).to_be_visible()
            assert page.url == f"{str(http.base_url).rstrip('/')}/console/sign-in"
            await page.goto(f"{str(http.base_url).rstrip('/')}/console/queue")
            await expect(page.locator("#oidc")).to_be_visible()  # no session left: the sign-in page
        finally:
            await browser.close()
