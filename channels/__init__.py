"""Channels customers already use, turned into the same ticket-service calls the API makes.

``channels.email``: e-mail in (IMAP poller, the inbound MIME endpoint's service) and out (SMTP from the
customer outbox), with threading, loop detection and attachments kept by reference. ``channels.chat``:
the embeddable chat widget, its signed visitor tokens and live stream. ``channels.webhooks``: Standard
Webhooks signing, the ticket-event dispatcher and the delivery log. A channel may import
``api.service`` (the ticket service), ``db`` and ``domain``; never ``agents``, ``kb`` or ``triage``,
and ``workflows`` only for types.
"""
