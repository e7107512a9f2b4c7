-- V8: find the tickets opened in a time window.
-- Revises: V7. Reason: the success-metrics report (db.reports, GET /reports/summary) counts the tickets
-- opened in a window; at 1,000+ tickets a day it must not scan the whole table for a week's figures.

CREATE INDEX IF NOT EXISTS tickets_created_at ON tickets (created_at);
