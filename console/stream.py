"""Live updates: a server-sent event stream of changed ticket ids.

Fed by the store's notifications (console/live.py)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from console import web
from console.live import VIEWERS, Hub

STREAM_SECONDS = 25.0  # a stream ends after this; the browser's EventSource reconnects at once

router = web.new_router()


def _hub(request: Request) -> Hub:
    hub: Hub | None = getattr(request.app.state, "console_hub", None)
    if hub is None:
        hub = request.app.state.console_hub = Hub(web.settings(request).DATABASE_URL)
    return hub


@router.get("/stream")
async def stream(request: Request, ticket: str | None = None) -> Response:
    """Server-sent events: `change` with the ticket id whenever a ticket (or this one) changes in the store;
    with `ticket`, also `viewers` when someone opens or leaves that ticket (console/presence.py)."""
    if web.agent(request) is None:
        return PlainTextResponse("sign in first", status_code=401)
    hub = _hub(request)
    queue = await hub.subscribe()

    async def events() -> AsyncIterator[str]:
        try:
            yield "retry: 1000\nevent: ready\ndata: listening\n\n"
            end = time.monotonic() + STREAM_SECONDS
            while time.monotonic() < end and not await request.is_disconnected():
                try:
                    changed = await asyncio.wait_for(queue.get(), timeout=5)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                items = {changed}
                await asyncio.sleep(0.25)  # gather a burst (a decision writes several rows) into one event
                while not queue.empty():
                    items.add(queue.get_nowait())
                ids = {i for i in items if not i.startswith(VIEWERS)}
                if ids and (ticket is None or ticket in ids):
                    yield f"event: change\ndata: {' '.join(sorted(ids))}\n\n"
                if ticket is not None and f"{VIEWERS}{ticket}" in items:
                    yield f"event: viewers\ndata: {ticket}\n\n"
        finally:
            with contextlib.suppress(Exception):
                await hub.unsubscribe(queue)

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
