-- V24: the tags in use, counted per tag, for the console's tag filter menu.
-- Revises: V19. Reason: issue 21's benchmark (100,000 tickets): the menu read `SELECT DISTINCT unnest(tags)
-- FROM tickets WHERE tags <> '{}'`, which no index serves (`<>` is not a GIN operator): a scan of every
-- ticket on every queue page (65-120 ms with a third of the tickets tagged). The filter itself
-- (`tags @> ARRAY[$tag]`) stays on V19's GIN index.
--
-- A trigger keeps the count of tickets carrying each tag as tags are set (the `tag` decision, written whole
-- with every snapshot: only a real change counts), and drops a tag no ticket carries any more.

CREATE TABLE IF NOT EXISTS ticket_tag_counts (
    tag text PRIMARY KEY,
    tickets integer NOT NULL
);

CREATE OR REPLACE FUNCTION ticket_tags_counted() RETURNS trigger AS $$
DECLARE
    before text[] := CASE WHEN TG_OP = 'INSERT' THEN '{}'::text[] ELSE OLD.tags END;
    after text[] := CASE WHEN TG_OP = 'DELETE' THEN '{}'::text[] ELSE NEW.tags END;
BEGIN
    -- tags gained, in tag order (two writers take the rows' locks in one order)
    INSERT INTO ticket_tag_counts AS c (tag, tickets)
        SELECT g.tag, 1 FROM (SELECT unnest(after) EXCEPT SELECT unnest(before)) g(tag) ORDER BY g.tag
        ON CONFLICT (tag) DO UPDATE SET tickets = c.tickets + 1;
    -- tags lost
    UPDATE ticket_tag_counts c SET tickets = c.tickets - 1
        FROM (SELECT unnest(before) EXCEPT SELECT unnest(after)) g(tag) WHERE c.tag = g.tag;
    DELETE FROM ticket_tag_counts WHERE tag = ANY(before) AND tickets <= 0;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS tickets_tag_counts_insert ON tickets;
CREATE TRIGGER tickets_tag_counts_insert AFTER INSERT ON tickets
    FOR EACH ROW WHEN (cardinality(NEW.tags) > 0) EXECUTE FUNCTION ticket_tags_counted();
DROP TRIGGER IF EXISTS tickets_tag_counts_delete ON tickets;
CREATE TRIGGER tickets_tag_counts_delete AFTER DELETE ON tickets
    FOR EACH ROW WHEN (cardinality(OLD.tags) > 0) EXECUTE FUNCTION ticket_tags_counted();
DROP TRIGGER IF EXISTS tickets_tag_counts_update ON tickets;
CREATE TRIGGER tickets_tag_counts_update AFTER UPDATE OF tags ON tickets
    FOR EACH ROW WHEN (OLD.tags IS DISTINCT FROM NEW.tags) EXECUTE FUNCTION ticket_tags_counted();

-- The counts of the tickets already stored (also run after a bulk load that skipped the triggers).
CREATE OR REPLACE FUNCTION refresh_ticket_tag_counts() RETURNS void AS $$
    DELETE FROM ticket_tag_counts;
    INSERT INTO ticket_tag_counts (tag, tickets)
        SELECT g.tag, count(*) FROM tickets t CROSS JOIN LATERAL (SELECT DISTINCT unnest(t.tags)) g(tag)
        WHERE t.tags <> '{}' GROUP BY g.tag;
$$ LANGUAGE sql;

SELECT refresh_ticket_tag_counts();
