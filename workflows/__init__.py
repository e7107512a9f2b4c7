"""TicketWorkflow and everything that runs inside it: deterministic workflow code, nothing else.

What this package owns: the ticket's lifecycle (``ticket.py`` and the parts it composes, listed in its
docstring), the state and input it carries across continue-as-new (``types.py``), the patch ids that
keep running tickets replayable (``patches.py``), the frozen v1 run (``ticket_v1.py``) and the
search attributes operators filter by (``search_attributes.py``). Beside it, ``article_search.py``:
``ArticleSearchWorkflow``, one knowledge-base search for a person in the console (one activity, no ticket).

What it must not do or import, because every line here is replayed, possibly months later, in the
Temporal sandbox:

- no I/O: no database, HTTP, files, LLM or Qdrant clients, no ``db/`` queries, no ``agents/``;
  every outside effect is an activity, called by reference (``workflow.execute_activity_method``);
- no clock, environment or randomness: ``workflow.now()``, never ``datetime.now()``, ``os.environ``,
  ``uuid4()`` or ``random``; settings arrive as the ticket's input or an activity's result;
- imports only from ``domain/`` (pure models and rules), ``activities/`` (the activity classes and their
  input and result types, as references) and this package, inside ``workflow.unsafe.imports_passed_through()``.
  The one type taken from elsewhere is ``db.tickets.TicketSnapshot``, the input of ``sync_ticket``.

Behaviour changes go behind a patch id from ``patches.py``; ``tests/test_replay.py`` replays the
recorded histories of every released version.
"""
