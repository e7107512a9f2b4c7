"""The team lead's dashboard: the success metrics of GET /reports/summary (db.reports.support_report, the
same function) over a window, against their targets, with the trend against the previous window and a
bar per day (or week) drawn as inline SVG; the live floor from db.live (what GET /metrics exposes)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup, escape

from db.live import Sample
from db.reports import support_report
from db.tickets import Conn
from domain.success import BREAKDOWNS, TARGETS, Csat, Group, Metric, SupportReport

UNITS = {t.name: t.unit for t in TARGETS}
LOWER_IS_BETTER = {t.name for t in TARGETS if t.op.startswith("<")}
MAX_BUCKETS = 31  # days in a window before its chart goes per week by default
STEPS = {"day": timedelta(days=1), "week": timedelta(days=7)}


@dataclass(frozen=True)
class Row:
    metric: Metric
    previous: float | None
    trend: str  # "better" | "worse" | "same" | ""
    chart: Markup
    series: list[tuple[datetime, float | None]]


@dataclass(frozen=True)
class Board:
    """Everything the dashboard shows for one window: the report (with its breakdowns and each person's
    figures), the previous window's, a row per metric with its series, and the periods of the chart."""

    report: SupportReport
    previous: SupportReport
    rows: list[Row]
    periods: list[tuple[datetime, Group | None]]  # every bucket of the window; None: no ticket opened in it
    step: str  # "day" | "week"


def fmt(name: str, value: float | None) -> str:
    if value is None:
        return "–"
    unit = UNITS.get(name, "")
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "hours":
        return f"{value:.1f} h"
    if unit == "usd":
        return f"${value:.2f}"
    return f"{value:.2f}"


def trend(name: str, now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return ""
    if abs(now - before) < 1e-9:
        return "same"
    up = now > before
    return "worse" if up == (name in LOWER_IS_BETTER) else "better"


def default_step(since: datetime, until: datetime) -> str:
    return "day" if (until - since) <= timedelta(days=MAX_BUCKETS) else "week"


def buckets(since: datetime, until: datetime, step: str) -> list[datetime]:
    """The start of each bucket of the window (a day or a week each, from `since`)."""
    size = STEPS[step]
    out: list[datetime] = []
    start = since
    while start < until:
        out.append(start)
        start += size
    return out


async def build(
    conn: Conn, since: datetime, until: datetime, channel: str | None, product: str | None, step: str
) -> Board:
    """The window's report with every breakdown, per period and per person (one pass over the window's
    tickets, plus one for the people), and the previous window of the same length for the trend."""
    by = [*BREAKDOWNS, "period", "agent"]
    current = await support_report(conn, since, until, channel=channel, product=product, by=by, step=STEPS[step])
    previous = await support_report(conn, since - (until - since), since, channel=channel, product=product)
    found = {datetime.fromisoformat(g.value): g for g in current.breakdowns.pop("period", []) if g.value}
    periods = [(start, found.get(start)) for start in buckets(since, until, step)]
    before = {m.name: m.value for m in previous.metrics}
    rows: list[Row] = []
    for m in current.metrics:
        series = [(start, _value(g, m.name)) for start, g in periods]
        rows.append(
            Row(m, before.get(m.name), trend(m.name, m.value, before.get(m.name)), bars(m.name, series), series)
        )
    return Board(current, previous, rows, periods, step)


def _value(g: Group | None, name: str) -> float | None:
    return None if g is None else next((x.value for x in g.metrics if x.name == name), None)


def value(g: Group, name: str) -> float | None:
    """A group's value of one metric (for the breakdown tables)."""
    return _value(g, name)


def bars(name: str, series: list[tuple[datetime, float | None]], width: int = 240, height: int = 48) -> Markup:
    """A bar per bucket, scaled to the largest value; an empty bucket is a grey tick."""
    values = [v for _, v in series if v is not None]
    top = max(values, default=0.0) or 1.0
    n = max(len(series), 1)
    slot = width / n
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(name)} per period">'
    ]
    for i, (start, v) in enumerate(series):
        x = i * slot + slot * 0.15
        w = max(slot * 0.7, 1.0)
        label = f"{start:%Y-%m-%d}: {fmt(name, v)}"
        if v is None:
            parts.append(f'<rect class="empty" x="{x:.1f}" y="{height - 2}" width="{w:.1f}" height="2">')
        else:
            h = max(height * (v / top), 1.0)
            parts.append(f'<rect class="bar" x="{x:.1f}" y="{height - h:.1f}" width="{w:.1f}" height="{h:.1f}">')
        parts.append(f"<title>{escape(label)}</title></rect>")
    parts.append("</svg>")
    return Markup("".join(parts))


def histogram(c: Csat, width: int = 240, height: int = 80) -> Markup:
    """The CSAT answers per score (1 to 5) as labelled bars."""
    top = max(c.distribution.values(), default=0) or 1
    slot = width / 5
    parts = [
        f'<svg class="chart histogram" viewBox="0 0 {width} {height + 16}" width="{width}" height="{height + 16}" '
        f'role="img" aria-label="CSAT answers per score, 1 to 5">'
    ]
    for i, (score, n) in enumerate(sorted(c.distribution.items())):
        h = max(height * n / top, 1.0) if n else 1.0
        x = i * slot + slot * 0.15
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{height - h:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}">'
            f"<title>score {score}: {n}</title></rect>"
            f'<text x="{i * slot + slot / 2:.1f}" y="{height + 13}" text-anchor="middle">{score}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def floor(samples: list[Sample]) -> dict[str, list[tuple[str, float]]]:
    """The live floor's tables from GET /metrics' samples: open by status, the human queue by priority,
    overdue now, the oldest unanswered, the customer outbox."""
    by_status: dict[str, float] = {}
    queue: dict[str, float] = {}
    now: list[tuple[str, float]] = []
    for s in samples:
        if s.name == "support_open_tickets":
            by_status[s.labels["status"]] = by_status.get(s.labels["status"], 0) + s.value
        elif s.name == "support_human_queue_tickets":
            queue[s.labels["priority"]] = queue.get(s.labels["priority"], 0) + s.value
        elif s.name == "support_open_sla_breached_tickets":
            now.append(("open tickets that breached an SLA", s.value))
        elif s.name == "support_overdue_tickets":
            now.append((f"overdue now: {s.labels['clock'].replace('_', ' ')}", s.value))
        elif s.name == "support_oldest_unanswered_seconds":
            now.append(("oldest unanswered (minutes)", round(s.value / 60, 1)))
        elif s.name == "support_customer_outbox_messages":
            now.append((f"customer outbox: {s.labels['state']}", s.value))
    order = ["critical", "high", "medium", "low", "untriaged"]
    return {
        "open by status": sorted(by_status.items()),
        "human queue by priority": sorted(queue.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 9),
        "right now": now,
    }


def to_csv(header: list[str], rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
