"""The team's saved replies in the console: list, create, edit, delete (`/console/saved-replies`), through
the same rules as `/saved-replies` in the JSON API (api.service.saved_replies)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from api.errors import ApiError
from api.service import saved_replies as service
from console import session, web
from db.saved_replies import list_saved_replies
from domain.saved_replies import MAX_BODY, MAX_TITLE, PLACEHOLDERS

router = web.new_router()
DONE = {"created": "Saved reply created.", "updated": "Saved reply updated.", "deleted": "Saved reply deleted."}


async def _page(
    request: Request, status: int = 200, error: str | None = None, draft: dict[str, str] | None = None
) -> Response:
    agent = web.agent(request)
    assert agent is not None
    replies = await list_saved_replies(web.pool(request))
    return web.render(
        request, "saved_replies.html", status=status, replies=replies, error=error, draft=draft or {},
        notice=DONE.get(request.query_params.get("done", "")), placeholders=PLACEHOLDERS,
        can_edit=agent.can_act(web.settings(request)), max_title=MAX_TITLE, max_body=MAX_BODY,
    )  # fmt: skip


@router.get("/saved-replies")
async def saved_replies_page(request: Request) -> Response:
    if web.agent(request) is None:
        return web.sign_in_redirect(request)
    return await _page(request)


@router.post("/saved-replies")
async def saved_replies_change(request: Request) -> Response:
    """One form for the three changes: `op` is create, update (with `reply_id`) or delete (with `reply_id`)."""
    agent = web.agent(request)
    if agent is None:
        return web.sign_in_redirect(request)
    form = await web.form(request)
    if not session.same_token(form.get("csrf"), agent.csrf):
        return PlainTextResponse("bad form token: reload the page", status_code=403)
    if not agent.can_act(web.settings(request)):
        return await _page(request, 403, f"Your roles ({', '.join(agent.roles)}) cannot change saved replies.")
    op, pool = form.get("op", ""), web.pool(request)
    reply_id = int(form["reply_id"]) if form.get("reply_id", "").isdigit() and len(form["reply_id"]) < 18 else None
    try:
        if op == "create":
            await service.create(pool, form.get("title", ""), form.get("body", ""), agent.agent_id)
        elif op in ("update", "delete") and reply_id is not None:
            if op == "update":
                await service.update(pool, reply_id, form.get("title", ""), form.get("body", ""), agent.agent_id)
            else:
                await service.delete(pool, reply_id)
        else:
            raise ApiError(422, "invalid_request", "op is create, update or delete (with reply_id)")
    except ApiError as e:
        return await _page(request, e.status, f"Not saved ({e.code}): {e.message}", form if op == "create" else None)
    return RedirectResponse(f"/console/saved-replies?done={op}d", status_code=303)
