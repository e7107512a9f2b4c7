-- V4: the product a ticket is about (optional; set by the API caller, e.g. per web form or inbox).
-- Revises: V3. Reason: issue 6. The agents keep their knowledge-base searches to that product's
-- articles and those that name no product; operators list tickets by product.

ALTER TABLE tickets ADD COLUMN product text;

CREATE INDEX tickets_product_idx ON tickets (product, created_at) WHERE product IS NOT NULL;
