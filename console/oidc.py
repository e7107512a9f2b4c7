"""OIDC sign-in to the console: the authorization-code flow with PKCE against OIDC_ISSUER.

`/console/oidc/start` discovers the issuer's endpoints, keeps a fresh state, nonce and PKCE verifier in a
signed, short-lived cookie and sends the browser to the provider. `/console/oidc/callback` checks the
state, exchanges the code (with the verifier and the client's secret), validates the ID token against the
issuer's JWKS (signature, issuer, audience, expiry, nonce), maps it to an agent (the e-mail; roles from
OIDC_ROLES_CLAIM, or OIDC_DEFAULT_ROLES for an allowed e-mail domain) and sets the same session cookie a
key sign-in sets. Every failure is a page with its reason (4xx; 502 when the provider cannot be reached).

The session cookie is SameSite=Strict, which a browser withholds on a redirect chain another site began;
so the callback answers with a page that moves on by itself (a same-site navigation) instead of a 303.
The state cookie is SameSite=Lax: it must come back on the provider's redirect.

Sign-out (RP-initiated logout): the callback also keeps the ID token in a signed cookie sent only to
`/console/sign-out`; when the provider's metadata has an `end_session_endpoint`, signing out of an OIDC
session sends the browser there with `id_token_hint`, `post_logout_redirect_uri` (the console's sign-in
page) and `client_id`, so the provider's session ends too. Without one, or with the provider unreachable,
the console's own session still ends.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from console import session, web
from settings import Settings

STATE_COOKIE = "console_oidc"
ID_TOKEN_COOKIE = "console_oidc_id"  # the session's ID token, for the provider's sign-out (id_token_hint)
SIGN_OUT_PATH = "/console/sign-out"
_STATE_MAX_AGE_S = 600  # a sign-in at the provider must finish within this
_TIMEOUT_S = 10.0

router = web.new_router()


class SignInRefused(Exception):
    """The sign-in cannot go on; `reason` is shown to the person, `status` is the page's."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def _console_url(request: Request, settings: Settings) -> str:
    """The console's address as the provider must know it: CONSOLE_PUBLIC_URL, or the one the browser used."""
    base = settings.console_url() if settings.CONSOLE_PUBLIC_URL is not None else None
    return base or str(request.base_url).rstrip("/") + "/console"


def _callback_url(request: Request, settings: Settings) -> str:
    return f"{_console_url(request, settings)}/oidc/callback"


async def _discover(settings: Settings) -> dict[str, Any]:
    assert settings.OIDC_ISSUER is not None
    url = settings.OIDC_ISSUER.rstrip("/") + "/.well-known/openid-configuration"
    try:
        async with httpx.AsyncClient(timeout=_TIMEOUT_S) as http:
            r = await http.get(url)
            r.raise_for_status()
            found: dict[str, Any] = r.json()
    except (httpx.HTTPError, ValueError) as e:
        raise SignInRefused(
            502, f"the sign-in provider cannot be reached ({type(e).__name__}); try again later."
        ) from e
    if found.get("issuer", "").rstrip("/") != settings.OIDC_ISSUER.rstrip("/"):
        raise SignInRefused(502, "the sign-in provider names another issuer than OIDC_ISSUER.")
    return found


def _client(settings: Settings, redirect_uri: str) -> AsyncOAuth2Client:
    secret = settings.OIDC_CLIENT_SECRET.get_secret_value() if settings.OIDC_CLIENT_SECRET else None
    return AsyncOAuth2Client(
        client_id=settings.OIDC_CLIENT_ID, client_secret=secret, redirect_uri=redirect_uri,
        scope="openid email profile", code_challenge_method="S256", timeout=_TIMEOUT_S,
    )  # fmt: skip


def _refused(request: Request, status: int, reason: str) -> HTMLResponse:
    response = web.render(request, "error.html", status=status, error=f"Sign-in refused: {reason}")
    response.delete_cookie(STATE_COOKIE, path="/console/oidc")
    return response


@router.get("/oidc/start")
async def start(request: Request, next: str = "/console/queue") -> Response:
    settings = web.settings(request)
    if settings.OIDC_ISSUER is None:
        return _refused(request, 404, "OIDC sign-in is not configured.")
    try:
        meta = await _discover(settings)
    except SignInRefused as e:
        return _refused(request, e.status, e.reason)
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    async with _client(settings, _callback_url(request, settings)) as client:
        url, _ = client.create_authorization_url(
            meta["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
        )
    target = next if next.startswith("/console") and not next.startswith("//") else "/console/queue"
    kept = session.sign(settings, {"s": state, "n": nonce, "v": verifier, "x": target, "t": int(time.time())})
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        STATE_COOKIE, kept, httponly=True, samesite="lax", path="/console/oidc", max_age=_STATE_MAX_AGE_S,
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


@router.get("/oidc/callback")
async def callback(
    request: Request, state: str | None = None, code: str | None = None, error: str | None = None
) -> Response:
    settings = web.settings(request)
    if settings.OIDC_ISSUER is None:
        return _refused(request, 404, "OIDC sign-in is not configured.")
    kept = session.unsign(settings, request.cookies.get(STATE_COOKIE))
    try:
        if kept is None or not isinstance(kept.get("t"), int) or time.time() - int(str(kept["t"])) > _STATE_MAX_AGE_S:
            raise SignInRefused(400, "this sign-in was not started here or took too long; start again.")
        if not session.same_token(state, str(kept.get("s"))):
            raise SignInRefused(400, "the provider's answer does not belong to this sign-in (state); start again.")
        if error is not None or not code:
            raise SignInRefused(400, f"the provider did not sign you in ({(error or 'no code')[:100]}).")
        id_token, claims = await _id_token_claims(request, settings, code, str(kept.get("v")), str(kept.get("n")))
        agent_id, roles = agent_for_claims(settings, claims)
    except SignInRefused as e:
        return _refused(request, e.status, e.reason)
    target = str(kept.get("x") or "/console/queue")
    page = web.render(request, "signed_in.html", target=target, agent_id=agent_id, agent=None)
    page.set_cookie(
        session.COOKIE, session.new_session(settings, agent_id, None, oidc_roles=roles), httponly=True,
        samesite="strict", path="/", max_age=int(settings.CONSOLE_SESSION_HOURS * 3600),
        secure=request.url.scheme == "https",
    )  # fmt: skip
    page.set_cookie(
        ID_TOKEN_COOKIE, session.sign(settings, {"a": agent_id, "i": id_token}), httponly=True, samesite="strict",
        path=SIGN_OUT_PATH, max_age=int(settings.CONSOLE_SESSION_HOURS * 3600), secure=request.url.scheme == "https",
    )  # fmt: skip
    page.delete_cookie(STATE_COOKIE, path="/console/oidc")
    return page


def end_session_url(meta: dict[str, Any], id_token: str, post_logout_redirect_uri: str, client_id: str) -> str | None:
    """Where RP-initiated logout sends the browser: the provider's end_session_endpoint with the ID token as
    the hint and the page to come back to; None when the provider has no such endpoint."""
    endpoint = meta.get("end_session_endpoint")
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        return None
    query = urlencode(
        {"id_token_hint": id_token, "post_logout_redirect_uri": post_logout_redirect_uri, "client_id": client_id}
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


async def provider_sign_out(request: Request, settings: Settings, agent_id: str) -> str | None:
    """The provider's sign-out address for this person's OIDC session, or None (a key session, no ID token
    kept, no end_session_endpoint, or the provider unreachable: then only the console's session ends)."""
    if settings.OIDC_ISSUER is None:
        return None
    kept = session.unsign(settings, request.cookies.get(ID_TOKEN_COOKIE))
    if kept is None or kept.get("a") != agent_id or not isinstance(kept.get("i"), str):
        return None
    try:
        meta = await _discover(settings)
    except SignInRefused:
        return None
    back = f"{_console_url(request, settings)}/sign-in"
    return end_session_url(meta, str(kept["i"]), back, settings.OIDC_CLIENT_ID or "")


async def _id_token_claims(
    request: Request, settings: Settings, code: str, verifier: str, nonce: str
) -> tuple[str, dict[str, Any]]:
    """Exchange the code; the ID token and its claims once signature, issuer, audience, expiry and nonce
    check out."""
    meta = await _discover(settings)
    try:
        async with _client(settings, _callback_url(request, settings)) as client:
            token = await client.fetch_token(meta["token_endpoint"], code=code, code_verifier=verifier)
    except OAuthError as e:
        raise SignInRefused(400, f"the provider refused the code ({e.error}).") from e
    except Exception as e:  # the transport's errors: httpx2's or httpx's, whichever authlib uses
        raise SignInRefused(502, f"the sign-in provider cannot be reached ({type(e).__name__}).") from e
    try:
        async with httpx.AsyncClient(timeout=_TIMEOUT_S) as http:
            jwks = (await http.get(meta["jwks_uri"])).raise_for_status().json()
    except (httpx.HTTPError, ValueError) as e:
        raise SignInRefused(502, f"the provider's keys cannot be read ({type(e).__name__}).") from e
    if not isinstance(token.get("id_token"), str):
        raise SignInRefused(400, "the provider sent no ID token.")
    try:
        decoded = jwt.decode(token["id_token"], KeySet.import_key_set(jwks))
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": meta["issuer"]},
            aud={"essential": True, "value": settings.OIDC_CLIENT_ID or ""},
            nonce={"essential": True, "value": nonce},
            exp={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError) as e:
        raise SignInRefused(400, f"the ID token is not valid for this sign-in ({type(e).__name__}: {e}).") from e
    claims: dict[str, Any] = decoded.claims
    return token["id_token"], claims


def agent_for_claims(settings: Settings, claims: dict[str, Any]) -> tuple[str, list[str]]:
    """The agent id (the e-mail) and roles an ID token gives, or a 403 when it gives none."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or claims.get("email_verified") is False:
        raise SignInRefused(403, "the provider gave no verified e-mail address for you.")
    granted = claims.get(settings.OIDC_ROLES_CLAIM)
    if isinstance(granted, str):
        granted = granted.split()
    roles = [r for r in granted if isinstance(r, str) and r] if isinstance(granted, list) else []
    if not roles and email.rpartition("@")[2].lower() in settings.OIDC_EMAIL_DOMAINS:
        roles = list(settings.OIDC_DEFAULT_ROLES)
    if not roles:
        raise SignInRefused(403, f"{email} is not an agent here (no allowed e-mail domain, no support roles).")
    return email.lower(), roles
