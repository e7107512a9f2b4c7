"""The FastAPI app: starts tickets as Temporal workflows and reads them back from Postgres.

It never runs agents itself. Run with `uvicorn api.main:app`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from api import errors
from api.deps import require_api_key
from api.routes import decisions, health, tickets
from clients import connect_temporal, open_pool
from settings import Settings, get_settings

MAX_REQUEST_BYTES = 256 * 1024


class _BodySizeLimit(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_REQUEST_BYTES:
            return JSONResponse(
                status_code=413,
                content={
                    "error": {
                        "code": "payload_too_large",
                        "message": f"request body over {MAX_REQUEST_BYTES} bytes",
                    }
                },
            )
        return await call_next(request)


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
        description="Every ticket is a Temporal workflow; AI agents answer, humans take over when needed.",
        lifespan=lifespan,
    )
    app.add_middleware(_BodySizeLimit)
    errors.install(app)
    app.include_router(health.router)
    app.include_router(tickets.router, dependencies=[Depends(require_api_key)])
    app.include_router(decisions.router, dependencies=[Depends(require_api_key)])
    return app


logging.basicConfig(level=logging.INFO, format="%(asctime)s api %(levelname)s %(message)s")
app = create_app()
