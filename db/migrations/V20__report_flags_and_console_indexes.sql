-- V20: what the success-metrics report needs of a ticket's events and messages, kept on the ticket row;
-- indexes for the console's queue views and filter lists.
-- Revises: V18. Reason: issue 21's benchmark (100,000 tickets, `supportctl bench console`): the report
-- read each window ticket's events and messages again on every request (six correlated look-ups per
-- ticket, some planned as hashes of every person event and human message in the store), about a
-- second for a month; the queue views scanned every ticket for the few hundred open ones.
--
-- The flags only ever turn on, or follow the latest row, so the triggers keep them as rows arrive
-- (events and messages are only inserted; erasure blanks text, never kinds, senders or sentiments).
-- db/reports.py says what each one means; PERSON_EVENTS there lists the kinds of `report_person_event`.

ALTER TABLE tickets
    ADD COLUMN IF NOT EXISTS report_person_event   boolean NOT NULL DEFAULT false,  -- handed over or a person decided
    ADD COLUMN IF NOT EXISTS report_handover_at    timestamptz,  -- the first hand-over (escalated, an SLA breach)
    ADD COLUMN IF NOT EXISTS report_human_message  boolean NOT NULL DEFAULT false,  -- a person wrote to the customer
    ADD COLUMN IF NOT EXISTS report_ended          boolean NOT NULL DEFAULT false,  -- closed by reconcile, unresolved
    ADD COLUMN IF NOT EXISTS report_reopened       boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS report_resolved_event timestamptz,  -- the latest `resolved` event: when, its key,
    ADD COLUMN IF NOT EXISTS report_resolved_key   text,         -- and whether the workflow wrote it (silence)
    ADD COLUMN IF NOT EXISTS report_by_silence     boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS report_sentiment_seq  integer,      -- the customer's latest message with a sentiment
    ADD COLUMN IF NOT EXISTS report_last_sentiment text;

CREATE OR REPLACE FUNCTION ticket_report_event() RETURNS trigger AS $$
BEGIN
    IF NEW.kind IN ('escalated', 'status:escalated', 'human_replied', 'reassigned', 'handed_back',
                    'action_approved', 'action_rejected')
       OR NEW.kind LIKE 'sla\_breach:%'
       OR NEW.kind = 'priority_changed' AND NEW.actor IS DISTINCT FROM 'system' THEN
        IF NEW.kind IN ('escalated', 'status:escalated') OR NEW.kind LIKE 'sla\_breach:%' THEN
            UPDATE tickets SET report_person_event = true,
                report_handover_at = least(coalesce(report_handover_at, NEW.created_at), NEW.created_at)
            WHERE ticket_id = NEW.ticket_id AND (report_handover_at IS NULL OR NEW.created_at < report_handover_at);
        ELSE
            UPDATE tickets SET report_person_event = true WHERE ticket_id = NEW.ticket_id AND NOT report_person_event;
        END IF;
    ELSIF NEW.kind = 'workflow_ended' AND NEW.data->>'previous_status' IS DISTINCT FROM 'resolved' THEN
        UPDATE tickets SET report_ended = true WHERE ticket_id = NEW.ticket_id AND NOT report_ended;
    ELSIF NEW.kind = 'reopened' THEN
        UPDATE tickets SET report_reopened = true WHERE ticket_id = NEW.ticket_id AND NOT report_reopened;
    ELSIF NEW.kind = 'resolved' THEN
        UPDATE tickets
        SET report_resolved_event = NEW.created_at, report_resolved_key = NEW.event_key,
            report_by_silence = coalesce(NEW.actor = 'system', false)
        WHERE ticket_id = NEW.ticket_id AND (report_resolved_event IS NULL
            OR (NEW.created_at, NEW.event_key) > (report_resolved_event, report_resolved_key));
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION ticket_report_message() RETURNS trigger AS $$
BEGIN
    IF NEW.sender = 'human' THEN
        UPDATE tickets SET report_human_message = true WHERE ticket_id = NEW.ticket_id AND NOT report_human_message;
    ELSIF NEW.sender = 'customer' AND NEW.sentiment IS NOT NULL THEN
        UPDATE tickets SET report_sentiment_seq = NEW.seq, report_last_sentiment = NEW.sentiment
        WHERE ticket_id = NEW.ticket_id AND (report_sentiment_seq IS NULL OR NEW.seq > report_sentiment_seq);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS ticket_events_report ON ticket_events;
CREATE TRIGGER ticket_events_report AFTER INSERT ON ticket_events
    FOR EACH ROW EXECUTE FUNCTION ticket_report_event();
DROP TRIGGER IF EXISTS messages_report ON messages;
CREATE TRIGGER messages_report AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION ticket_report_message();

-- The flags of tickets already stored (also run after a bulk load that skipped the triggers).
CREATE OR REPLACE FUNCTION refresh_ticket_report_flags() RETURNS void AS $$
    UPDATE tickets t SET
        report_person_event = coalesce(ev.person_event, false),
        report_handover_at = ev.handover_at,
        report_ended = coalesce(ev.ended, false),
        report_reopened = coalesce(ev.reopened, false),
        report_resolved_event = ev.resolved_event,
        report_resolved_key = ev.resolved_key,
        report_by_silence = coalesce(ev.by_silence, false),
        report_human_message = coalesce(ms.human_message, false),
        report_sentiment_seq = ms.sentiment_seq,
        report_last_sentiment = ms.last_sentiment
    FROM tickets t0
    LEFT JOIN LATERAL (
        SELECT
            bool_or(e.kind IN ('escalated', 'status:escalated', 'human_replied', 'reassigned', 'handed_back',
                               'action_approved', 'action_rejected')
                    OR e.kind LIKE 'sla\_breach:%'
                    OR e.kind = 'priority_changed' AND e.actor IS DISTINCT FROM 'system') AS person_event,
            min(e.created_at) FILTER (WHERE e.kind IN ('escalated', 'status:escalated')
                OR e.kind LIKE 'sla\_breach:%') AS handover_at,
            bool_or(e.kind = 'workflow_ended' AND e.data->>'previous_status' IS DISTINCT FROM 'resolved') AS ended,
            bool_or(e.kind = 'reopened') AS reopened,
            (array_agg(e.created_at ORDER BY e.created_at DESC, e.event_key DESC)
                FILTER (WHERE e.kind = 'resolved'))[1] AS resolved_event,
            (array_agg(e.event_key ORDER BY e.created_at DESC, e.event_key DESC)
                FILTER (WHERE e.kind = 'resolved'))[1] AS resolved_key,
            (array_agg(coalesce(e.actor = 'system', false) ORDER BY e.created_at DESC, e.event_key DESC)
                FILTER (WHERE e.kind = 'resolved'))[1] AS by_silence
        FROM ticket_events e WHERE e.ticket_id = t0.ticket_id
    ) ev ON true
    LEFT JOIN LATERAL (
        SELECT
            bool_or(m.sender = 'human') AS human_message,
            max(m.seq) FILTER (WHERE m.sender = 'customer' AND m.sentiment IS NOT NULL) AS sentiment_seq,
            (array_agg(m.sentiment ORDER BY m.seq DESC)
                FILTER (WHERE m.sender = 'customer' AND m.sentiment IS NOT NULL))[1] AS last_sentiment
        FROM messages m WHERE m.ticket_id = t0.ticket_id
    ) ms ON true
    WHERE t.ticket_id = t0.ticket_id;
$$ LANGUAGE sql;

SELECT refresh_ticket_report_flags();

-- The queue's views all look at open tickets (a few hundred of 100,000): Mine, Unassigned, Waiting for
-- approval and Breaching read this index instead of the table.
CREATE INDEX IF NOT EXISTS tickets_open ON tickets (created_at)
    WHERE status NOT IN ('resolved', 'closed');
-- The filters' choices (every category and channel in the store) are read as a skip scan of these.
CREATE INDEX IF NOT EXISTS tickets_category ON tickets (category, created_at);
CREATE INDEX IF NOT EXISTS tickets_channel ON tickets (channel, created_at);
