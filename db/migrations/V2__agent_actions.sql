-- V2: the agents' ledger of account actions (refunds, credits) and their engineering bug reports.
-- Revises: V1 / Reason: issue 5 (agent tools). Both tables are keyed by ids the agents derive
-- deterministically (ticket + amount + reference for actions, ticket + turn for bug reports), so a
-- retried agent turn or a re-delivered approval writes each row once.

CREATE TABLE agent_actions (
    request_id    text PRIMARY KEY,
    ticket_id     text NOT NULL REFERENCES tickets (ticket_id),
    kind          text NOT NULL CHECK (kind IN ('refund', 'credit')),
    amount_usd    numeric(12, 2) NOT NULL CHECK (amount_usd > 0),
    reason        text NOT NULL,
    reference     text,
    -- pending_approval: above the agent's authority, held by the workflow for a human.
    status        text NOT NULL CHECK (status IN ('pending_approval', 'executed', 'rejected')),
    -- agent: carried out within the agent's own limit; human: approved by a person.
    authority     text CHECK (authority IN ('agent', 'human')),
    requested_by  text NOT NULL,
    decided_by    text,
    decision_note text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    decided_at    timestamptz,
    CHECK ((status = 'pending_approval') = (decided_at IS NULL))
);
CREATE INDEX agent_actions_ticket_idx ON agent_actions (ticket_id, status);

CREATE TABLE bug_reports (
    report_id    text PRIMARY KEY,
    ticket_id    text NOT NULL REFERENCES tickets (ticket_id),
    title        text NOT NULL,
    details      text NOT NULL,
    severity     text NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    reported_by  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bug_reports_ticket_idx ON bug_reports (ticket_id);
