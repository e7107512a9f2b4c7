-- V18: tell listeners which ticket changed (NOTIFY ticket_changed, payload: the ticket id).
-- Revises: V17. Reason: the support console (issue 21) updates an open ticket and the queue without a
-- reload; its server-sent events LISTEN here instead of polling. Fired after a ticket row is written, a
-- message or an audit event is stored, or an agent action is recorded or decided. Postgres folds identical
-- notifications of one transaction into one and delivers them at commit, so a rolled-back write tells no one.

CREATE OR REPLACE FUNCTION notify_ticket_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('ticket_changed', NEW.ticket_id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tickets_notify AFTER INSERT OR UPDATE ON tickets
    FOR EACH ROW EXECUTE FUNCTION notify_ticket_changed();
CREATE TRIGGER messages_notify AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION notify_ticket_changed();
CREATE TRIGGER ticket_events_notify AFTER INSERT ON ticket_events
    FOR EACH ROW EXECUTE FUNCTION notify_ticket_changed();
CREATE TRIGGER agent_actions_notify AFTER INSERT OR UPDATE ON agent_actions
    FOR EACH ROW EXECUTE FUNCTION notify_ticket_changed();
