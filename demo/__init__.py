"""Lumora, the fictional product-analytics SaaS the demo runs on: data, not behaviour.

What it owns: the help articles (``kb/*.md``), the 60 demo customers (``customers.py``), the 30 sample
tickets (``tickets.jsonl``), the triage training examples (``triage_examples.jsonl``) and the console's
saved replies (``saved_replies.py``). ``supportctl``
loads them into the local stack (``supportctl/prepare.py``) and the tests read them.

What it must not import: anything of the project but ``domain`` (``customers.py`` builds
``domain.models.Customer`` values). Only ``supportctl`` and the tests import it; the service reads
one file from here, ``triage_examples.jsonl``, when no trained triage model exists
(``triage.datasets.DEMO_EXAMPLES``; with the spent eval sets' tickets, ``triage/triage_examples_sets.jsonl``).
"""
