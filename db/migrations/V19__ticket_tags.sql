-- V19: a ticket's tags, set by people (the `tag` decision), for filtering the queue and the ticket list.
-- Revises: V18. Reason: the console's tags and re-categorising (issue 21). The workflow holds the tags
-- (TicketState.tags) and writes them whole with every snapshot (db.tickets.sync_ticket), like the category;
-- rows written before keep the empty default. The filters ask `tags @> ARRAY[$tag]`, which this GIN index
-- answers. Adding a column with a constant default rewrites nothing (PostgreSQL 11+); the index build blocks
-- writes to tickets while it runs.

ALTER TABLE tickets ADD COLUMN IF NOT EXISTS tags text[] NOT NULL DEFAULT '{}';
CREATE INDEX IF NOT EXISTS tickets_tags ON tickets USING gin (tags);
