-- V7: which decision each request_id of a ticket was sent for.
-- Revises: V6. Reason: a request_id repeated with a different decision (a resolve sent under a reply's
-- id) was answered 200 with the first decision's answer, so the agent was told it applied when nothing
-- did. The API claims the id for the decision's fingerprint here and refuses another decision under it.

CREATE TABLE IF NOT EXISTS decision_requests (
    ticket_id   text NOT NULL,
    request_id  text NOT NULL,
    fingerprint text NOT NULL,
    kind        text NOT NULL,
    agent_id    text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticket_id, request_id)
);
