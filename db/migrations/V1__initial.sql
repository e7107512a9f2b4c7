-- V1: the CRM (customers) and the ticket store (tickets, messages, events).
-- Reason: first schema. Every row an activity writes has a natural key, so a retried activity
-- writes nothing twice (INSERT ... ON CONFLICT DO NOTHING / idempotent UPDATE).

CREATE TABLE customers (
    customer_id     text PRIMARY KEY,
    email           text NOT NULL UNIQUE,
    name            text NOT NULL,
    company         text,
    plan            text NOT NULL CHECK (plan IN ('free', 'starter', 'pro', 'enterprise')),
    is_vip          boolean NOT NULL DEFAULT false,
    lifetime_value  numeric(12, 2) NOT NULL DEFAULT 0 CHECK (lifetime_value >= 0),
    ticket_count    integer NOT NULL DEFAULT 0 CHECK (ticket_count >= 0),
    average_csat    numeric(3, 2) CHECK (average_csat BETWEEN 1 AND 5),
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tickets (
    ticket_id           text PRIMARY KEY,
    workflow_id         text NOT NULL UNIQUE,
    customer_id         text NOT NULL REFERENCES customers (customer_id),
    channel             text NOT NULL,
    subject             text NOT NULL,
    status              text NOT NULL,
    category            text,
    priority            text,
    sentiment           text,
    escalated           boolean NOT NULL DEFAULT false,
    escalation_reason   text,
    assigned_agent      text,
    created_at          timestamptz NOT NULL,
    first_response_at   timestamptz,
    first_response_due  timestamptz,
    resolution_due      timestamptz,
    resolved_at         timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tickets_customer_idx ON tickets (customer_id);
CREATE INDEX tickets_status_idx ON tickets (status, priority);

CREATE TABLE messages (
    ticket_id    text NOT NULL REFERENCES tickets (ticket_id) ON DELETE CASCADE,
    seq          integer NOT NULL,
    sender       text NOT NULL CHECK (sender IN ('customer', 'agent', 'human', 'system')),
    author       text NOT NULL,
    body         text NOT NULL,
    sentiment    text,
    citations    jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, seq)
);

CREATE TABLE ticket_events (
    ticket_id    text NOT NULL REFERENCES tickets (ticket_id) ON DELETE CASCADE,
    event_key    text NOT NULL,
    kind         text NOT NULL,
    data         jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (ticket_id, event_key)
);
CREATE INDEX ticket_events_kind_idx ON ticket_events (kind, created_at);
