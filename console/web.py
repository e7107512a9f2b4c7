"""What every console page shares: the app's settings, pool and Temporal client, the signed-in agent, the
templates and their filters, and the form, text and time helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from temporalio.client import Client

from console import dashboard, session
from console.session import Agent
from settings import Settings

HERE = Path(__file__).parent
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))


def new_router() -> APIRouter:
    """A router for one group of pages; console/routes.py assembles them."""
    return APIRouter(prefix="/console", include_in_schema=False)


def settings(request: Request) -> Settings:
    s: Settings = request.app.state.settings
    return s


def pool(request: Request) -> asyncpg.Pool:
    p: asyncpg.Pool = request.app.state.pool
    return p


def temporal(request: Request) -> Client:
    c: Client = request.app.state.temporal
    return c


def agent(request: Request) -> Agent | None:
    return session.read_session(settings(request), request.cookies.get(session.COOKIE))


def sign_in_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/console/sign-in?next={quote(target)}", status_code=303)


def until(t: datetime | None, now: datetime) -> str:
    """A countdown: "in 3h 12m", "overdue 5m"."""
    if t is None:
        return ""
    seconds = int((t - now).total_seconds())
    span = abs(seconds)
    d, h, m = span // 86400, span % 86400 // 3600, span % 3600 // 60
    text = f"{d}d {h}h" if d else f"{h}h {m}m" if h else f"{m}m {span % 60}s" if m < 10 else f"{m}m"
    return f"in {text}" if seconds >= 0 else f"overdue {text}"


def iso(t: datetime | None) -> str:
    return t.astimezone(UTC).isoformat() if t else ""


def when(t: datetime | None) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if t else ""


env.filters["iso"] = iso
env.filters["when"] = when
env.globals["fmt"] = dashboard.fmt


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("agent", agent(request))
    context.setdefault("demo", settings(request).AGENT_KEYS is None)
    context.setdefault("now", datetime.now(UTC))
    context.setdefault("until", until)
    html = env.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


async def form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body, first value of each field (no multipart here)."""
    parsed = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}


def text(value: str | None, limit: int = 100) -> str | None:
    value = (value or "").strip()
    return value[:limit] if value and "\x00" not in value else None
