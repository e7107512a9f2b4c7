"""The hand-over decision alone on an eval ticket file, in seconds instead of an end-to-end run.

``python -m evals.handover_check FILE.jsonl [FILE ...]`` runs what the triage step and the workflow
decide about a hand-over (``triage.handover`` on the prepared text of the opening message and of the
follow-up; an unhappy VIP or enterprise customer as ``domain.policy.handover_reason`` decides) against
each ticket's ``expect.decision``, and prints per file the tickets that must reach a person and did not,
and the calm tickets that would be handed over. The agents can hand a ticket over for reasons of their
own (a refund over their authority, a turn that fails), so ``supportctl eval tickets`` stays the
measure; on the dev and blind sets this check gave the same escalation figures.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from demo.customers import demo_customers
from domain.customer_text import prepared_text
from domain.models import Customer, ticket_text
from domain.policy import important_and_unhappy
from evals.grading import EvalTicket
from evals.tickets import load_tickets
from triage.handover import HandoverDetector, shared_detector


@dataclass(frozen=True)
class HandoverCheck:
    must_reach: int
    calm: int
    missed: list[str] = field(default_factory=list)  # keys of must-reach tickets not handed over
    handed_over: dict[str, list[str]] = field(default_factory=dict)  # calm ticket key -> reasons found


def handover_reasons(detector: HandoverDetector, text: str, customer: Customer) -> list[str]:
    """Why the workflow would hand this message to a person (empty: the agents answer)."""
    found = detector.detect(prepared_text(text))
    return found.reasons or (["unhappy"] if important_and_unhappy(customer, found.unhappy, found.unhappy_share) else [])


def check(
    detector: HandoverDetector, tickets: Sequence[EvalTicket], customers: Mapping[str, Customer]
) -> HandoverCheck:
    missed, handed_over, must_reach = [], {}, 0
    for t in tickets:
        texts = [ticket_text(t.subject, t.body), *([t.follow_up] if t.follow_up else [])]
        reasons = sorted({r for text in texts for r in handover_reasons(detector, text, customers[t.customer_id])})
        if "escalate" in t.expect.decisions:
            must_reach += 1
            if not reasons:
                missed.append(t.key)
        elif reasons:
            handed_over[t.key] = reasons
    return HandoverCheck(must_reach, len(tickets) - must_reach, missed, handed_over)


def main(argv: Sequence[str] | None = None) -> None:
    paths = [Path(a) for a in (sys.argv[1:] if argv is None else argv)]
    if not paths:
        sys.stderr.write("usage: python -m evals.handover_check FILE.jsonl [FILE ...]\n")
        raise SystemExit(2)
    customers = {c.customer_id: c for c in demo_customers()}
    detector = shared_detector()
    for path in paths:
        result = check(detector, load_tickets(path, set(customers)), customers)
        sys.stdout.write(
            f"{path.name}: must-reach missed {len(result.missed)} of {result.must_reach} {result.missed}; "
            f"calm handed over {len(result.handed_over)} of {result.calm} {result.handed_over}\n"
        )


if __name__ == "__main__":
    main()
