"""The team lead's dashboard and a CSV download of each of its tables.

The figures come from console/dashboard.py (db.reports.support_report, the function GET /reports/summary
calls); the live floor from db.live (what GET /metrics exposes)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response

from console import dashboard, web
from db.live import floor_samples
from domain.success import BREAKDOWNS, TARGETS, report_window

router = web.new_router()
METRICS = [t.name for t in TARGETS]
# Every table on the page has a CSV: table name -> what it holds.
TABLES = {
    "metrics": "the success metrics against their targets, with the previous window and the trend",
    "periods": "each metric per day or week",
    "csat": "CSAT answers per score",
    **{d: f"the metrics by {d}" for d in BREAKDOWNS},
    "agents": "each person's tickets handled, first response and CSAT",
    "floor": "the live floor",
}
ALIASES = {"daily": "periods"}  # the table's name before weeks could be chosen


class Window:
    """The dashboard's query: a window (days, or since/until), a channel and product, the chart's step."""

    def __init__(self, request: Request) -> None:
        q = request.query_params
        since = datetime.fromisoformat(q["since"]) if q.get("since") else None
        until = datetime.fromisoformat(q["until"]) if q.get("until") else None
        days = int(q["days"]) if q.get("days") else (None if since else 7)
        if days is not None and not 1 <= days <= 366:
            raise ValueError("days must be 1 to 366")
        self.since, self.until = report_window(since, until, days, datetime.now(UTC))
        if self.until - self.since > dashboard.STEPS["day"] * 366:
            raise ValueError("a window of at most 366 days")
        self.days = q.get("days") or ("" if since else "7")
        self.channel, self.product = web.text(q.get("channel")), web.text(q.get("product"))
        step = q.get("step") or dashboard.default_step(self.since, self.until)
        if step not in dashboard.STEPS:
            raise ValueError("step is day or week")
        self.step = step

    def query(self) -> str:
        """The same window as URL parameters (for the CSV links)."""
        q = {"since": self.since.isoformat(), "until": self.until.isoformat(), "step": self.step}
        q.update({k: v for k, v in (("channel", self.channel), ("product", self.product)) if v})
        return urlencode(q)


@router.get("/dashboard")
async def dashboard_page(request: Request) -> Response:
    if web.agent(request) is None:
        return web.sign_in_redirect(request)
    try:
        w = Window(request)
    except ValueError as e:
        return web.render(request, "error.html", status=422, error=f"Window: {e}")
    async with web.pool(request).acquire() as conn:
        board = await dashboard.build(conn, w.since, w.until, w.channel, w.product, w.step)
        floor = dashboard.floor(await floor_samples(conn, datetime.now(UTC)))
    return web.render(
        request, "dashboard.html", board=board, report=board.report, previous=board.previous, rows=board.rows,
        floor=floor, w=w, since=w.since, until=w.until, channel=w.channel, product=w.product, days=w.days,
        csv_query=w.query(), breakdowns=BREAKDOWNS, metric_names=METRICS, value=dashboard.value,
        histogram=dashboard.histogram(board.report.csat), stream="/console/stream",
    )  # fmt: skip


@router.get("/dashboard.csv")
async def dashboard_csv(request: Request, table: str = "metrics") -> Response:
    if web.agent(request) is None:
        return PlainTextResponse("sign in first", status_code=401)
    table = ALIASES.get(table, table)
    if table not in TABLES:
        return PlainTextResponse(f"table is one of {', '.join(TABLES)}", status_code=422)
    try:
        w = Window(request)
    except ValueError as e:
        return PlainTextResponse(str(e), status_code=422)
    async with web.pool(request).acquire() as conn:
        if table == "floor":
            floor = dashboard.floor(await floor_samples(conn, datetime.now(UTC)))
            header, rows = ["table", "what", "value"], [[n, k, v] for n, items in floor.items() for k, v in items]
        else:
            board = await dashboard.build(conn, w.since, w.until, w.channel, w.product, w.step)
            header, rows = _table(board, table)
    name = f"{table}-{w.since:%Y%m%d}-{w.until:%Y%m%d}.csv"
    return Response(
        dashboard.to_csv(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _table(board: dashboard.Board, table: str) -> tuple[list[str], list[list[object]]]:
    if table == "metrics":
        header = ["metric", "value", "target", "met", "previous", "trend", "basis"]
        return header, [
            [r.metric.name, r.metric.value, r.metric.target, r.metric.met, r.previous, r.trend, r.metric.basis]
            for r in board.rows
        ]
    if table == "periods":
        header = ["period_start", "tickets", "resolved", *METRICS]
        return header, [
            [start.isoformat(), g.tickets if g else 0, g.resolved if g else 0, *(dashboard.value(g, m) if g else None
             for m in METRICS)]
            for start, g in board.periods
        ]  # fmt: skip
    if table == "csat":
        c = board.report.csat
        return ["score", "answers"], [[score, n] for score, n in sorted(c.distribution.items())]
    if table == "agents":
        header = ["agent", "tickets_handled", "replies", "resolved", "first_response_hours_mean",
                  "first_response_hours_median", "csat_mean", "csat_responses"]  # fmt: skip
        return header, [[getattr(a, k) for k in header] for a in board.report.agents or []]
    header = [table, "tickets", "resolved", "reached_person", *METRICS, "csat_responses", "csat_response_rate"]
    return header, [
        [g.value or "", g.tickets, g.resolved, g.reached_person, *(dashboard.value(g, m) for m in METRICS),
         g.csat.responses, g.csat.response_rate]
        for g in board.report.breakdowns.get(table, [])
    ]  # fmt: skip
