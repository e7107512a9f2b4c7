-- V17: signed webhooks: ticket events in commit order, a cursor per endpoint, and the delivery log.
-- Revises: V16. Reason: issue 22. Ticket events (opened, replied, handed over, SLA, resolved, CSAT) are
-- POSTed to EVENT_WEBHOOK_URL, and every webhook we send (events, staff notifications, customer messages)
-- is recorded where an operator can read it and send it again.
--
-- ticket_event_feed numbers every ticket event as it is inserted (a trigger, so every writer of
-- ticket_events is covered and a retried insert that changes nothing adds nothing) with the id of the
-- transaction that wrote it. A dispatcher reads it by (txid, event_id) and only below the oldest
-- transaction still running, so an event committed late by a slow transaction is never skipped by a
-- cursor that already moved past a younger one. It starts empty: events before this migration are
-- history, not news, and are not sent.

CREATE TABLE IF NOT EXISTS ticket_event_feed (
    event_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid       bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    ticket_id  text NOT NULL,
    event_key  text NOT NULL,
    FOREIGN KEY (ticket_id, event_key) REFERENCES ticket_events (ticket_id, event_key) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ticket_event_feed_order ON ticket_event_feed (txid, event_id);

CREATE OR REPLACE FUNCTION ticket_event_feed_append() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ticket_event_feed (ticket_id, event_key) VALUES (NEW.ticket_id, NEW.event_key);
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS ticket_event_feed_append ON ticket_events;
CREATE TRIGGER ticket_event_feed_append AFTER INSERT ON ticket_events
    FOR EACH ROW EXECUTE FUNCTION ticket_event_feed_append();

-- How far each event endpoint has read the feed (made at its first dispatch, at the feed's end).
CREATE TABLE IF NOT EXISTS webhook_cursors (
    endpoint    text PRIMARY KEY,
    txid        bigint NOT NULL,
    event_id    bigint NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Every webhook sent, one row per (endpoint, webhook-id): its payload, where it stands, why.
-- stream 'event' rows are queued here (state 'pending' until a 2xx, retried with backoff); the
-- 'notification' and 'customer' streams are sent by their own outboxes and recorded here after each
-- try. Any row an operator replays becomes 'pending' again and is sent by the event dispatcher under the
-- same webhook-id with a fresh timestamp and signature.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    delivery_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id       text NOT NULL,
    stream           text NOT NULL CHECK (stream IN ('event', 'notification', 'customer')),
    endpoint         text NOT NULL,
    event_type       text NOT NULL,
    ticket_id        text REFERENCES tickets (ticket_id) ON DELETE CASCADE,
    payload          jsonb NOT NULL,
    state            text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'refused')),
    attempts         integer NOT NULL DEFAULT 0,
    last_status      integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    replayed_at      timestamptz,
    UNIQUE (endpoint, webhook_id)
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (endpoint, delivery_id)
    WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_ticket ON webhook_deliveries (ticket_id, delivery_id);
