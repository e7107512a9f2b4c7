"""End-to-end evaluation of the support system on tickets written as customers write them.

`evals.tickets` reads a JSONL ticket file (one ticket and what a support lead expects of it per line),
pushes every ticket through the HTTP API and collects what became of it; `evals.grading` holds the
pure functions that grade those outcomes (decision, category, cited articles, facts in the agents' own
words, policy violations) and sum them up. `supportctl eval tickets` is the command line over both;
`evals/sets/tickets_dev.jsonl` is the dev set.
"""
