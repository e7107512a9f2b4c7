-- V13: the record of each customer erased on request (the right to be forgotten).
-- Revises: V12. Reason: `supportctl customers erase` and `DELETE /customers/{id}` overwrite every text
-- the customer wrote or that quotes them, and delete their ticket workflows from Temporal; what is left
-- to show it was done (and by whom) is this row: no text, only counts. The customer's row itself is kept
-- (anonymised) so the ledger of refunds and credits and the ticket counts stay consistent.

CREATE TABLE IF NOT EXISTS customer_erasures (
    customer_id        text NOT NULL REFERENCES customers (customer_id),
    erased_at          timestamptz NOT NULL DEFAULT now(),
    actor              text NOT NULL,
    tickets            integer NOT NULL,
    messages           integer NOT NULL,
    workflows_deleted  integer NOT NULL,
    PRIMARY KEY (customer_id, erased_at)
);
