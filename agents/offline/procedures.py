"""Procedures quoted whole: the numbered steps (or the list a sentence introduces) that answer a how-to.

The sentence scorer in `agents.offline.compose` picks single sentences by the words they share with the
customer's message, so from "1. Go to Settings → Billing. 2. Click Cancel plan. 3. Confirm." it would
quote a stray step, or none (steps rarely repeat the customer's words). A customer asking how to do
something needs every step, in order. A list qualifies through what it is about (the article's title,
its section heading and the sentence that introduces it), never through its steps' wording.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agents.offline.article_text import blocks, label_heading, passage, sentences_of, split_sentences, terms
from domain.models import KbHit

MAX_STEPS = 8  # a longer list is a reference, not a procedure: the link serves it better
MAX_STEP_WORDS = 60
MIN_TOPIC_OVERLAP = 2
MAX_HIT_RANK = 1  # numbered steps come from the two best hits; a bulleted list only from the best
# A message asking how to do something, or saying the customer wants or fails to.
_HOW_TO = re.compile(
    r"\bhow\b|\b(?:want|wanted|need|needs|like|trying|try|able|unable)\s+to\b|"
    r"\bcan(?:not|'t|’t)\b|\bwhere\s+(?:do|can|is|are)\b|"
    r"\bwhat(?:'s| is| are)? (?:the )?(?:first |next )?(?:steps?|thing) (?:i|we) (?:should|need|must|have)\b|"
    r"\bwhat (?:do|should|must) (?:i|we) do\b|"
    # "what is the recommended way to retry?", "the best approach for backfilling"
    r"\b(?:recommended|best|right|correct|proper|safest|safe) (?:way|approach|practice|pattern)s? (?:to|for|of)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Procedure:
    article_id: str
    hit_rank: int
    lead: str  # the sentence introducing the list ("Only the Owner can cancel a paid plan:"), or ""
    steps: tuple[str, ...]
    ordered: bool
    overlap: int  # content terms shared with the message (title, heading, lead)
    depths: tuple[int, ...] = ()  # 1 for a sub-item of the step before it ("2. Add conditions:" / "- Did event")

    def plan_lines(self) -> list[str]:
        """The lines that can make the answer need a plan: every numbered step; of a bulleted list (causes,
        options) only its lead, since one item's plan ("an IP allowlist (Enterprise)") is not the others'."""
        return [self.lead, *(self.steps if self.ordered else ())]

    def render(self) -> str:
        items: list[str] = []
        n = 0
        for i, step in enumerate(self.steps):
            if i < len(self.depths) and self.depths[i] > 0:
                items.append(f"   - {step}")
                continue
            n += 1
            items.append(f"{n}. {step}" if self.ordered else f"- {step}")
        return "\n".join([self.lead, *items] if self.lead else items)


# What customers call an action, and what articles call it ("make a cohort" is "Creating a cohort").
_ACTIONS = {
    "make": "creat", "build": "creat", "add": "creat", "new": "creat", "setup": "set",
    "enabl": "turn", "activat": "turn", "switch": "turn", "remov": "delet", "eras": "delet",
    "chang": "updat", "edit": "updat", "modify": "updat", "download": "get", "find": "get",
    "hand": "transfer", "give": "transfer", "move": "transfer",
}  # fmt: skip


def _actions(found: set[str]) -> set[str]:
    return found | {_ACTIONS[t] for t in found if t in _ACTIONS}


def how_to_terms(message: str, subject: str = "") -> set[str]:
    """What the customer asks how to do: the content terms of each how-to sentence and the sentence
    before it ("I'm locked out. How do I get back in?"), plus the subject; empty when nothing asks how.
    Terms elsewhere in a long message (a complaint, a call transcript) must not pick a procedure."""
    sentences = split_sentences(message)
    asking = [i for i, sentence in enumerate(sentences) if _HOW_TO.search(sentence)]
    if not asking:
        return set()
    wanted = terms(subject)
    for i in asking:
        wanted |= terms(" ".join(sentences[max(0, i - 1) : i + 1]))
    return _actions(wanted)


def procedures_in(hit: KbHit, rank: int, wanted: set[str], any_rank: bool = False) -> list[Procedure]:
    """The hit's lists that can be quoted as steps: numbered ones, and bulleted ones that a sentence
    ending in ":" introduces ("During the lockout:"). Lists of facts without a lead-in are left to the
    sentence scorer. `any_rank`: a list of any hit qualifies (its lead sentence was chosen as the answer)."""
    label, body = passage(hit)
    title = terms(hit.title)
    parsed = blocks(f"{body}\n\n{hit.more}" if hit.more else body, label_heading(label))
    found: list[Procedure] = []
    i = 0
    while i < len(parsed):
        block = parsed[i]
        if block.list_no < 0:
            i += 1
            continue
        j = i
        while j < len(parsed) and parsed[j].list_no == block.list_no:
            j += 1
        before = (
            parsed[i - 1] if i > 0 and parsed[i - 1].list_no < 0 and parsed[i - 1].heading == block.heading else None
        )
        lead_sentences = sentences_of(before.text) if before else []
        lead = lead_sentences[-1] if lead_sentences and lead_sentences[-1].endswith(":") else ""
        steps = tuple(" ".join(sentences_of(item.text)) for item in parsed[i:j])
        depths = tuple(item.depth for item in parsed[i:j])
        i = j
        # A bulleted list is weaker evidence of a procedure than numbered steps: only the best hit's counts.
        top_level = depths.count(0)
        if not any_rank and (not (block.ordered or (lead and rank == 0)) or rank > MAX_HIT_RANK):
            continue
        if not 2 <= top_level <= MAX_STEPS:
            continue
        if len(steps) > MAX_STEPS + 4 or any(len(step.split()) > MAX_STEP_WORDS for step in steps):
            continue
        topic = _actions(title | terms(block.heading) | (terms(before.text) if before and lead else set()))
        found.append(Procedure(hit.article_id, rank, lead, steps, block.ordered, len(topic & wanted), depths))
    return found


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def select_procedure(
    hits: Sequence[KbHit], message: str, subject: str = "", already_said: Sequence[str] = ()
) -> Procedure | None:
    """The one procedure that answers what the customer asks how to do, or None. A procedure already
    sent on the ticket (in `already_said`) is not sent again."""
    wanted = how_to_terms(message, subject)
    if not wanted:
        return None
    said = [_key(text) for text in already_said]
    candidates = [
        p
        for rank, hit in enumerate(hits[: MAX_HIT_RANK + 1])
        for p in procedures_in(hit, rank, wanted)
        if p.overlap >= MIN_TOPIC_OVERLAP and not all(any(_key(s) in text for text in said) for s in p.steps)
    ]
    if not candidates:
        return None
    # Numbered steps beat a bulleted list; the better-ranked article breaks a tie.
    return max(candidates, key=lambda p: (p.overlap + (1 if p.ordered else 0) - 0.5 * p.hit_rank, -p.hit_rank))


def list_of_lead(hits: Sequence[KbHit], article_id: str, lead: str) -> Procedure | None:
    """The list a lead-in sentence ("On Pro, you can create a public link that works without signing in:")
    introduces, to be quoted with it; None when it is too long to quote (the link serves it better)."""
    key = _key(lead)
    for rank, hit in enumerate(hits):
        if hit.article_id != article_id:
            continue
        for p in procedures_in(hit, rank, set(), any_rank=True):
            if _key(p.lead) == key:
                return p
    return None
