-- V11: a message the customer's channel refuses for good is set aside, not retried for ever.
-- Revises: V10. Reason: a gateway that answers a permanent 4xx (an address it cannot deliver to, a
-- payload it rejects) had the message retried every few minutes without end, holding back every later
-- message of the ticket. Such a row now gets `refused_at` and leaves the queue (later messages go on);
-- `supportctl outbox retry` puts refused rows back once the cause is fixed.

ALTER TABLE customer_outbox ADD COLUMN IF NOT EXISTS refused_at timestamptz;
DROP INDEX IF EXISTS customer_outbox_due;
CREATE INDEX IF NOT EXISTS customer_outbox_due ON customer_outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND refused_at IS NULL;
