-- V15: per-customer data keys for the payload codec (crypto-shredding) and which customer each ticket
-- workflow belongs to.
-- Revises: V14. Reason: every Temporal payload of a ticket (inputs, results, signals, updates, queries,
-- memo, user metadata, failure messages) is encrypted with its customer's data key (codec/). The key is
-- kept here only, wrapped (AES-GCM) by a master key from PAYLOAD_KEYS; erasing the customer deletes the
-- row, and every copy of their histories (Temporal, its archives, backups, exports) becomes unreadable.
-- workflow_customers is written by the Temporal client before a ticket's workflow starts (clients.py), so
-- the codec knows the customer from the workflow id alone; it holds ids only and outlives the key.

CREATE TABLE IF NOT EXISTS customer_data_keys (
    key_id         text PRIMARY KEY,            -- opaque ("cdk_<hex>"), the id written in each payload
    customer_id    text NOT NULL UNIQUE,        -- one live key per customer; erasure deletes it
    wrapped_key    bytea NOT NULL,              -- nonce || AES-GCM(master key, data key), AAD = key_id
    master_key_id  text NOT NULL,               -- which PAYLOAD_KEYS entry wraps it (rotation)
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS workflow_customers (
    workflow_id  text PRIMARY KEY,
    customer_id  text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS workflow_customers_customer_idx ON workflow_customers (customer_id);
