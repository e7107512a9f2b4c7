"""What sounds like a reason to hand a ticket over and is not ours to hand over (``triage.handover_rules``): a
third party's security incident or lawsuit, a permission error the help centre explains, a plea for help that asks
for no person."""

from __future__ import annotations

import re

# A third party's security incident ("the cookie consent vendor we use got hacked last week", "a competitor of
# ours suffered a data breach"): not ours, though it is why the customer writes. The security rules skip the
# sentence and the learned security vote on it does not count.
_THEIR_BREACH = re.compile(
    # a password refused because it "appeared in a data breach": a public list of other sites' leaks
    r"\b(appeared|appears|found|listed|shows? up|turned up|known) in (a |an |some |known |previous |public )*"
    r"(data )?(breach|leak)(es|s)?\b|"
    r"\b(vendors?|providers?|suppliers?|competitors?|partners?|agenc(y|ies)|contractors?|another compan(y|ies)|"
    r"other compan(y|ies)|a compan(y|ies)|retailers?|banks?|hospitals?|airlines?)\b[^.?!]{0,60}"
    r"\b(got|was|were|been|being) (hacked|breached|compromised)|"
    r"\b(vendors?|providers?|suppliers?|competitors?|partners?|agenc(y|ies)|contractors?|compan(y|ies))\b[^.?!]{0,60}"
    r"\b(suffered|had|disclosed|announced|reported) (a |an )?(\w+ ){0,2}(data )?(breach|hack|leak|security incident)",
    re.I,
)
# A third party's lawsuit or fine ("a competitor of ours is being sued in a class action over cookies", "a hospital
# group near us was fined"), or a customer of theirs threatening them: why the customer asks how to comply, not a
# claim against us. The legal rules skip the sentence; its learned legal vote does not
# count.
_THEIR_LAWSUIT = re.compile(
    r"\b(vendors?|providers?|suppliers?|competitors?|partners?|agenc(y|ies)|another compan(y|ies)|other compan(y|ies)|"
    r"a compan(y|ies)|retailers?|banks?|airlines?|hospitals?|clinics?|schools?|shops?|stores?|firms?|businesses|"
    r"neighbou?rs?|(?:a|one of our) (?:clients?|customers?))\b[^.?!]{0,60}"
    r"\b(got|was|were|been|being|is|are) (sued|taken to court|fined)\b|"
    # one of their own customers threatening them ("one of our shop's customers ... will take us to court unless we
    # delete her data"): a request they need our help with
    r"\b((one of (our|the)|a|an|our) ([\w']+ )?(customers?|clients?|users?|shoppers?|patients?|members?|visitors?|"
    r"guests?|policyholders?|subscribers?|tenants?|students?|employees?|players?|readers?|listeners?|viewers?|fans?|"
    r"donors?|buyers?|learners?|riders?|drivers?)|"
    # "one of the players of our puzzle game"
    r"one of the [\w'-]+ (of|on|in|from|at|using) (our|my) ([\w'-]+ ){0,3}?[\w'-]+)\b"
    r"[^.?!]{0,80}\b(take us to court|sue us|legal action against us|report us)\b",
    re.I,
)
# A permission error the help centre explains ("EXPORT_PERMISSION_DENIED", "403 insufficient_scope"): a setup
# question, however much its words (a service account, a role, a key) sound like security. Over the spent sets
# these words came in 54 calm tickets and no must-reach one but two in other languages. The rules still apply.
_PERMISSION_ERROR = re.compile(
    r"(?:\b|_)(?:permission[_ ]denied|access[_ ]denied|insufficient[_ ]scope|forbidden|403)\b", re.I
)
_JUST_HELP = re.compile(
    r"(?:^\W*|[,;:]\s*)(?:so\W+|and\W+)?(?:can|could) you (?:please |kindly )?help(?: (?:me|us))?"
    r"(?: (?:with|on) (?:both|this|that|these|it|them|either|all of (?:it|this|them)))?\W*$",
    re.I,
)
# Who the customer asks for, beside such a plea ("can you help me by putting me through to a person?").
_SOMEONE = re.compile(
    r"\b(?:humans?|person|people|some ?(?:one|body)|agents?|staff|call|phone|managers?|engineers?|real|actual|live|"
    r"put (?:me|us) through|speak|talk)\b",
    re.I,
)


def their_breach(sentence: str) -> bool:
    return bool(_THEIR_BREACH.search(sentence))


# A key pasted somewhere only the customer reads ("the scratch file where I'd pasted the project's secret key"): kept,
# not exposed. Pasted anywhere else (a forum, a chat, a public repo) it is.
_PASTED = re.compile(r"\bpasted\b", re.I)
_PRIVATE_PLACE = re.compile(
    r"\b(?:scratch|local|private|personal|password manager|vault|notes? app|text file|draft|my own)\b", re.I
)
_SHARED_PLACE = re.compile(
    r"\b(?:public|shared|slack|channel|chat|forum|github|gist|stack ?overflow|discord|teams|thread|wiki|email|e-mail|"
    r"ticket|issue|repo(?:sitory)?|screenshot|everyone|anyone)\b",
    re.I,
)


def pasted_privately(sentence: str) -> bool:
    return bool(_PASTED.search(sentence) and _PRIVATE_PLACE.search(sentence) and not _SHARED_PLACE.search(sentence))


# The customer says outright it is not ours ("our marketing website (a WordPress install, nothing to do with
# Lumora) was hacked"): the incident in that sentence is theirs.
_NOT_OURS_SAID = re.compile(
    r"\b(nothing to do with|not related to|unrelated to|no connection to) (you|lumora|your (service|product|api))\b",
    re.I,
)
# How to check that a request really comes from us ("check that webhook requests really come from Lumora and not
# from someone who guessed the URL"): a question about signatures, not an intrusion.
_VERIFY_ORIGIN = re.compile(
    r"\b(check|verify|validate|make sure|confirm|prove)\b[^.?!]{0,60}\b(really|actually|truly) (come|comes|came|"
    r"coming|are|is) from\b",
    re.I,
)


def disowned_by_them(sentence: str) -> bool:
    return bool(_NOT_OURS_SAID.search(sentence))


def asks_how_to_verify(sentence: str) -> bool:
    return bool(_VERIFY_ORIGIN.search(sentence))


def their_lawsuit(sentence: str) -> bool:
    return bool(_THEIR_LAWSUIT.search(sentence))


def permission_error(text: str) -> bool:
    return bool(_PERMISSION_ERROR.search(text))


def only_asks_for_help(unit: str) -> bool:
    """ "Can you help with both?": everyone writing to support wants help; it asks for no person."""
    return bool(_JUST_HELP.search(unit)) and not _SOMEONE.search(unit)
