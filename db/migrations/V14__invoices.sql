-- V14: the customers' invoices (charges), so refunds are checked against what was really charged.
-- Revises: V13. Reason: issue 19 ("policy in code"): a refund must name an invoice of this customer,
-- charged within the refund window, for no more than the charge minus what was already refunded. The
-- agents' refunds stay in agent_actions (reference = invoice_id); `refunded_usd` is what billing refunded
-- outside the agents. No personal data here (ids, amounts, dates, a plan description): the erasure of
-- a customer keeps these rows whole, like the ledger.

CREATE TABLE IF NOT EXISTS invoices (
    invoice_id    text PRIMARY KEY CHECK (invoice_id = upper(invoice_id) AND invoice_id !~ '\s'),
    customer_id   text NOT NULL REFERENCES customers (customer_id),
    amount_usd    numeric(12, 2) NOT NULL CHECK (amount_usd > 0),
    currency      text NOT NULL DEFAULT 'USD' CHECK (currency = 'USD'),
    description   text NOT NULL DEFAULT '',
    status        text NOT NULL DEFAULT 'paid' CHECK (status IN ('paid', 'open', 'failed')),
    charged_at    timestamptz NOT NULL,
    refunded_usd  numeric(12, 2) NOT NULL DEFAULT 0 CHECK (refunded_usd >= 0 AND refunded_usd <= amount_usd)
);
CREATE INDEX IF NOT EXISTS invoices_customer_idx ON invoices (customer_id, charged_at DESC);
-- What the agents already refunded (or asked a manager to refund) on an invoice.
CREATE INDEX IF NOT EXISTS agent_actions_reference_idx ON agent_actions (reference) WHERE reference IS NOT NULL;
