-- V16: the e-mail channel's state (channels/email, db/email.py).
-- Revises: V15. Reason: e-mail in and out needs what the ticket store does not keep: which Message-IDs
-- belong to which ticket (ours, recorded before sending, and the customer's), each ticket's reply-address
-- token, every inbound mail's outcome (so a mail delivered twice, by IMAP and by the endpoint, is taken
-- once), attachments by reference, and how far the IMAP poller has read each mailbox.

-- Every Message-ID of a ticket's thread: ours ('out', one per outbox message, recorded before it is
-- sent so a retry reuses it) and the customer's ('in'). A reply joins a ticket through these.
CREATE TABLE IF NOT EXISTS email_messages (
    message_id      text PRIMARY KEY,
    ticket_id       text NOT NULL,
    direction       text NOT NULL CHECK (direction IN ('in', 'out')),
    customer_email  text NOT NULL,
    seq             integer,
    automatic       boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS email_messages_out ON email_messages (ticket_id, seq) WHERE direction = 'out';
CREATE INDEX IF NOT EXISTS email_messages_ticket ON email_messages (ticket_id, created_at);
CREATE INDEX IF NOT EXISTS email_messages_auto ON email_messages (lower(customer_email), sent_at)
    WHERE direction = 'out' AND automatic;

-- One row per e-mail ticket: its reply-address token (support+<token>@…) and the thread's subject.
CREATE TABLE IF NOT EXISTS email_threads (
    ticket_id       text PRIMARY KEY,
    token           text NOT NULL UNIQUE,
    customer_email  text NOT NULL,
    subject         text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Every inbound mail once, by Message-ID (a synthetic one from the raw bytes when it has none).
CREATE TABLE IF NOT EXISTS email_inbound (
    message_id   text PRIMARY KEY,
    source       text NOT NULL,
    sender       text,
    subject      text,
    outcome      text NOT NULL,
    reason       text,
    ticket_id    text,
    raw_path     text,
    received_at  timestamptz NOT NULL DEFAULT now()
);

-- Attachments by reference: the file lives under DATA_DIR (by content hash), never in the history.
CREATE TABLE IF NOT EXISTS email_attachments (
    message_id    text NOT NULL,
    idx           integer NOT NULL,
    filename      text NOT NULL,
    content_type  text NOT NULL,
    size_bytes    bigint NOT NULL,
    sha256        text NOT NULL,
    stored_path   text,
    PRIMARY KEY (message_id, idx)
);

-- How far the IMAP poller has read a mailbox: UIDs are only comparable under one UIDVALIDITY.
CREATE TABLE IF NOT EXISTS email_imap_state (
    mailbox      text PRIMARY KEY,
    uidvalidity  bigint NOT NULL,
    last_uid     bigint NOT NULL DEFAULT 0,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
