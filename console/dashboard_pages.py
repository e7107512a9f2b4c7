"""The team lead's dashboard and its CSV downloads (metrics, daily, floor).

The figures come from console/dashboard.py."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response

from console import dashboard, web
from db.live import live_samples
from domain.success import report_window

router = web.new_router()


def _window(request: Request) -> tuple[datetime, datetime, str | None, str | None]:
    q = request.query_params
    since = datetime.fromisoformat(q["since"]) if q.get("since") else None
    until = datetime.fromisoformat(q["until"]) if q.get("until") else None
    days = int(q["days"]) if q.get("days") else (None if since else 7)
    if days is not None and not 1 <= days <= 366:
        raise ValueError("days must be 1 to 366")
    start, end = report_window(since, until, days, datetime.now(UTC))
    return start, end, web.text(q.get("channel")), web.text(q.get("product"))


@router.get("/dashboard")
async def dashboard_page(request: Request) -> Response:
    agent = web.agent(request)
    if agent is None:
        return web.sign_in_redirect(request)
    try:
        since, until, channel, product = _window(request)
    except ValueError as e:
        return web.render(request, "error.html", status=422, error=f"Window: {e}")
    pool = web.pool(request)
    async with pool.acquire() as conn:
        current, previous, rows, per_bucket = await dashboard.build(conn, since, until, channel, product)
        floor = dashboard.floor(await live_samples(conn, datetime.now(UTC)))
    days = request.query_params.get("days") or ("" if request.query_params.get("since") else "7")
    query = {"since": since.isoformat(), "until": until.isoformat(), **({"channel": channel} if channel else {})}
    if product:
        query["product"] = product
    return web.render(
        request, "dashboard.html", report=current, previous=previous, rows=rows, per_bucket=per_bucket, floor=floor,
        since=since, until=until, channel=channel, product=product, days=days,
        csv_query=urlencode(query), stream="/console/stream",
    )  # fmt: skip


@router.get("/dashboard.csv")
async def dashboard_csv(request: Request, table: str = "metrics") -> Response:
    if web.agent(request) is None:
        return PlainTextResponse("sign in first", status_code=401)
    try:
        since, until, channel, product = _window(request)
    except ValueError as e:
        return PlainTextResponse(str(e), status_code=422)
    pool = web.pool(request)
    async with pool.acquire() as conn:
        if table == "floor":
            floor = dashboard.floor(await live_samples(conn, datetime.now(UTC)))
            body = dashboard.to_csv(
                ["table", "what", "value"], [[n, k, v] for n, rows in floor.items() for k, v in rows]
            )
        elif table in ("metrics", "daily"):
            _, _, rows, per_bucket = await dashboard.build(conn, since, until, channel, product)
            if table == "metrics":
                body = dashboard.to_csv(
                    ["metric", "value", "target", "met", "previous", "trend", "basis"],
                    [[r.metric.name, r.metric.value, r.metric.target, r.metric.met, r.previous, r.trend, r.metric.basis]
                     for r in rows],
                )  # fmt: skip
            else:
                names = [r.metric.name for r in rows]
                body = dashboard.to_csv(
                    ["period_start", "tickets", "resolved", *names],
                    [[start.date().isoformat(), rep.tickets, rep.resolved, *(m.value for m in rep.metrics)]
                     for start, rep in per_bucket],
                )  # fmt: skip
        else:
            return PlainTextResponse("table is metrics, daily or floor", status_code=422)
    name = f"{table}-{since:%Y%m%d}-{until:%Y%m%d}.csv"
    return Response(
        body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
