"""The AI agent's reply as it is being written: a server-sent event stream of a ticket's drafts.

Fed by the worker's NOTIFY on the ticket's draft channel (db/drafts.py) while a streaming model
(MODEL_STREAMING) writes the reply. The text is already guarded (agents/drafts.py); it is shown to
signed-in agents only, on the ticket's page (templates/_draft_preview.html, static/draft.js). The
customer's channels never get it: they show that the agents are typing, then the final reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import asdict

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from api.errors import ApiError
from api.service.ids import check_ticket_id
from console import web
from db.drafts import listener_on

STREAM_SECONDS = 60.0  # a stream ends after this; the browser's EventSource reconnects at once

router = web.new_router()


@router.get("/tickets/{ticket_id}/draft")
async def draft_stream(request: Request, ticket_id: str) -> Response:
    """Server-sent events: `draft` ({turn, seq, state, text}) for each preview of the ticket's reply."""
    if web.agent(request) is None:
        return PlainTextResponse("sign in first", status_code=401)
    try:
        check_ticket_id(ticket_id)
    except ApiError as e:
        return PlainTextResponse(e.message, status_code=e.status)
    listener = listener_on(request.app.state, web.settings(request).DATABASE_URL)

    async def events() -> AsyncIterator[str]:
        queue = await listener.subscribe(ticket_id)
        try:
            yield "retry: 1000\nevent: ready\ndata: listening\n\n"
            end = time.monotonic() + STREAM_SECONDS
            while time.monotonic() < end and not await request.is_disconnected():
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=5)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                data = {k: v for k, v in asdict(event).items() if k != "ticket_id"}
                yield f"event: draft\ndata: {json.dumps(data)}\n\n"
        finally:
            with contextlib.suppress(Exception):
                await listener.unsubscribe(ticket_id, queue)

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
