"""Words that sound like a complaint or a legal matter and are not aimed at us (``triage.handover_rules``): a quarrel
among the customer's own people, a reassurance that nobody complained, a question relayed for someone, a contract in
the business sense. Each vetoes the learned vote of the sentence it is in, never a rule."""

from __future__ import annotations

import re

# A quarrel among the customer's own people ("after a long and slightly heated discussion, our product and
# marketing teams reached a compromise"): heat not aimed at us.
_THEIR_OWN_QUARREL = re.compile(
    r"\b(heated|lively|spirited|long|internal) (internal )?(discussion|debate|argument|disagreement)s?\b|"
    r"\bour (\w+ )?(and|&) (\w+ )?teams\b[^.?!]{0,40}\b(argu\w+|debat\w+|disagree\w*|compromise|fight\w*)\b",
    re.I,
)

# A question relayed for someone ("They also asked whether a charge from a few months ago could still be
# refunded"): asked, not threatened.
_RELAYED_QUESTION = re.compile(
    r"\b(they|he|she|legal|procurement|finance|our (\w+ )?team) (\([^)]{0,60}\) )?(also )?(asked|asks|want to know|"
    r"wants to know) (me |us )?(to (find out|check|ask|confirm) )?(whether|if|about|how|what|when)\b",
    re.I,
)
# A contract in the business sense ("we lost our biggest contract last month"): news, not a legal matter.
_BUSINESS_NEWS = re.compile(
    r"\b(lost|won|signed|landed|closed) (our|a|the) ((biggest|largest|main|big|new|first) )?(contract|client|deal)\b",
    re.I,
)
# "To be clear, nobody has complained about us": a reassurance, not a complaint.
_NOBODY_COMPLAINED = re.compile(
    r"\b(nobody|no one|none of (our|them|us)) (has |have |had )?"
    r"(complained|is complaining|raised (a|any) complaints?)\b",
    re.I,
)


# "These manual exports are killing me": an everyday sigh over a chore. Over the written sets and examples it came
# in calm tickets only, four writers' hard negatives among them.
_KILLING_ME = re.compile(r"\b(killing|kills) (me|us)\b", re.I)


# Procurement paperwork ("We're refreshing our internal vendor sheet", "our procurement team grills every vendor like
# a steak"): their own process, not a wish to change vendor.
_VENDOR_PAPERWORK = re.compile(
    r"\b(vendor|supplier)s? (sheet|list|register|spreadsheet|file|records|questionnaire|form|database|inventory)\b|"
    r"\bour (procurement|legal|security|compliance|finance|it) (team|department|folks)\b[^.?!]{0,40}"
    r"\b(every|all|each) (vendors?|suppliers?)\b",
    re.I,
)


def no_complaint_to_us(unit: str) -> bool:
    return bool(
        _THEIR_OWN_QUARREL.search(unit)
        or _NOBODY_COMPLAINED.search(unit)
        or _KILLING_ME.search(unit)
        or _VENDOR_PAPERWORK.search(unit)
    )


# The customer's own legal identity ("Our legal entity changed its name") or their legal team's routine paperwork
# ("Our Legal Ops team is doing its annual vendor paperwork round"): no claim against us.
_LEGAL_ROUTINE = re.compile(
    r"\blegal (entity|name|address|form|status|owner|representative|department's address)\b|"
    r"\b(legal|compliance|procurement|privacy)( ops| operations)?( team| department| folks)? (is|are) (doing|running|"
    r"working through|going through) (its|their|our|the|an?) ((annual|yearly|quarterly|regular|usual) )?"
    r"((vendor|supplier) )?(paperwork|review|round|audit|questionnaire|assessment|check)\b",
    re.I,
)


def legal_words_without_a_claim(unit: str) -> bool:
    return bool(_RELAYED_QUESTION.search(unit) or _BUSINESS_NEWS.search(unit) or _LEGAL_ROUTINE.search(unit))
