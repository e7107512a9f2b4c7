"""The FastAPI app: starts tickets as Temporal workflows and reads them back from Postgres.

It never runs agents itself. Run with `uvicorn api.main:app`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors, roles
from api.docs import install as install_docs
from api.routes import (
    bugs,
    codec,
    customers,
    decisions,
    health,
    inbound_email,
    metrics,
    reports,
    saved_replies,
    tickets,
)
from channels.chat import routes as chat_routes
from channels.email import routes as email_routes
from channels.webhooks import routes as webhook_routes
from clients import connect_temporal, open_pool
from console.routes import router as console_router
from settings import Settings, get_settings
from telemetry import configure_logging, configure_tracing, instrument_app

MAX_REQUEST_BYTES = 256 * 1024
_OVER = f"request body over {MAX_REQUEST_BYTES} bytes"


class PayloadTooLarge(StarletteHTTPException):
    """The request body passed its limit: raised while it is being read, so no more is read."""

    def __init__(self, reason: str) -> None:
        super().__init__(413, reason)


def _inbound_mail_limit(settings: Settings) -> tuple[int, str]:
    n = settings.INBOUND_EMAIL_MAX_BYTES
    return n, f"mail over {n} bytes (INBOUND_EMAIL_MAX_BYTES); a larger mail can come through the IMAP mailbox"


class _BodySizeLimit:
    """Refuse a request body over its limit with 413 `payload_too_large`: MAX_REQUEST_BYTES, except on the
    paths of `PATH_LIMITS` (`POST /inbound/email` takes whole mails with their attachments).

    A declared Content-Length over the limit is refused before anything is read. A body without one
    (Transfer-Encoding: chunked) is counted as it streams in, and refused as soon as the count passes
    the limit, so a client cannot make the API buffer an unbounded body. The 413 says `Connection:
    close`: uvicorn then closes the connection instead of reading (and discarding) the rest of the body
    to keep the connection alive. Pure ASGI: BaseHTTPMiddleware cannot see the body stream.
    """

    PATH_LIMITS: dict[tuple[str, str], Callable[[Settings], tuple[int, str]]] = {
        ("POST", "/inbound/email"): _inbound_mail_limit,
    }

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.limits = {k: f(settings) for k, f in self.PATH_LIMITS.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, reason = self.limits.get((scope["method"], scope["path"]), (MAX_REQUEST_BYTES, _OVER))
        length = Headers(scope=scope).get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _too_large(scope, receive, send, PayloadTooLarge(reason))
            return
        received = 0
        started = over = False

        async def counted_receive() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise PayloadTooLarge(reason)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if over:  # the 413, whoever renders it: close, so the server reads no more of the body
                    message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except PayloadTooLarge as exc:  # read outside FastAPI's error handling (it renders the 413 itself otherwise)
            if started:
                raise
            await _too_large(scope, receive, send, exc)


async def _too_large(scope: Scope, receive: Receive, send: Send, exc: PayloadTooLarge) -> None:
    response = JSONResponse(
        status_code=413,
        content={"error": {"code": "payload_too_large", "message": exc.detail}},
        headers={"connection": "close"},  # the server then closes the connection instead of reading the body
    )
    await response(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.pool = await open_pool(settings)
        app.state.temporal = await connect_temporal(settings)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(
        title="Durable support API",
        version="0.1.0",
        description="Every ticket is a Temporal workflow; AI agents answer, humans take over when needed. "
        'Which key may call what: api/roles.py (docs/security.md). Errors: `{"error": {"code", "message"}}`.',
        lifespan=lifespan,
        docs_url=None,  # served from the package (api/docs.py), not a CDN
        redoc_url=None,
    )
    app.state.settings = settings  # the roles check reads it before the lifespan has run (it never does on a 401)
    app.add_middleware(_BodySizeLimit, settings=settings)
    if configure_tracing(settings, "support-api"):
        instrument_app(app)  # a server span per request, the parent of StartWorkflow
    errors.install(app)
    guarded = (
        tickets.router,
        decisions.router,
        reports.router,
        metrics.router,
        bugs.router,
        customers.router,
        inbound_email.router,
        webhook_routes.router,
        email_routes.router,
        saved_replies.router,
    )
    roles.install([health.router, *guarded])
    app.include_router(health.router)
    for router in guarded:
        app.include_router(router, dependencies=[Depends(roles.require_role)])
    # The Temporal UI's codec server: its own auth (CODEC_KEY) and CORS (api/routes/codec.py), outside the
    # roles matrix; an operator's protocol endpoint, not part of the public API document.
    app.include_router(codec.router, include_in_schema=False)
    # The chat widget's own protocol: each call carries the visitor's signed token (channels/chat).
    app.include_router(chat_routes.router, include_in_schema=False)
    # The support console's pages: its own session sign-in (console/), the same role checks inside.
    app.include_router(console_router, include_in_schema=False)
    install_docs(app)
    return app


configure_logging(get_settings(), "support-api", "%(asctime)s api %(levelname)s %(message)s")
app = create_app()
