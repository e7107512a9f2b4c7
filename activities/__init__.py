"""Temporal activities: every outside effect of a ticket's workflow, and the worker's outbox dispatcher.

What it owns: the CRM lookup (``crm``), triage of a message (``triage``), one AutoGen agent turn with
its KB search and action ledger, and a person's article search from the console (``conversation``),
carrying out or declining a decided refund or credit (``actions``), the ticket store writes, each
idempotent (``store``), staff notifications (``notify``) and the dispatcher that delivers the customer
outbox to the channel gateway (``outbox``).
Each activity class takes what it needs (a Postgres pool, the classifier, the knowledge base, a
model client) in its constructor; ``worker.py`` builds them from the settings.

What it may import: ``domain``, ``db``, ``agents``, ``kb`` and ``triage``, and from ``channels.webhooks``
the signing, sending and delivery-log modules (``signing``, ``sender``, ``store``). It must not import
``workflows`` (the workflows import the activity classes and their input and result types as
references, never the reverse), ``api``, ``supportctl``, ``bench``, ``evals``, ``worker``,
``clients`` or ``settings``: configuration arrives through the constructors.
"""
