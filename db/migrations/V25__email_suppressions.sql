-- V25: addresses we stop mailing after a hard bounce, and outbox rows held back because of one.
-- Revises: V22. Reason: issue 22's follow-up. A delivery report whose recipient failed permanently
-- (status 5.x.x) puts that address here; the SMTP sender then sets aside every later mail to it (the
-- outbox row refused, with `suppressed_at` and the reason) instead of bouncing again and again, which
-- hurts the sending domain's reputation. The row goes when the address writes to us again or an admin
-- clears it (`supportctl outbox unsuppress`). Soft bounces (4.x.x) and delays never put an address here.

CREATE TABLE IF NOT EXISTS email_suppressions (
    address       text PRIMARY KEY,  -- lower case
    status        text NOT NULL,     -- the report's status, e.g. 5.1.1
    reason        text NOT NULL,     -- the report's summary (recipient, status, the remote server's words)
    ticket_id     text NOT NULL,     -- the bounced mail: ticket and outbox seq
    seq           integer NOT NULL,
    suppressed_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE customer_outbox ADD COLUMN IF NOT EXISTS suppressed_at timestamptz;
ALTER TABLE customer_outbox ADD COLUMN IF NOT EXISTS suppress_reason text;
