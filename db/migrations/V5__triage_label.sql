-- V5: the trained model's own label for a ticket (the team's intent, queue or topic) beside its category.
-- Revises: V4. Reason: issue 6. A team trains triage on its own labels; routing maps them to our five
-- categories, and the label itself is what its people recognise in the queue.

ALTER TABLE tickets ADD COLUMN triage_label text;
