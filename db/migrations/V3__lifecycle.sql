-- V3: the full ticket lifecycle (SLA clocks, human ownership, CSAT, cost) and outbound notifications.
-- Revises: V2. Reason: issue 4. The workflow writes a whole snapshot of the ticket's mutable fields
-- with a version number; an older snapshot arriving late (a retried activity) never overwrites a newer.

ALTER TABLE tickets
    ADD COLUMN owner               text NOT NULL DEFAULT 'agents',
    ADD COLUMN assigned_human      text,
    ADD COLUMN sla_breached        boolean NOT NULL DEFAULT false,
    ADD COLUMN next_reply_due      timestamptz,
    ADD COLUMN csat_score          smallint CHECK (csat_score BETWEEN 1 AND 5),
    ADD COLUMN csat_comment        text,
    ADD COLUMN linked_ticket_id    text,
    ADD COLUMN prompt_tokens       integer NOT NULL DEFAULT 0,
    ADD COLUMN completion_tokens   integer NOT NULL DEFAULT 0,
    ADD COLUMN cost_usd            numeric(12, 6) NOT NULL DEFAULT 0,
    ADD COLUMN state_version       bigint NOT NULL DEFAULT 0;

CREATE INDEX tickets_queue_idx ON tickets (owner, status, resolution_due);

ALTER TABLE ticket_events ADD COLUMN actor text;

CREATE TABLE notifications (
    notification_key  text PRIMARY KEY,
    ticket_id         text NOT NULL REFERENCES tickets (ticket_id) ON DELETE CASCADE,
    kind              text NOT NULL,
    payload           jsonb NOT NULL,
    created_at        timestamptz NOT NULL,
    delivered_at      timestamptz,
    attempts          integer NOT NULL DEFAULT 0
);
CREATE INDEX notifications_ticket_idx ON notifications (ticket_id, created_at);
