"""Each person's part in the tickets opened in a window (the dashboard's "by human agent" table and
`GET /reports/summary?by=agent`): tickets handled, replies, resolutions, first response and CSAT.

A person is whoever the store shows acting as a human: the author of a human reply (`messages.sender =
'human'`), or the actor of a person's decision (reassign, hand back, approve / reject, a priority change
that is not the workflow's own, a resolution by the person holding the ticket). Their first response on a
ticket runs from when it reached a person (its first hand-over event: escalated, or an SLA breach, kept
on the ticket row as `report_handover_at` by migration V20; the ticket's opening when it has none) to
their first reply on it.
"""

from __future__ import annotations

from datetime import datetime

from db import report_rollup
from db.report_conn import report_connection
from db.report_sums import AGENT_FINAL, AGENT_SUMS, MEDIAN_FIRST
from db.tickets import Conn
from domain.success import AgentFigures

# The kinds of a person's decisions; the view `report_agent_facts` (migration V23) lists them (a test checks),
# and leaves out the workflow's own actor, "system" (db.reports.SYSTEM_ACTOR).
DECISION_EVENTS = ["human_replied", "reassigned", "handed_back", "action_approved", "action_rejected"]

# Each person's part in each ticket that reached a person is a row of the view `report_agent_facts`
# (migration V23: their replies, the first one, whether they resolved it); the rollup sums the same view.
AGENTS = f"""
WITH s AS (
    SELECT agent, {AGENT_SUMS}, {MEDIAN_FIRST.format(x="first_hours")}
    FROM report_agent_facts
    WHERE created_at >= $1 AND created_at < $2
      AND ($3::text IS NULL OR channel = $3)
      AND ($4::text IS NULL OR product = $4)
    GROUP BY agent
)
SELECT {AGENT_FINAL}, s.first_response_hours_median FROM s
ORDER BY s.tickets_handled DESC, s.agent
"""


async def agent_figures(
    conn: Conn, since: datetime, until: datetime, *, channel: str | None = None, product: str | None = None,
    rollup: bool | None = None,
) -> list[AgentFigures]:  # fmt: skip
    """Each person who acted on a ticket opened in [since, until), most tickets handled first. Read from the
    rollup (db/report_rollup.py) unless both a channel and a product are chosen or `rollup` is False."""
    scope = report_rollup.scope_of(channel, product)
    if rollup is None:
        rollup = scope is not None
    if rollup and scope is None:
        raise ValueError("the rollup has no cross of a channel and a product")
    async with report_connection(conn) as c:
        if rollup and scope is not None:
            stale = await report_rollup.stale_days(c, since, until)
            rows = await report_rollup.agent_rows(c, since, until, stale, scope)
        else:
            rows = await c.fetch(AGENTS, since, until, channel, product)
    out = []
    for r in rows:
        values = dict(r)
        for k in ("first_response_hours_mean", "first_response_hours_median", "csat_mean"):
            values[k] = round(values[k], 3) if values[k] is not None else None
        out.append(AgentFigures(**values))
    return out
