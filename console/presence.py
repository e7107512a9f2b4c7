"""Who else is viewing a ticket: the ticket page beats (`POST /console/tickets/{id}/presence`) every
db.viewers.HEARTBEAT_S seconds and says goodbye when it closes (`…/presence/leave`, a beacon); each beat
answers with the "also viewing" fragment. An arrival or a departure is a NOTIFY `ticket_viewers`, which
console/stream.py turns into a `viewers` event for the pages showing that ticket, so they beat at once.
Nothing here asks Temporal."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response

from console import session, web
from db import viewers

router = web.new_router()


async def _checked(request: Request) -> tuple[str, Response | None]:
    agent = web.agent(request)
    if agent is None:
        return "", PlainTextResponse("sign in first", status_code=401)
    form = await web.form(request)
    if not session.same_token(form.get("csrf"), agent.csrf):
        return "", PlainTextResponse("bad form token: reload the page", status_code=403)
    return agent.agent_id, None


@router.post("/tickets/{ticket_id}/presence")
async def beat(request: Request, ticket_id: str) -> Response:
    me, refused = await _checked(request)
    if refused is not None:
        return refused
    if web.text(ticket_id, 64) != ticket_id:
        return PlainTextResponse("not a ticket id", status_code=422)
    everyone = await viewers.beat(web.pool(request), ticket_id, me)
    return web.render(request, "_presence.html", others=[v for v in everyone if v != me])


@router.post("/tickets/{ticket_id}/presence/leave")
async def leave(request: Request, ticket_id: str) -> Response:
    me, refused = await _checked(request)
    if refused is not None:
        return refused
    await viewers.leave(web.pool(request), ticket_id, me)
    return Response(status_code=204)
