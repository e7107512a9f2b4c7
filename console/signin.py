"""The console's entry: its static assets and the sign-in / sign-out pages (its own session cookie)."""

from __future__ import annotations

import uuid

from fastapi import Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from api.auth import agent_for, key_matches
from console import oidc, session, web

STATIC = {"console.css": "text/css", "console.js": "text/javascript", "draft.js": "text/javascript"}

router = web.new_router()


@router.get("")
async def home() -> RedirectResponse:
    return RedirectResponse("/console/queue", status_code=303)


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC:
        return PlainTextResponse("not found", status_code=404)
    return Response(
        (web.HERE / "static" / name).read_bytes(), media_type=STATIC[name], headers={"Cache-Control": "max-age=300"}
    )


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/console") and not target.startswith("//") else "/console/queue"


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str | None = None, error: str | None = None) -> HTMLResponse:
    token = uuid.uuid4().hex
    response = web.render(
        request, "sign_in.html", status=401 if error else 200, token=token, next=_safe_next(next), error=error,
        settings=web.settings(request), agent=None,
    )  # fmt: skip
    response.set_cookie(
        session.LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/console", max_age=3600,
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    settings = web.settings(request)
    form = await web.form(request)
    target = _safe_next(form.get("next"))
    if not session.same_token(form.get("csrf"), request.cookies.get(session.LOGIN_COOKIE)):
        return await sign_in_page(request, target, "The sign-in form expired; try again.")
    key = form.get("key", "").strip()
    if settings.AGENT_KEYS is not None:
        entry = agent_for(settings, key) if key else None
        if entry is None:
            return await sign_in_page(request, target, "Not an agent's key.")
        agent_id = entry.agent_id
    else:  # local demo: a name; with API_KEY set, that key as well
        if settings.API_KEY is not None and not key_matches(key, settings.API_KEY):
            return await sign_in_page(request, target, "Wrong API key.")
        name = web.text(form.get("name"))
        if name is None:
            return await sign_in_page(request, target, "Give your name.")
        agent_id, entry = name, None
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        session.COOKIE, session.new_session(settings, agent_id, entry), httponly=True, samesite="strict",
        path="/", max_age=int(settings.CONSOLE_SESSION_HOURS * 3600), secure=request.url.scheme == "https",
    )  # fmt: skip
    response.delete_cookie(session.LOGIN_COOKIE, path="/console")
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    agent = web.agent(request)
    form = await web.form(request)
    if agent is not None and not session.same_token(form.get("csrf"), agent.csrf):
        return PlainTextResponse("bad form token", status_code=403)
    # An OIDC session also ends at the provider (RP-initiated logout), which sends the browser back here.
    # A page that moves on by itself, not a 303: the pages' CSP (form-action 'self') stops a form's redirect
    # to another site.
    settings = web.settings(request)
    provider = await oidc.provider_sign_out(request, settings, agent.agent_id) if agent else None
    response: Response = RedirectResponse("/console/sign-in", status_code=303)
    if provider is not None:
        response = web.render(
            request, "signed_out.html", target=provider, provider=settings.OIDC_PROVIDER_NAME, agent=None
        )
    response.delete_cookie(session.COOKIE, path="/")
    response.delete_cookie(oidc.ID_TOKEN_COOKIE, path=oidc.SIGN_OUT_PATH)
    return response
