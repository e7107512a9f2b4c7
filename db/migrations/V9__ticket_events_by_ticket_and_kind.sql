-- V9: a ticket's audit events by kind, read from the index alone.
-- Revises: V8. Reason: the success-metrics report (db.reports) asks, for each ticket opened in its window,
-- whether any of its events is a hand-over or a person's decision. Through the primary key (ticket_id,
-- event_key) each answer reads the event rows from the heap (a ticket's events lie on as many pages as
-- it has events: they are written over its life), so the planner rather hashed every matching event of
-- the whole history (a full scan of ticket_events, JIT-compiled): ~1 s for a week of 1,000 tickets a day,
-- ~4.7 s for a year, growing with the table. With this index each ticket's answer comes from the index
-- alone (ticket_events is append-only: its pages stay all-visible): a week ~0.1-0.2 s, 30 days ~0.37 s.
-- The build blocks writes to ticket_events while it runs (~2 s per 3 million events here).

CREATE INDEX IF NOT EXISTS ticket_events_ticket_kind ON ticket_events (ticket_id, kind);
