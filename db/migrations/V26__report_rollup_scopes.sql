-- V26: the report's rollup also per channel and per product, so a dashboard of one channel or one product
-- reads rollup rows too instead of counting its window's tickets.
-- Revises: V23. Reason: issue 21's benchmark (100,000 tickets): 30 days of chat counted ~1,600 tickets and
-- their conversations on every request (p95 97-133 ms on a quiet machine, 608 ms under load).
--
-- Every rollup row gets a scope: ('', '') the whole store (the rows V23 wrote), ('channel', <channel>) the
-- tickets of one channel, ('product', <product>) those of one product (a ticket without a product has no
-- product row). A ticket is summed into three scopes (two without a product), so the tables about triple;
-- a report of both a channel and a product still counts its tickets (db/reports.py).
--
-- The rows V23 wrote are the scope ('', ''), which the column defaults give them; every day is marked stale
-- so the next refreshes (the worker's, in the background, or `supportctl reports rebuild`) write the other
-- scopes; until then readers count stale days from the tickets, exactly as before.

ALTER TABLE report_hours ADD COLUMN IF NOT EXISTS scope text NOT NULL DEFAULT '';
ALTER TABLE report_hours ADD COLUMN IF NOT EXISTS scope_value text NOT NULL DEFAULT '';
ALTER TABLE report_hours DROP CONSTRAINT IF EXISTS report_hours_pkey;
ALTER TABLE report_hours ADD PRIMARY KEY (scope, scope_value, hour);

ALTER TABLE report_days ADD COLUMN IF NOT EXISTS scope text NOT NULL DEFAULT '';
ALTER TABLE report_days ADD COLUMN IF NOT EXISTS scope_value text NOT NULL DEFAULT '';
DROP INDEX IF EXISTS report_days_day;
CREATE INDEX IF NOT EXISTS report_days_scope_day ON report_days (scope, scope_value, day, dim);
CREATE INDEX IF NOT EXISTS report_days_day ON report_days (day);  -- the refresh deletes whole days

ALTER TABLE report_agent_days ADD COLUMN IF NOT EXISTS scope text NOT NULL DEFAULT '';
ALTER TABLE report_agent_days ADD COLUMN IF NOT EXISTS scope_value text NOT NULL DEFAULT '';
ALTER TABLE report_agent_days DROP CONSTRAINT IF EXISTS report_agent_days_pkey;
ALTER TABLE report_agent_days ADD PRIMARY KEY (scope, scope_value, day, agent);
CREATE INDEX IF NOT EXISTS report_agent_days_day ON report_agent_days (day);
CREATE INDEX IF NOT EXISTS report_hours_hour ON report_hours (hour);

INSERT INTO report_stale_days SELECT DISTINCT report_day_of(created_at) FROM tickets;
