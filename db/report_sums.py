"""The report's sums, shared by the report over tickets and the rollup (migration V23).

Rows of `report_ticket_counts` (one per ticket) and of the rollup tables carry the same columns, so one
list of sums adds up either, and one list of final expressions turns the sums into SupportCounts. The
means divide numeric sums exactly as avg() does (numeric division of the sum by the count), so a figure
summed from the rollup equals the one computed from the tickets to the last bit.
"""

from __future__ import annotations

from typing import Any

# The summable columns of report_ticket_counts and report_hours / report_days, in the tables' order.
COUNT_COLUMNS = (
    "tickets", "resolved", "resolved_without_person", "resolved_by_silence", "came_back", "reached_person",
    "settled", "sla_breached", "hours_sum", "hours_n", "csat_responses", "csat_sum", "csat_1", "csat_2",
    "csat_3", "csat_4", "csat_5", "cost_usd", "with_customer_sentiment", "calm_end",
)  # fmt: skip
NUMERIC = {"hours_sum", "cost_usd"}  # exact decimals; every other column is a count
SUMS = ", ".join(f"sum({c})" + ("" if c in NUMERIC else "::bigint") + f" AS {c}" for c in COUNT_COLUMNS)

# SupportCounts from summed columns (s) and the percentiles (median, p90) computed beside them.
FINAL = """
    coalesce(s.tickets, 0) AS tickets, coalesce(s.resolved, 0) AS resolved,
    coalesce(s.resolved_without_person, 0) AS resolved_without_person,
    coalesce(s.resolved_by_silence, 0) AS resolved_by_silence, coalesce(s.came_back, 0) AS came_back,
    coalesce(s.reached_person, 0) AS reached_person, coalesce(s.settled, 0) AS settled,
    coalesce(s.sla_breached, 0) AS sla_breached,
    (s.hours_sum / nullif(s.hours_n, 0))::float8 AS resolution_hours_mean,
    coalesce(s.csat_responses, 0) AS csat_responses,
    (s.csat_sum::numeric / nullif(s.csat_responses, 0))::float8 AS csat_mean,
    coalesce(s.csat_1, 0) AS csat_1, coalesce(s.csat_2, 0) AS csat_2, coalesce(s.csat_3, 0) AS csat_3,
    coalesce(s.csat_4, 0) AS csat_4, coalesce(s.csat_5, 0) AS csat_5,
    coalesce(s.cost_usd, 0)::float8 AS cost_usd,
    coalesce(s.with_customer_sentiment, 0) AS with_customer_sentiment, coalesce(s.calm_end, 0) AS calm_end
"""
PERCENTILES = """
    percentile_cont(0.5) WITHIN GROUP (ORDER BY {x})::float8 AS resolution_hours_median,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY {x})::float8 AS resolution_hours_p90
"""
COUNT_FIELDS = (
    "tickets", "resolved", "resolved_without_person", "resolved_by_silence", "came_back", "reached_person",
    "settled", "sla_breached", "resolution_hours_mean", "resolution_hours_median", "resolution_hours_p90",
    "csat_responses", "csat_mean", "cost_usd", "with_customer_sentiment", "calm_end",
    "csat_1", "csat_2", "csat_3", "csat_4", "csat_5",
)  # fmt: skip

# Each person's part: columns of report_agent_facts (one row per ticket and person) and report_agent_days.
AGENT_COLUMNS = ("tickets_handled", "replies", "resolved", "first_sum", "first_n", "csat_sum", "csat_n")
AGENT_SUMS = ", ".join(
    f"sum({c})" + ("" if c == "first_sum" else "::bigint") + f" AS {c}" for c in AGENT_COLUMNS
)  # fmt: skip
AGENT_FINAL = """
    s.agent, s.tickets_handled, s.replies::int AS replies, s.resolved,
    (s.first_sum / nullif(s.first_n, 0))::float8 AS first_response_hours_mean,
    (s.csat_sum::numeric / nullif(s.csat_n, 0))::float8 AS csat_mean, s.csat_n AS csat_responses
"""
MEDIAN_FIRST = "percentile_cont(0.5) WITHIN GROUP (ORDER BY {x})::float8 AS first_response_hours_median"


def counts_fields(row: Any) -> dict[str, Any]:
    """The SupportCounts fields of a result row (its keys and intermediate sums left out)."""
    return {k: row[k] for k in COUNT_FIELDS}
