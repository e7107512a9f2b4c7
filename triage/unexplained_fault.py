"""A fault only we can explain, by rule, beside the learned hand-over detectors (``triage.handover_rules``).

The customer rules out a change of theirs ("nothing has been deployed on our side since Friday", "nothing else
changed", "we haven't touched the config", "we tried it across all three projects, four people in two offices"),
finds our own word contradicted ("the status page says nothing", "an error that isn't even in your docs") or names
something we did for them ("your team ran the deduplication job we asked for"), and reports a failure across the
board ("every request since 14:05", "all four of our projects"), since a time, or something gone. Told calmly in a
long e-mail, such an incident scores low on every model. Not when the error is one the help centre explains by the
customer's credentials or permissions (401, 403, "permission denied"), nor when the message asks how to set
something up or what the customer is doing wrong, nor beside a change of their own they tell: those are answered.
"""

from __future__ import annotations

import re

from triage.not_an_incident import suspects_own_setup

_NOTHING_CHANGED = re.compile(
    r"(?<!\bif )(?<!\bwhen )\b(?:nothing|no code|no config(?:uration)?|none of our (?:code|config\w*|settings))\s+"
    r"(?:else\s+)?"
    r"(?:has\s+|had\s+|was\s+|'s\s+)?(?:been\s+)?(?:changed|deployed|touched|modified)\b|"
    r"\b(?:we|i)\s+(?:have|has|had)?\s*(?:not|n't|never)\s+(?:changed|touched|deployed|modified|edited)\b|"
    r"\b(?:nobody|no one|none of us)\s+(?:here\s+|on our (?:side|end)\s+)?(?:has\s+|had\s+)?"
    r"(?:changed|touched|deployed|modified|edited)\b|"
    r"\b(?:didn'?t|did not|haven'?t|have not|hasn'?t)\s+(?:change|touch|deploy|modif)\w*\s+"
    r"(?:anything|a thing|our|any)\b|"
    # "No change on our side; ...", "No changes on our side in that period."
    r"\bno (?:changes?|deploy(?:ment)?s?|releases?) (?:on|at|from) our (?:side|end)\b|"
    r"\bno (?:\w+ )?changes? (?:was |were )?(?:recorded|made|logged)\b|"
    # "we didnt ship an app update in that window", "we haven't released anything since May"
    r"\b(?:we|i)\s+(?:didn'?t|did not|didnt|haven'?t|have not|havent)\s+"
    r"(?:ship|release|push|deploy|roll(?:ed)? out)\w*\s+(?:(?:an?|any|new|the)\s+){0,2}(?:app\s+|code\s+|sdk\s+)?"
    r"(?:update|release|version|change|anything|code|build)s?\b|"
    # "our sending code hasn't been modified", "the SDK setup hasn't changed since spring"
    r"\b(?:code|config\w*|setup|integration|settings|sdk|tracking)\s+(?:hasn't|has not|hadn't|had not|haven't|have not)"
    r"\s+(?:been\s+)?(?:changed|touched|modified|deployed|updated)\b",
    re.I,
)
_OUR_WORD_CONTRADICTED = re.compile(
    r"status page (?:says|said|shows|showed|is|was|lists|listed)\s+(?:that\s+)?(?:[\w-]+\s+){0,3}?(?:nothing|green|"
    r"operational|fine|normal|ok|okay)\b|"
    # "Status page consulted: no incident listed."
    r"status page(?: (?:consulted|checked))?\W+(?:shows? |says |lists )?no (?:incidents?|issues?|outages?)\b|"
    r"status page (?:doesn't|does not|didn't|did not) (?:mention|show|say|list)\b|"
    r"\bnothing (?:(?:posted|listed|reported|mentioned) )?(?:on|about (?:it|this|that) on) (?:the|your) status page|"
    # "I didn't see anything on the status page", "the status page is quiet"
    r"\b(?:didn'?t|did not|don'?t|do not|can'?t|cannot|couldn'?t) (?:see|find) anything "
    r"(?:on|about (?:it|this|that) on) (?:the|your) status page|"
    r"status page (?:is|was|looks|stays|stayed) (?:quiet|empty|clear|silent)|"
    r"\bnot (?:even )?(?:in|mentioned in|documented in) (?:your|the) docs|"
    r"(?:as|like) (?:your|the) docs (?:describe|say)",
    re.I,
)
# Something we did for them ("your team ran the deduplication job we asked for", "since your migration").
_OUR_ACTION = re.compile(
    r"\b(?:your (?:team|support|engineers?|colleagues?|people)|you(?: guys)?) (?:ran|did|performed|applied|deployed|"
    r"pushed|rolled out|migrated|deduplicated|cleaned up|merged|deleted|reset)\b|\b(?:since|after) your (?:team'?s? )?"
    r"(?:migration|deduplication|dedup(?:lication)? job|cleanup|clean-up|release|deploy(?:ment)?|update|upgrade|fix)\b",
    re.I,
)
# Their side ruled out by trying it widely ("we tried a dozen across all three of our projects, four different
# people in two offices", "tried from three browsers and two laptops"): over the spent sets these words came only
# in must-reach tickets.
_TRIED_EVERYWHERE = re.compile(
    r"\b(?:tried|tested|checked|same (?:thing|result|for))\b[^.?!]{0,40}\b(?:across|in|on|from|with|by)\s+"
    r"(?:all|every|\d+|two|three|four|five|several|multiple|a dozen|different)\b[^.?!]{0,30}\b(?:projects?|people|"
    r"users?|offices?|machines?|computers?|laptops?|devices?|networks?|accounts?|teams?|colleagues?|locations?)\b",
    re.I,
)
_SINCE_WHEN = re.compile(
    r"\b(?:since|from)\s+(?:about\s+|around\s+|roughly\s+)?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"yesterday|this morning|last night|noon|midnight|\d{1,2}(?::\d{2})?\s*(?:am|pm|utc)?|the (?:upgrade|update|"
    r"release|migration|weekend)|last week)",
    re.I,
)
_ACROSS_THE_BOARD = re.compile(
    r"\b(?:every|all)\s+(?:\w+\s+){0,3}(?:request|call|export|job|event|report|service|project|endpoint|run|"
    r"dashboard|file|funnel|chart|query|queries|region|server|alert|link|widget|page)s?\b",
    re.I,
)
# Gone, or turned back to an old state ("every profile rolled back to what it was a year ago")
_GONE = re.compile(
    r"\b(?:gone|disappeared|vanished|wiped|overwr\w+|replaced|deleted|lost|missing|rolled back|reverted|"
    r"emptied)\b|\breturns? (?:0|zero|nothing)\b",
    re.I,
)
_EXPLAINED_BY_ACCESS = re.compile(
    r"(?:\b|_)(?:401|403|unauthori[sz]ed|forbidden|permission[_ ]denied|invalid[_ ]api[_ ]key|insufficient[_ ]scope|"
    r"access denied|access (?:\w+ ){0,4}(?:was |has been )?(?:removed|revoked))\b",
    re.I,
)
_ASKS_HOW = re.compile(
    r"\b(?:how (?:do|can|should) (?:i|we)|is there a way)\b|\b(?:which|what)\b[^.?!]{0,60}\bneed\b[^.!]*\?",
    re.I,
)


# A change of the customer's own told beside the failure ("our identity team rotated the SAML signing certificate
# last night"): the failure has a suspect on their side, however sure they are nothing changed in Lumora. (Not
# "we upgraded to Pro": a change of plan is ours to honour.)
_THEIR_CHANGE = re.compile(
    r"(?<!\bnobody on )(?<!\bno one on )(?<!\bnobody in )(?<!\bno one in )(?<!\bnone of )"
    r"\b(?:we|i|our (?:[\w-]+ ){0,2}(?:team|admins?|engineers?|developers?|devs|department|people|folks|vendor|"
    r"contractor|agency))\s+(?:have |has |had |just |recently )?(?:rotated|renewed|replaced|reconfigured|rebuilt|"
    r"redeployed|deployed|rolled out|released|shipped|moved|migrated|switched|ported)\b|"
    # "our former marketing manager left the company" (their integrations and alerts may have been theirs)
    r"\b(?:left|quit|departed) (?:the|our) (?:company|team|organi[sz]ation|business)\b",
    re.I,
)


def unexplained_fault(text: str) -> str | None:
    """The incident a message reports with our side the only suspect: "data_loss" when something is gone, else
    "outage" (see the module doc)."""
    ruled_out = _NOTHING_CHANGED.search(text) or _TRIED_EVERYWHERE.search(text)
    if not (ruled_out or _OUR_WORD_CONTRADICTED.search(text) or _OUR_ACTION.search(text)):
        return None
    # The customer suspects their own setup ("as the docs describe ... any idea what's off?"): answered.
    if _EXPLAINED_BY_ACCESS.search(text) or _ASKS_HOW.search(text) or suspects_own_setup(text):
        return None
    if _THEIR_CHANGE.search(text):
        return None
    if _GONE.search(text):
        return "data_loss"
    if _SINCE_WHEN.search(text) or _ACROSS_THE_BOARD.search(text):
        return "outage"
    return None
