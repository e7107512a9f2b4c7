-- V12: find a customer by e-mail, whatever its case.
-- Revises: V11. Reason: tickets by e-mail (`customer_email`), `GET /customers?email=`, the import's
-- check of who holds an address and AUTO_CREATE_CUSTOMERS all look customers up by lower(email); the
-- unique index on email does not serve that, so each lookup read the whole table.

CREATE INDEX IF NOT EXISTS customers_lower_email ON customers (lower(email));
