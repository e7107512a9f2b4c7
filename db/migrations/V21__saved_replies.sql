-- V21: saved replies, and who is viewing a ticket in the console.
-- Revises: V20. Reason: the console's reply box (issue 21) inserts a team's saved replies, with
-- placeholders filled from the ticket (domain/saved_replies.py); `/saved-replies` manages them.
-- `ticket_viewers` is the console's presence: each open ticket page beats every few seconds, a row
-- older than the expiry is nobody. A viewer arriving or leaving is announced on NOTIFY `ticket_viewers`
-- (payload: the ticket id; db/viewers.py) so the other pages showing that ticket update their "also viewing" at once.

CREATE TABLE saved_replies (
    reply_id   bigserial PRIMARY KEY,
    title      text NOT NULL,
    body       text NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX saved_replies_title_idx ON saved_replies (lower(title));

CREATE UNLOGGED TABLE ticket_viewers (
    ticket_id text NOT NULL,
    agent_id  text NOT NULL,
    seen_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticket_id, agent_id)
);
