"""The brief's success metrics: what each one counts and the target it is judged against.

`db.reports` counts tickets in the ticket store; this module turns the counts into metrics. No I/O.
A metric whose denominator is zero (no resolved ticket yet, no survey answered) has no value and is
neither met nor missed: a report over an empty week must not claim a 0 % automation rate.

"Reached a person" is any ticket a person had to touch: handed over by the agents (including an
action sent for approval), an SLA breach (which hands the ticket over), or any human decision on it
(reply, reassign, priority change, hand-back, approval, resolving it). Automation is the share of
tickets resolved without a person among those whose outcome is known: resolved, or handed to a
person. A ticket still open with the agents (waiting for the customer's answer, say) is not counted
yet, so this week's report is not dragged down by tickets that are simply not finished; the brief's
"tickets closed by AI / total tickets" would be.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel

Op = Literal[">=", "<=", "<"]
DEFAULT_DAYS = 30  # a report's window when it names no start


@dataclass(frozen=True)
class Target:
    name: str
    label: str
    op: Op
    goal: float
    unit: Literal["ratio", "hours", "score", "usd"]


# The brief's "Success Metrics" table (seed blueprint), in its order.
TARGETS: tuple[Target, ...] = (
    Target("automation_rate", "resolved without a person, of tickets resolved or handed over", ">=", 0.60, "ratio"),
    Target(
        "resolution_hours_mean", "average time to resolution (to our last answer if auto-resolved)", "<=", 14.0, "hours"
    ),
    Target("sla_compliance", "tickets without an SLA breach", ">=", 0.95, "ratio"),
    Target("csat_mean", "average CSAT (1-5) of answered surveys", ">=", 4.4, "score"),
    Target("cost_per_resolved_usd", "model cost per resolved ticket", "<=", 0.80, "usd"),
    Target("escalation_rate", "tickets that reached a person", "<", 0.40, "ratio"),
    Target("calm_end_rate", "conversations whose last customer message is neutral or positive", ">=", 0.80, "ratio"),
)


@dataclass(frozen=True)
class SupportCounts:
    """What the store holds for the tickets opened in a report's window."""

    tickets: int
    resolved: int
    resolved_without_person: int
    resolved_by_silence: int  # auto-resolved: the customer stopped answering
    came_back: int  # resolved, yet the customer wrote again: reopened it, or a follow-up ticket
    reached_person: int
    settled: int  # resolved, reached a person, or closed because its workflow ended: the outcome is known
    sla_breached: int
    resolution_hours_mean: float | None
    resolution_hours_median: float | None
    resolution_hours_p90: float | None
    csat_responses: int
    csat_mean: float | None
    cost_usd: float
    with_customer_sentiment: int
    calm_end: int
    csat_1: int = 0  # answered surveys by score, 1 to 5
    csat_2: int = 0
    csat_3: int = 0
    csat_4: int = 0
    csat_5: int = 0


class Metric(BaseModel):
    name: str
    label: str
    value: float | None  # None: nothing to measure yet (zero denominator)
    target: str  # e.g. ">= 0.6"
    met: bool | None
    basis: str  # what the value is computed over, e.g. "12 of 20 tickets"


class Csat(BaseModel):
    """The survey: the mean score, how many resolved tickets' customers answered, and how the answers spread."""

    mean: float | None
    responses: int
    response_rate: float | None  # answered surveys of resolved tickets (a survey follows every resolution)
    distribution: dict[str, int]  # "1".."5" -> answers with that score


class Group(BaseModel):
    """The metrics of one value of a breakdown (one channel, category, priority, product or period)."""

    value: str | None  # None: not set (an untriaged ticket has no category or priority; no product named)
    tickets: int
    resolved: int
    reached_person: int
    metrics: list[Metric]
    csat: Csat
    met: int
    missed: int


class AgentFigures(BaseModel):
    """One person's part in the tickets opened in the window (a person: who replied or decided as a human)."""

    agent: str
    tickets_handled: int  # tickets they replied on or decided something on
    replies: int
    resolved: int  # tickets they resolved themselves
    first_response_hours_mean: float | None  # from the hand-over to a person to their first reply, per ticket
    first_response_hours_median: float | None
    csat_mean: float | None  # of the tickets they handled
    csat_responses: int


BREAKDOWNS = ("channel", "category", "priority", "product")


class SupportReport(BaseModel):
    """The brief's metrics over the tickets opened in [since, until)."""

    since: datetime
    until: datetime
    channel: str | None
    product: str | None
    tickets: int
    resolved: int
    resolved_by_silence: int  # of the resolved: the customer stopped answering (their time runs to our last answer)
    came_back: int  # of the resolved: the customer wrote again (reopened it during the survey, or a follow-up ticket)
    reached_person: int
    open_with_agents: int  # not resolved and no person involved yet: not in the automation rate
    resolution_hours_median: float | None
    resolution_hours_p90: float | None
    metrics: list[Metric]
    met: int  # how many metrics meet their target
    missed: int  # how many miss it (the rest have nothing to measure yet)
    csat: Csat
    # Asked for with `by`: each breakdown's groups (most tickets first), and each person's figures.
    breakdowns: dict[str, list[Group]] = {}
    agents: list[AgentFigures] | None = None


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _met(target: Target, value: float | None) -> bool | None:
    if value is None:
        return None
    if target.op == ">=":
        return value >= target.goal
    if target.op == "<=":
        return value <= target.goal
    return value < target.goal


def metrics(c: SupportCounts) -> list[Metric]:
    """Each of the brief's metrics for these counts, with whether it meets its target."""
    values: dict[str, tuple[float | None, str]] = {
        "automation_rate": (
            _ratio(c.resolved_without_person, c.settled),
            f"{c.resolved_without_person} of {c.settled} settled tickets",
        ),
        "resolution_hours_mean": (c.resolution_hours_mean, f"{c.resolved} resolved tickets"),
        "sla_compliance": (_ratio(c.tickets - c.sla_breached, c.tickets), f"{c.sla_breached} of {c.tickets} breached"),
        "csat_mean": (c.csat_mean, f"{c.csat_responses} surveys answered"),
        "cost_per_resolved_usd": (c.cost_usd / c.resolved if c.resolved else None, f"${c.cost_usd:.4f} in all"),
        "escalation_rate": (_ratio(c.reached_person, c.tickets), f"{c.reached_person} of {c.tickets} tickets"),
        "calm_end_rate": (
            _ratio(c.calm_end, c.with_customer_sentiment),
            f"{c.calm_end} of {c.with_customer_sentiment} conversations",
        ),
    }
    out = []
    for t in TARGETS:
        value, basis = values[t.name]
        shown = round(value, 4) if value is not None else None
        out.append(
            Metric(
                name=t.name, label=t.label, value=shown, target=f"{t.op} {t.goal:g}", met=_met(t, value), basis=basis
            )
        )
    return out


def csat(c: SupportCounts) -> Csat:
    scores = (c.csat_1, c.csat_2, c.csat_3, c.csat_4, c.csat_5)
    rate = _ratio(c.csat_responses, c.resolved)
    return Csat(
        mean=round(c.csat_mean, 4) if c.csat_mean is not None else None,
        responses=c.csat_responses,
        response_rate=round(rate, 4) if rate is not None else None,
        distribution={str(i): n for i, n in enumerate(scores, start=1)},
    )


def group(value: str | None, c: SupportCounts) -> Group:
    ms = metrics(c)
    return Group(
        value=value, tickets=c.tickets, resolved=c.resolved, reached_person=c.reached_person, metrics=ms,
        csat=csat(c), met=sum(m.met is True for m in ms), missed=sum(m.met is False for m in ms),
    )  # fmt: skip


def report(
    c: SupportCounts, since: datetime, until: datetime, channel: str | None = None, product: str | None = None
) -> SupportReport:
    ms = metrics(c)

    def hours(v: float | None) -> float | None:
        return round(v, 2) if v is not None else None

    return SupportReport(
        since=since, until=until, channel=channel, product=product, tickets=c.tickets, resolved=c.resolved,
        resolved_by_silence=c.resolved_by_silence, came_back=c.came_back, reached_person=c.reached_person,
        open_with_agents=c.tickets - c.settled,
        resolution_hours_median=hours(c.resolution_hours_median), resolution_hours_p90=hours(c.resolution_hours_p90),
        metrics=ms,
        met=sum(m.met is True for m in ms), missed=sum(m.met is False for m in ms), csat=csat(c),
    )  # fmt: skip


def report_window(
    since: datetime | None, until: datetime | None, days: int | None, now: datetime
) -> tuple[datetime, datetime]:
    """[since, until) in UTC: `until` defaults to now, `since` to `days` (30) before it. Raises ValueError."""
    if since is not None and days is not None:
        raise ValueError("give since or days, not both")
    if days is not None and days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    try:
        end = _utc(until) if until is not None else now
        start = _utc(since) if since is not None else end - timedelta(days=DEFAULT_DAYS if days is None else days)
    except OverflowError:  # 0001-01-01T00:00+14:00 in UTC, or more days before `until` than the calendar has
        raise ValueError("the window reaches outside the years 1 to 9999 (UTC)") from None
    if start >= end:
        raise ValueError(f"since ({start.isoformat()}) must be before until ({end.isoformat()})")
    return start, end


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
