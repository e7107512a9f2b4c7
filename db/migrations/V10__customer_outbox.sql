-- V10: the customer outbox: every message to a customer, waiting to be delivered to their channel.
-- Revises: V9. Reason: replies, reminders and the survey were written to `messages` and never left the
-- system; a channel integration would have had to poll every open ticket. The store writes a row here
-- in the same transaction as the message (keyed like it, so a retried activity writes it once), and the
-- worker's dispatcher (activities/outbox.py) POSTs it to CUSTOMER_WEBHOOK_URL. Messages stored before
-- this migration are not copied in: they were shown in the API all along and must not be re-sent now.

CREATE TABLE IF NOT EXISTS customer_outbox (
    ticket_id        text NOT NULL,
    seq              integer NOT NULL,
    channel          text NOT NULL,
    customer_id      text NOT NULL,
    customer_email   text,
    sender           text NOT NULL CHECK (sender IN ('agent', 'human', 'system')),
    author           text NOT NULL,
    body             text NOT NULL,
    created_at       timestamptz NOT NULL,
    delivered_at     timestamptz,
    attempts         integer NOT NULL DEFAULT 0,
    last_error       text,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticket_id, seq),
    FOREIGN KEY (ticket_id, seq) REFERENCES messages (ticket_id, seq) ON DELETE CASCADE
);
-- What the dispatcher scans: only rows still to deliver, so the index stays small as the table grows.
CREATE INDEX IF NOT EXISTS customer_outbox_due ON customer_outbox (next_attempt_at) WHERE delivered_at IS NULL;
