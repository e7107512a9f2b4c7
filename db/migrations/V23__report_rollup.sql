-- V23: the success-metrics report's per-ticket facts as views, and a per-hour / per-day rollup of them,
-- so the team lead's dashboard reads a quarter as a few thousand rollup rows instead of its tickets.
-- Revises: V20. Reason: issue 21's benchmark (100,000 tickets): the dashboard over 90 days read ~19,600
-- ticket rows and aggregated them (and the people's replies and decisions) on every request: 764 ms p95.
--
-- One definition: `report_ticket_counts` says what each ticket contributes (1 or 0 to each count, its
-- resolution hours, CSAT, cost) and `report_agent_facts` what each person did on it; the report over
-- tickets (db/reports.py, db/agent_report.py) and the rollup (db/report_rollup.py) both sum these views.
--
-- Exactness: every count and sum adds up (the hours are numeric, so their sum is exact and the mean is
-- the same numeric division avg() makes); medians and the p90 cannot be added, so a rollup row keeps
-- the sorted values themselves (`hours`, `first_hours`) and the percentile is taken over them.
--
-- Freshness: a write to a ticket, its messages or its events appends the ticket's day (UTC) to
-- `report_stale_days` (append-only: no row lock shared between writers). A reader sums rollup rows only
-- for days not listed there and counts the others from the tickets, in one snapshot, so the figures are
-- exact at every moment; db/report_rollup.py recomputes the listed days and deletes the entries it saw.

CREATE OR REPLACE VIEW report_ticket_facts AS
SELECT t.ticket_id, t.created_at, t.channel, t.category, t.priority, t.product, t.assigned_human,
    coalesce(t.report_handover_at, t.created_at) AS reached_at, t.csat_score, t.cost_usd, t.sla_breached,
    t.report_ended AS ended, t.report_by_silence AS by_silence, t.report_last_sentiment AS last_sentiment,
    t.resolved_at IS NOT NULL AND NOT t.report_ended AS resolved,
    (t.owner = 'human' OR t.assigned_human IS NOT NULL OR t.escalated OR t.report_person_event
        OR t.report_human_message) AS reached_person,
    t.report_reopened OR follow_up.found IS NOT NULL AS came_back,
    -- resolved by silence: its time runs to our last answer before the resolution (db/reports.py)
    CASE WHEN t.resolved_at IS NOT NULL AND NOT t.report_ended
        THEN extract(epoch FROM coalesce(last_answer.at, t.resolved_at) - t.created_at) / 3600.0 END AS hours
FROM tickets t
LEFT JOIN LATERAL (  -- read only for a ticket resolved by silence (a one-time filter skips the others)
    SELECT max(m.created_at) AS at FROM messages m
    WHERE t.report_by_silence AND m.ticket_id = t.ticket_id AND m.sender IN ('agent', 'human')
      AND m.created_at <= t.resolved_at
) last_answer ON true
LEFT JOIN LATERAL (  -- a probe of the follow-ups' index per ticket, never a hash of every ticket
    SELECT true AS found FROM tickets f WHERE f.linked_ticket_id = t.ticket_id LIMIT 1
) follow_up ON true;

-- What each ticket adds to each count (the columns of SupportCounts, summed).
CREATE OR REPLACE VIEW report_ticket_counts AS
SELECT ticket_id, created_at, channel, category, priority, product,
    1 AS tickets,
    resolved::int AS resolved,
    (resolved AND NOT reached_person)::int AS resolved_without_person,
    (resolved AND by_silence)::int AS resolved_by_silence,
    (resolved AND came_back)::int AS came_back,
    reached_person::int AS reached_person,
    (resolved OR reached_person OR ended)::int AS settled,
    sla_breached::int AS sla_breached,
    hours AS hours_sum,
    (hours IS NOT NULL)::int AS hours_n,
    hours,
    (csat_score IS NOT NULL)::int AS csat_responses,
    csat_score::int AS csat_sum,
    coalesce(csat_score = 1, false)::int AS csat_1, coalesce(csat_score = 2, false)::int AS csat_2,
    coalesce(csat_score = 3, false)::int AS csat_3, coalesce(csat_score = 4, false)::int AS csat_4,
    coalesce(csat_score = 5, false)::int AS csat_5,
    cost_usd,
    (last_sentiment IS NOT NULL)::int AS with_customer_sentiment,
    coalesce(last_sentiment IN ('neutral', 'positive'), false)::int AS calm_end  -- db/reports.py CALM
FROM report_ticket_facts;

-- Each person's part in each ticket that reached a person: replies (their first one), decisions, whether
-- they resolved it. The actors' kinds are db/agent_report.py's DECISION_EVENTS; 'system' is the workflow.
CREATE OR REPLACE VIEW report_agent_facts AS
SELECT ticket_id, created_at, channel, product, agent,
    1 AS tickets_handled, replies, resolved::int AS resolved,
    first_hours AS first_sum, (first_hours IS NOT NULL)::int AS first_n, first_hours,
    csat_score::int AS csat_sum, (csat_score IS NOT NULL)::int AS csat_n
FROM (
SELECT f.ticket_id, f.created_at, f.channel, f.product, f.csat_score, a.agent, a.replies, a.resolved,
    CASE WHEN a.first_at IS NOT NULL
        THEN greatest(extract(epoch FROM a.first_at - f.reached_at) / 3600.0, 0) END AS first_hours
FROM report_ticket_facts f
CROSS JOIN LATERAL (
    SELECT x.who AS agent, sum(x.reply)::int AS replies, min(x.at) FILTER (WHERE x.reply = 1) AS first_at,
        bool_or(x.resolves) AS resolved
    FROM (
        SELECT m.author AS who, 1 AS reply, m.created_at AS at, false AS resolves
        FROM messages m WHERE m.ticket_id = f.ticket_id AND m.sender = 'human'
        UNION ALL
        SELECT e.actor, 0, e.created_at, e.kind = 'resolved'
        FROM ticket_events e
        WHERE e.ticket_id = f.ticket_id AND e.actor IS NOT NULL AND e.actor <> 'system' AND (
            e.kind IN ('human_replied', 'reassigned', 'handed_back', 'action_approved', 'action_rejected')
            OR e.kind = 'priority_changed'
            OR e.kind = 'resolved' AND e.actor = f.assigned_human
        )
    ) x
    GROUP BY x.who
) a
WHERE f.reached_person
) per_person;

-- The days (UTC midnights) whose rollup rows may be out of date; one entry per write, deleted by the refresh.
CREATE TABLE IF NOT EXISTS report_stale_days (day timestamptz NOT NULL);

-- The sums of report_ticket_counts per hour of opening (the total and the chart's periods) ...
CREATE TABLE IF NOT EXISTS report_hours (
    hour timestamptz PRIMARY KEY,
    tickets bigint NOT NULL, resolved bigint NOT NULL, resolved_without_person bigint NOT NULL,
    resolved_by_silence bigint NOT NULL, came_back bigint NOT NULL, reached_person bigint NOT NULL,
    settled bigint NOT NULL, sla_breached bigint NOT NULL,
    hours_sum numeric, hours_n bigint NOT NULL,
    hours numeric[] NOT NULL,  -- each resolved ticket's hours, sorted: the exact median and p90
    csat_responses bigint NOT NULL, csat_sum bigint,
    csat_1 bigint NOT NULL, csat_2 bigint NOT NULL, csat_3 bigint NOT NULL, csat_4 bigint NOT NULL,
    csat_5 bigint NOT NULL, cost_usd numeric, with_customer_sentiment bigint NOT NULL, calm_end bigint NOT NULL
);
-- ... per day and value of each breakdown (channel, category, priority, product; value NULL: not set) ...
CREATE TABLE IF NOT EXISTS report_days (
    day timestamptz NOT NULL, dim text NOT NULL, value text,
    tickets bigint NOT NULL, resolved bigint NOT NULL, resolved_without_person bigint NOT NULL,
    resolved_by_silence bigint NOT NULL, came_back bigint NOT NULL, reached_person bigint NOT NULL,
    settled bigint NOT NULL, sla_breached bigint NOT NULL,
    hours_sum numeric, hours_n bigint NOT NULL,
    csat_responses bigint NOT NULL, csat_sum bigint,
    csat_1 bigint NOT NULL, csat_2 bigint NOT NULL, csat_3 bigint NOT NULL, csat_4 bigint NOT NULL,
    csat_5 bigint NOT NULL, cost_usd numeric, with_customer_sentiment bigint NOT NULL, calm_end bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS report_days_day ON report_days (day, dim);
-- ... and per day and person (report_agent_facts summed; their first-response hours kept, sorted).
CREATE TABLE IF NOT EXISTS report_agent_days (
    day timestamptz NOT NULL, agent text NOT NULL,
    tickets_handled bigint NOT NULL, replies bigint NOT NULL, resolved bigint NOT NULL,
    first_sum numeric, first_n bigint NOT NULL, first_hours numeric[] NOT NULL,
    csat_sum bigint, csat_n bigint NOT NULL,
    PRIMARY KEY (day, agent)
);

CREATE OR REPLACE FUNCTION report_day_of(at timestamptz) RETURNS timestamptz AS $$
    SELECT date_trunc('day', at, 'UTC')
$$ LANGUAGE sql IMMUTABLE;

CREATE OR REPLACE FUNCTION report_ticket_touched() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO report_stale_days VALUES (report_day_of(OLD.created_at));
        IF OLD.linked_ticket_id IS NOT NULL THEN  -- the ticket it follows up came back (or no longer)
            INSERT INTO report_stale_days SELECT report_day_of(p.created_at) FROM tickets p
            WHERE p.ticket_id = OLD.linked_ticket_id;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO report_stale_days VALUES (report_day_of(NEW.created_at));
        IF NEW.linked_ticket_id IS NOT NULL THEN
            INSERT INTO report_stale_days SELECT report_day_of(p.created_at) FROM tickets p
            WHERE p.ticket_id = NEW.linked_ticket_id;
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- A message or an event changes its ticket's figures (an answer before an auto-resolution, a person's
-- reply or decision) without always changing the ticket row.
CREATE OR REPLACE FUNCTION report_ticket_row_touched() RETURNS trigger AS $$
BEGIN
    INSERT INTO report_stale_days SELECT report_day_of(t.created_at) FROM tickets t
    WHERE t.ticket_id = CASE WHEN TG_OP = 'DELETE' THEN OLD.ticket_id ELSE NEW.ticket_id END;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS tickets_report_rollup ON tickets;
CREATE TRIGGER tickets_report_rollup AFTER INSERT OR DELETE ON tickets
    FOR EACH ROW EXECUTE FUNCTION report_ticket_touched();
DROP TRIGGER IF EXISTS tickets_report_rollup_update ON tickets;
CREATE TRIGGER tickets_report_rollup_update AFTER UPDATE ON tickets
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION report_ticket_touched();
DROP TRIGGER IF EXISTS messages_report_rollup ON messages;
CREATE TRIGGER messages_report_rollup AFTER INSERT OR UPDATE OR DELETE ON messages
    FOR EACH ROW EXECUTE FUNCTION report_ticket_row_touched();
DROP TRIGGER IF EXISTS ticket_events_report_rollup ON ticket_events;
CREATE TRIGGER ticket_events_report_rollup AFTER INSERT OR UPDATE OR DELETE ON ticket_events
    FOR EACH ROW EXECUTE FUNCTION report_ticket_row_touched();

-- Every day already stored is stale until the first refresh computes it (db/report_rollup.py; readers
-- count stale days from the tickets meanwhile).
INSERT INTO report_stale_days SELECT DISTINCT report_day_of(created_at) FROM tickets;
