-- V22: e-mail bounces on the outbox, and the people on an e-mail ticket's thread besides its customer.
-- Revises: V21. Reason: issue 22. A delivery status notification
-- (multipart/report) for a mail we sent marks its outbox row bounced: SMTP had accepted it (delivered_at
-- is set), the recipient's server gave up later. And people the customer copied on their mail (or who were
-- copied by someone already on the thread) may write into the ticket and get its answers as Cc.

ALTER TABLE customer_outbox ADD COLUMN IF NOT EXISTS bounced_at timestamptz;
ALTER TABLE customer_outbox ADD COLUMN IF NOT EXISTS bounce_reason text;
CREATE INDEX IF NOT EXISTS customer_outbox_bounced ON customer_outbox (bounced_at) WHERE bounced_at IS NOT NULL;

-- Whoever may write into an e-mail ticket besides its customer, and who brought them in.
CREATE TABLE IF NOT EXISTS email_participants (
    ticket_id  text NOT NULL,
    address    text NOT NULL,  -- lower case
    added_by   text NOT NULL,  -- the address whose mail copied them
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticket_id, address)
);
