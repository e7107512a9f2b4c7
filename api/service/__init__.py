"""The ticket service: what the HTTP routes, the human-agent decisions and the benchmarks share.

It owns the rules between a request and a ticket's workflow: ticket ids and the workflow id each one
runs under (`ids`), how a Temporal RPC failure becomes an API error (`rpc`), opening a ticket and
delivering a customer message (`tickets`), sending a human decision or a CSAT score (`decisions`),
and the reads that several routes shape alike (`views`). It raises `api.errors.ApiError`, never an
HTTP response, and imports no FastAPI router: routes import it, never the reverse.
"""
