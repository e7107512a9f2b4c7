"""The rules beside the learned hand-over detectors: phrasings precise enough to decide alone, and
vetoes for the hard negatives a sentence embedding blurs ("I'll sue myself", "my fault")."""

from __future__ import annotations

import re

from domain.policy import SECRET_EXPOSED, asks_for_a_person, asks_for_a_person_explicitly

_SERVICE = r"(your |the )?(site|website|app|api|service|platform|dashboard|servers?|backend|system|login)"
_RULES: dict[str, re.Pattern[str]] = {
    "person": re.compile(
        r"\b(speak|talk) (to|with) (someone|somebody) (in charge|from your team|real)\b|"
        r"\b(actual|real|living) (human|person)\b|\bhuman being\b|\bno more bots\b|"
        r"^\W*((an? )?(operator|human|person|representative|agent)\W*(please|pls|plz)?\W*){1,3}$",
        re.I,
    ),
    "legal": re.compile(
        r"\b((contact|call|consult|consulting|instructed|hearing from|speak to|talk to) (my|our|a|an) "
        r"(lawyers?|attorneys?|solicitors?|counsel)|(my|our) (lawyers?|attorneys?|solicitors?) (will|are|is|says)|"
        r"our legal (team|department|counsel) will|legal (action|demand|advice)|lawsuit|"
        r"sue (you|your|them|the company)|see you in court|take (you|this) to court|small claims|"
        r"cease and desist|gdpr complaint|data protection authority)\b",
        re.I,
    ),
    "security": re.compile(
        SECRET_EXPOSED + r"|\b((been|was|were|got|is|are|get) hacked|hacked (into|our|my)|compromised|phishing|"
        r"unauthori[sz]ed (access|login|logins)|"
        r"(data|security) breach|credentials? (leaked|exposed))\b",
        re.I,
    ),
    "outage": re.compile(
        rf"\b{_SERVICE} (is|are|went|seems|has gone|have gone) (completely |totally )?(down|offline|unreachable)\b|"
        r"\bnobody can (log ?in|sign in|access|use)\b|\b(complete|total|full|major) outage\b|\bhard down\b|"
        r"\b(every|all|each) (single )?(api )?(calls?|requests?)\b.{0,40}"
        r"\b(5\d\d|5xx|time[sd]? ?out|fail(s|ed|ing)?)\b|"
        r"\b(5\d\d|5xx)s? (to|on|for) (every|all|each)\b",
        re.I,
    ),
    "data_loss": re.compile(
        r"\b(lost (all )?(of )?(our |my )?(data|records|files|projects)|data (is|are|was|has been) (lost|gone|wiped)|"
        r"(data|records|files|projects|reports|documents|history) (are|is|have|has|were) (all )?"
        r"(gone|vanished|disappeared|been (deleted|wiped|erased)))\b",
        re.I,
    ),
}
# The customer blames themselves or jokes: what reads as anger or a threat is not aimed at us.
_VETOES: dict[str, re.Pattern[str]] = {
    "legal": re.compile(r"\bsue (myself|me)\b|\b(copy of|download) (your|the) (dpa|terms)\b", re.I),
    "angry": re.compile(
        r"\b(my (own )?(fault|mistake|bad)|silly me|sue myself|(at|with|blame|kick) myself|"
        r"i'?m (an|such an) idiot|(annoyed|frustrated|angry) "
        r"(at|with) myself|my own typo|on my part|my apologies|sorry,? my mistake)\b",
        re.I,
    ),
}
_VETOES["unhappy"] = _VETOES["angry"]
# Asking for a person always names one, or a way to reach one ("someone", "a human", "your staff", "call
# me", "escalate", "not a bot"). Without such a word a request ("please process it today", "how do you
# communicate incidents?") is a request to us, whatever a sentence embedding makes of it.
_PERSON_CUE = re.compile(
    r"\b(some ?(one|body)|any ?(one|body)|humans?|persons?|people|personally|staff|agents?|reps?|"
    r"representatives?|operators?|managers?|supervisors?|engineers?|specialists?|colleagues?|team|tier|boss|"
    r"call(s|ed|ing|back)?|phone|ring|speak|talk|meeting|escalat\w*|transfer\w*|forward\w*|put (me|us) through|"
    r"in charge|member|directly|reach out|contact (me|us)|get back to (me|us)|bots?|chatbot|machine|automated|"
    r"ai|assistant|canned|real|actual|live)\b",
    re.I,
)


def matches(text: str) -> set[str]:
    """Reasons a rule finds in the text on its own."""
    found = {reason for reason, rule in _RULES.items() if rule.search(text)}
    if asks_for_a_person(text) or asks_for_a_person_explicitly(text):
        found.add("person")
    return found


def vetoes(text: str) -> set[str]:
    """Reasons the learned detectors may not claim for this text (self-blame, a joke, a document request)."""
    found = {reason for reason, rule in _VETOES.items() if rule.search(text)}
    return found if _PERSON_CUE.search(text) else found | {"person"}
