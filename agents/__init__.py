"""The AutoGen side of Lumora support: six roles, their prompts and tools, and the model-client factory.

It owns one agent turn for one ticket (`agents.team.run_turn`), the tools the agents call (KB search,
customer lookup, refunds and credits through the action ledger, bug reports, the code sandbox), the
guardrails around them, token and cost accounting, and `agents.model_client.build_model_client`,
which builds the client for the configured provider (what the operator declares about the model:
`agents.model_settings`; unusable answers and their repair: `agents.model_failures`; server quirks:
`agents.server_quirks`). The built-in offline model lives in
`agents.offline`; only the factory (`agents.model_client`) imports it.

It must not import Temporal, the workflows or activities that call it, `kb`, `db`, `api` or
`settings`: everything a turn needs arrives as arguments (a `domain.turns.TurnRequest`, a model
client, a KB-search callable, a ledger), and nothing here keeps state between calls. It imports
only `domain`, AutoGen and the standard library; the one exception is the offline model, which ranks
answer sentences with the process's shared sentence encoder (`kb.embeddings`).
"""
