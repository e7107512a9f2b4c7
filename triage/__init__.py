"""Triage: what a ticket is about and how its customer feels.

Owns the classifier a support team trains on its own labelled tickets (``classifier``, its public
entry; ``estimators``, ``datasets``, ``metrics``; ``evaluation`` for ``supportctl eval triage``),
the one table that maps the team's labels onto the product's categories (``categories``), and the
sentiment of a customer message (``sentiment``). Activities, the worker and ``supportctl`` use it.

It may import ``domain``, ``kb.embeddings`` (the shared sentence embedder) and the top-level
``jsonl`` reader. It must not import ``workflows``, ``activities``, ``agents``, ``api``, ``db``,
``supportctl``, ``worker``, ``settings``, ``clients`` or Temporal (they depend on triage, never the
other way round), nor any of ``kb`` beyond ``kb.embeddings``.
"""
