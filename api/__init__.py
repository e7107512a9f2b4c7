"""The HTTP API: FastAPI routes over tickets, customers, human agents' decisions, reports and metrics.

It owns the request and response bodies (`schemas`), errors as `{"error": {"code", "message"}}`
(`errors`), authentication (`auth`), the per-customer limits (`limits`) and the ticket service
(`service/`: ticket and workflow ids, starting and asking a ticket's workflow, decisions) that the
routes (`routes/`) and the benchmarks share. A ticket's work happens in its Temporal workflow: the API
starts, signals, updates and queries it, and reads the ticket store (db/).

It never runs agents: it must not import `agents`, `activities`, `kb` or `triage`, nor a model client,
and imports `workflows` only for the typed workflows (TicketWorkflow; ArticleSearchWorkflow, the console's
help-article search), their inputs, state and search attributes. `db` must not import
the API; `api.service` must not import a router.
"""
