"""The shared vocabulary: pydantic models and enums, and the brief's rules as pure functions.

What it owns: the ticket's models and enums (``models``), a customer as a team gives it to the CRM and
the customer-id rule (``contacts``), the support policy (``policy``: SLA targets, the VIP / enterprise
boost, priority and escalation rules), SLA clocks and the business calendar (``sla``), the lifecycle's
knobs and the human-decision models (``lifecycle``), what one agent turn takes and gives back
(``turns``) and the success metrics (``success``).

What it must not import or do: nothing else of the project (every other package imports ``domain``,
never the reverse), and no I/O: no database, Temporal client, HTTP, files, environment, clock or
randomness. The workflow runs this code in Temporal's sandbox and replays it, so a rule is a pure
function of its arguments (time arrives as an argument: ``workflow.now()``). It imports only the
standard library and pydantic.
"""
