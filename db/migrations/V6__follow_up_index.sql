-- V6: find a closed ticket's follow-ups.
-- Revises: V5. Reason: a second customer message to a closed ticket opened a second follow-up ticket;
-- the API now looks for an open follow-up first (db.tickets.open_follow_up), by this index.

CREATE INDEX IF NOT EXISTS tickets_linked_ticket_id ON tickets (linked_ticket_id, created_at DESC)
    WHERE linked_ticket_id IS NOT NULL;
