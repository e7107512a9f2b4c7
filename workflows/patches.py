"""Every patch id TicketWorkflow has ever used: why it exists and when it can go.

A ticket lives minutes to weeks, so a change to what the workflow *does* (its commands, their order, a
timer) cannot simply replace the old code: tickets started before the change replay their history
through the new code. Such a change goes behind ``workflow.patched(ID)``, which is True in runs that
reach the call after the change shipped and False when replaying a history from before it. The strings
below are written into those histories as markers: never edit one, never reuse one.

Every ``workflow.patched(...)`` / ``workflow.deprecate_patch(...)`` call in ``workflows/`` names one of
these constants; no literal id appears anywhere else.

Retiring a patch (STYLE.md convention 11), in two deploys:

1. **deprecate_patch.** Once no *run* that started before the patch shipped is still open, replace
   ``if workflow.patched(ID): new else: old`` with ``workflow.deprecate_patch(ID)`` followed by
   ``new`` only, and delete the old branch; delete the recorded histories (``tests/histories/``) of the
   versions before the patch, since they can no longer replay. Continue-as-new starts a fresh run on
   the code of the day, so the test is on run start times, not ticket ages::

       temporal workflow list --query \\
         'WorkflowType="TicketWorkflow" AND ExecutionStatus="Running" AND StartTime < "<patch deploy time>"'

   An empty answer means it is safe. Tickets have no hard upper lifetime (an escalated ticket waits on a
   person without a timer), so go by that query, not by a number of days; "minutes to weeks" is typical.
2. **delete.** Once no run started before the deprecate deploy is open (the same query, with that
   deploy's time), remove the ``deprecate_patch`` call and, when nothing else uses it, the constant.
   Keep the id in the "retired" list at the bottom so nobody reuses it.

"First recorded in" names the oldest history version (``tests/histories/vN_*.json``) that was
recorded with the patch: older versions replay through the old branch.
"""

from __future__ import annotations

from typing import Final

LIFECYCLE_V2: Final = "lifecycle-v2"
"""v2 lifecycle: SLA clocks and durable timers, human decisions as Updates, approvals, CSAT.

Why: the whole workflow was rewritten (issue 4); tickets started on v1 run ``workflows/ticket_v1.py``
(frozen) from ``TicketWorkflow.run``. First recorded in v2 (v1 histories take the old branch).
When it can go: when no run started before v2 is open; then delete ``ticket_v1.py`` with the old branch.
"""

CONCURRENT_OPEN: Final = "concurrent-open"
"""Opening: the ticket row, the CRM lookup and triage run at once, then the message and triage writes,
then the agent's turn beside the "opened" status write.

Why: the same writes in fewer round trips; the sequential opening issues its activities one by one.
First recorded in v3. When it can go: when no run started before v3 is open (only a ticket's first run
opens it; a continued run never reaches this call).
"""

DECISION_RULES_V2: Final = "decision-rules-v2"
"""Decision rules of 2026-11.

Why: a resolved ticket takes no reply, hand-back, reassignment or priority change (its survey is out;
the customer's reply reopens it), nor a resolve while an action awaits approval; a human reply with an
approval pending keeps the ticket in the queue; a reject note stays internal (``message`` is what the
customer reads); whoever resolves owns the ticket if the customer reopens it. Tickets that decided
before it replay with the old rules (the Update handler re-validates with them).
First recorded in v5. When it can go: when no run started before v5 is open.
"""

BATCHED_MESSAGES: Final = "batched-messages"
"""Customer messages that arrive together get one agent turn after the last of them, not one each.

Why: a chat burst, or lines sent while the agent was answering, used one turn each: five quick lines
used five of ``max_agent_turns`` and escalated. First recorded in v6.
When it can go: when no run started before v6 is open.
"""

HANDOVER_NOT_A_RESPONSE: Final = "handover-not-a-response"
"""The agents' "a colleague will take over" is an acknowledgement, not a response.

Why: it stopped the first-response and next-reply clocks; now they run on until a person answers, so an
unanswered hand-over warns and breaches. First recorded in v7.
When it can go: when no run started before v7 is open.
"""

ANSWER_WHAT_CAME_DURING_APPROVAL: Final = "answer-what-came-during-approval"
"""A customer message that arrives while an action awaits approval is answered after the decision.

Why: the approval, rejection or expiry took the ticket off the human queue with that message unanswered
(and the "approved" note stopped its reply clock). Now the agents answer it after an approval or
rejection, and an expired approval leaves the ticket in the human queue. First recorded in v8.
When it can go: when no run started before v8 is open.
"""

BREACH_AT_TOP_KEEPS_DEADLINES: Final = "breach-at-top-keeps-deadlines"
"""A breach that raises no priority (the ticket is already critical) leaves the other clocks alone.

Why: such a breach re-targeted every clock to the same priority, and the re-targeting grace (a quarter
of the target from now) pushed a running clock near its deadline later: a critical ticket's
first-response breach moved its next-reply deadline 3 minutes on. Shipped after v8's recording; first
recorded in v9. When it can go: when no run started before its deploy (between v8 and v9) is open.
"""

PLAIN_HUMAN_REQUEST: Final = "plain-human-request"
""""I need a human please", "we want a person", "a live agent" hand the ticket to a person.

Why: only "talk/speak to a human" counted as asking for one; the plainer phrasings
(``domain.policy.asks_for_a_person``) were answered by the agents. First recorded in v9.
When it can go: when no run started before v9 is open.
"""

OUTAGE_TO_A_PERSON: Final = "outage-to-a-person"
"""An outage or data-loss report goes to a person.

Why: "the dashboard is down for all of us" was answered with troubleshooting tips; a person can check
the incident and the status page. First recorded in v9.
When it can go: when no run started before v9 is open.
"""

REASSESS_PRIORITY: Final = "reassess-priority"
"""A later message that triage rates high or critical, above the ticket's priority, raises it.

Why: a ticket kept its first message's priority: "now it is blocking production, URGENT" on a low
ticket left it on the low 72 h resolution target. The raise uses the VIP / enterprise boost, as at
opening, and tightens the clocks; nothing lowers it. First recorded in v10.
When it can go: when no run started before v10 is open.
"""

HANDOVER_DETECTORS: Final = "handover-detectors"
"""Whether a person takes the message comes from the triage's hand-over detectors (``triage.handover``:
a person asked for, legal threat, security incident, outage, data loss, another language, anger at
us, an unhappy VIP or enterprise customer), through ``domain.policy.handover_reason``.

Why: the regexes and textblob polarity missed emergencies in words they did not list ("every call
answers 503", "a contractor committed our key to a public gist", a ticket in Portuguese) and handed
calm tickets over ("my fault, I clicked the wrong plan"; an enterprise customer's neutral question).
Only results the detectors checked take the new branch (``TriageResult.handover_checked``); the
worsening-trend, max-turns and token-budget rules apply as before. First recorded in v11.
When it can go: when no run started before v11 is open.
"""

NOTES_AND_TAGS: Final = "notes-and-tags"
"""The decisions about a ticket's record: ``note`` (internal, in the audit trail only), ``tag`` and
``recategorise`` (``domain.lifecycle.RECORD_ONLY``).

Why: the console needs internal notes, tags and a corrected category (issue 21). They send nothing to the
customer, keep the ticket's owner and status, may be made on a resolved ticket, and leave the agents'
convergence counter (``agent_turns``) and the main loop alone; a recategorised ticket's next agent turn
starts with the new category's specialist. A run from before the patch has none of these decisions in its
history, so the old branch (refusing them) is never replayed; the marker records which runs took them.
First recorded in v12. When it can go: when no run started before v12 is open.
"""

ALL: Final = (
    LIFECYCLE_V2,
    CONCURRENT_OPEN,
    DECISION_RULES_V2,
    BATCHED_MESSAGES,
    HANDOVER_NOT_A_RESPONSE,
    ANSWER_WHAT_CAME_DURING_APPROVAL,
    BREACH_AT_TOP_KEEPS_DEADLINES,
    PLAIN_HUMAN_REQUEST,
    OUTAGE_TO_A_PERSON,
    REASSESS_PRIORITY,
    HANDOVER_DETECTORS,
    NOTES_AND_TAGS,
)
"""The live ids, oldest first."""

RETIRED: Final[tuple[str, ...]] = ()
"""Ids whose ``deprecate_patch`` call is gone: never reuse one (an old history may still carry it)."""
