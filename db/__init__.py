"""PostgreSQL: the CRM and the ticket store, as typed queries over asyncpg.

What it owns: the numbered SQL migrations (``migrations/V<n>__*.sql``) and their runner (``migrate``),
the pool (``pool``), and the queries per table group: tickets, messages, events and notifications
(``tickets``), customers (``customers``), the refund / credit ledger and bug reports (``actions``),
decision request ids (``decisions``), the customer outbox (``outbox``), the success-metrics counts
(``reports``), the live gauges of ``GET /metrics`` (``live``), the per-customer limits' counts
(``limits``), erasure (``erasure``, which also deletes the erased customer's closed workflow
histories through a Temporal client it is given) and the live reply drafts (``drafts``: NOTIFY and
LISTEN on a channel per ticket, nothing stored).

What it may import: ``domain`` (models and pure rules), asyncpg, pydantic, ``codec.keys`` in
``data_keys`` (customers' data keys are stored sealed by the payload codec's master keys) and, in
``erasure`` only, the Temporal client and the codec (to forget the erased customer's cached key). It
must not import ``api`` (the API imports ``db``, never the reverse), nor ``workflows``,
``activities``, ``agents``, ``kb``, ``triage``, ``supportctl``, ``bench``, ``evals``,
``worker``, ``clients`` or ``settings``: a caller passes the pool or connection and the DSN. The one
type the workflow takes from here is ``db.tickets.TicketSnapshot`` (see ``workflows/__init__.py``).
"""
