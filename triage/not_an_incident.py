"""What a sentence embedding reads as an incident and the customer's own words say is none.

The learned detectors score the topic: "what happens to our events when we cancel?" sits near data loss,
"events from our API servers arrive fine" near an outage, "nothing has leaked" near a leak. These
patterns take the learned vote away from such a sentence (or message); the rules of
``triage.handover_rules`` still apply, so a plain report ("your API is down") is handed over whatever
else the message says.
"""

from __future__ import annotations

import re

INCIDENTS = frozenset({"security", "legal", "outage", "data_loss"})

# A question about what would happen or how to guard against something: it reports nothing ("what happens
# to the 14 months of events - are they deleted straight away?", "what should happen if someone withdraws
# consent?", "how can our server check a request really came from you?"). A question that reports ("why is
# every call a 503?", "is your API down?", "did someone delete our dashboards?") does not start this way.
_WHAT_IF = re.compile(
    r"^\W*(?:(?:and|but|also|so|then|plus|or)\W+)?(?:"
    r"what (?:happens|would happen|will happen|should happen|should we do|do we do|about)\b|"
    r"how (?:can|could|do|should|would) (?:we|i|our \w+|you) (?:check|verify|make sure|ensure|confirm|tell|know|detect|"
    r"find out|hear|learn|get notified|get told|"
    r"prevent|protect|stop|avoid|guard|handle|be sure)\b|"
    r"(?:will|would) (?:it|they|those|these|that|the \w+|our \w+|we|i) (?:be )?(?:deleted|lost|removed|wiped|kept|"
    r"gone|lose|still)\b|"
    r"(?:do|would|will) (?:we|i) lose\b|"
    r"if (?:we|i|someone|somebody|anyone|a|an|our|the)\b)",
    re.I,
)


def asks_what_if(sentence: str) -> bool:
    """A question about what would happen, or how to protect against something: no report."""
    s = sentence.strip()
    return s.endswith("?") and bool(_WHAT_IF.search(s))


# The customer says outright that nothing happened ("no security incident, nothing has leaked", "nothing has
# actually happened!", "nothing is lost as far as I can tell", "a tabletop exercise"): the learned incident votes
# on the whole message do not count.
_DECLARED_NONE = re.compile(
    r"\b(?:no security (?:incident|breach)|"
    r"(?:this is|it'?s|there (?:is|was|has been)) no (?:security )?(?:incident|breach|leak)|"
    r"(?<!as if )(?<!as though )(?<!like )nothing (?:has |had )?(?:actually |really )?(?:happened|leaked|"
    r"been (?:leaked|lost|deleted|hacked|exposed))|"
    r"nobody (?:has )?(?:been )?hacked|nothing (?:broke|is broken|was broken|is wrong|went wrong) on your (?:side|end)|"
    # "nothing is lost as far as I can tell", not "make sure nothing is lost" nor "nothing got lost on our side"
    r"(?<!sure )(?<!that )(?<!if )(?<!whether )nothing (?:is|seems|appears to be|got) (?:lost|missing|gone)\b"
    r"(?! (?:on|at) our (?:side|end)| by (?:us|anyone|anybody|our))|"
    r"(?<!not )(?<!n't )(?:a |an )?(?:tabletop|fire[- ]drill|dry[- ]run)\b|"
    r"(?:security|incident|response|disaster|recovery) (?:exercise|drill|rehearsal)|hypothetical(?:ly)?\b|"
    # "after our phishing attack simulation yesterday"
    r"(?:phishing|attack|breach|incident|security|ransomware)(?: attack)? (?:simulation|drill|exercise)|"
    r"simulated (?:phishing|attack|breach|incident)|"
    # "Nothing's wrong, it's just paperwork."
    r"(?:it'?s|it is|this is) (?:just|only|purely) (?:paperwork|a formality)|"
    # "Nobody outside our team can see it"; "calls this a 'leak', but really it's our own mistake"
    r"(?:nobody|no one) outside (?:our|the) (?:team|company|organi[sz]ation|project) (?:can|could|has) (?:see|seen|"
    r"access|accessed|read)|"
    # "Nobody else saw it, it just went down with the laptop."
    r"(?:nobody|no one) else (?:saw|has seen|had seen|could see|can see|had access to|has access to) "
    r"(?:it|them|the key)\b|"
    r"calls? (?:this|it) an? [\"'“‘]?(?:leak|breach|incident|hack)[\"'”’]?,? but\b)",
    re.I,
)


def declares_no_incident(text: str) -> bool:
    return bool(_DECLARED_NONE.search(text))


# A sentence that says something works ("events from our API servers arrive fine", "all fine now", "our logs
# show we processed all of them fine") and names no failure: no outage and nothing lost in it.
_WORKS = re.compile(
    r"\b(?:arrives?|arriving|show(?:s|ing)? up|comes? through|coming through|gets? through|works?|working|loads?|"
    r"answers|answering|responds|responding|"
    r"loading|went through|go(?:es)? through|processed(?: all of them| them| it)?|(?:is|are|was|were|looks?)"
    r"(?: all)?) (?:just )?(?:fine|ok|okay|normally|as expected)\b|\ball (?:fine|good|green) now\b|"
    # "The server is up again"
    r"\b(?:is|are|was|were) (?:back )?up (?:again|now)\b",
    re.I,
)
_FAILS = re.compile(
    r"\b(?:not|no|never|none|nothing|but|fail\w*|error\w*|broken|down|missing|empty|gone|lost|disappeared|vanished|"
    r"wiped?|zero|can'?t|cannot|"
    r"won'?t|isn'?t|aren'?t|doesn'?t|don'?t|didn'?t|[45]\d\d|time[sd]? ?out)\b",
    re.I,
)


# A problem told as over ("a certificate problem on that server last week, which is fixed now", "they're all
# there now"): no incident in that sentence.
_OVER_NOW = re.compile(
    r"\b(?:which|that|it|this) (?:is|was|has been|got) (?:now )?(?:fixed|resolved|sorted)(?: now)?\b|"
    r"\b(?:they'?re|they are|it'?s|it is) (?:all )?(?:there|back) now\b|(?:^|[,;(]\s*)(?:fixed|resolved|sorted) now\b",
    re.I,
)


def says_it_works(sentence: str) -> bool:
    # A short sentence may tell the problem it says is over ("server was broken last week, fixed now").
    over = bool(_OVER_NOW.search(sentence)) and (len(sentence.split()) <= 20 or not _FAILS.search(sentence))
    return over or (bool(_WORKS.search(sentence)) and not _FAILS.search(sentence))


# The customer asks what they are doing wrong ("What are we missing?", "what am I doing wrong?", "any idea
# what's off?"): they suspect their own setup. Over the spent sets these words came in 38 calm tickets and in
# one that had to reach a person (a leaked key, which a rule hands over). The learned outage and data-loss
# votes on such a message do not count.
_OWN_SETUP_SUSPECTED = re.compile(
    r"\bwhat (?:am i|are we|is it i'?m|is it we'?re) (?:doing wrong|missing|overlooking|getting wrong)\b|"
    r"\bwhat did (?:i|we) (?:do wrong|miss|get wrong)\b|"
    r"\b(?:did|have) (?:i|we) (?:miss(?:ed)?|overlook(?:ed)?|forg[eo]t(?:ten)?|done) (?:something|anything|a step)\b|"
    # "Is there something about how the dates work that I'm missing?", "could it be because i got added to a second
    # company account?"
    r"\bsomething (?:[\w ]{0,40} )?(?:that )?(?:i'?m|i am|we'?re|we are) (?:missing|overlooking|getting wrong|"
    r"doing wrong)\b|"
    r"\bcould it be (?:because|that) (?:i|we)\b|"
    # "Is it something with the phone?", "could it be something in our config?"
    r"\b(?:is|could) it (?:be )?(?:something|anything) (?:with|wrong with|to do with|in|on|about) (?:my|our|the) "
    r"(?:own )?(?:phone|laptop|computer|device|browser|setup|set-up|config\w*|code|app|network|settings)\b|"
    r"\bany idea what(?:'s| is) (?:off|wrong|missing)\b|\bwhere (?:am i|are we|did (?:i|we)) go(?:ing)? wrong\b",
    re.I,
)


def suspects_own_setup(text: str) -> bool:
    return bool(_OWN_SETUP_SUSPECTED.search(text))


# It works in one of the customer's own environments and not in another ("locally with the solo pool the event
# shows up; in production nothing arrives", "fine on my laptop, not from our servers"): what differs is theirs.
_WORKS_IN_ONE_OF_THEIRS = re.compile(
    r"\b(?:locally|at home|on my (?:own |home |personal )?(?:machine|laptop|computer|phone)|in (?:dev|development|"
    r"staging|our test (?:env\w*|project)))\b[^.?!]{0,80}\b(?:shows? up|works?|arrives?|opens?|loads?|fine|ok|okay|"
    r"comes? through)\b|"
    r"\b(?:shows? up|works?|arrives?|fine|ok|okay|comes? through) (?:fine |ok |perfectly )?(?:locally|on my (?:machine|"
    r"laptop|computer)|in (?:dev|development|staging))\b",
    re.I,
)


def works_in_one_of_theirs(text: str) -> bool:
    return bool(_WORKS_IN_ONE_OF_THEIRS.search(text))


# An incident told as a joke, the culprit a small child or a pet ("I've been hacked... by my 2 year old", "the
# dashboard got deleted by our cat"): a locked account or a slip of the paw, not an attacker.
_JOKE_CULPRIT = re.compile(
    r"\b(?:hacked|breached|compromised|attacked|hijacked|deleted|wiped|sabotaged)\b\W{0,8}(?:by|thanks to) "
    r"(?:my|our|the) (?:own )?(?:\d+[- ]?(?:year|yr)s?[- ]?old|toddler|baby|kids?|son|daughter|cat|kitten|dog|puppy|"
    r"parrot|hamster)\b",
    re.I,
)


# Whether a report counts something the way it does ("a few users who completed signup last week aren't counted.
# Is that expected?"): how a report is defined, asked about, not data gone.
_NOT_COUNTED = re.compile(
    r"\b(?:aren'?t|isn'?t|weren'?t|wasn'?t|are not|is not|were not|was not|not|never|don'?t|doesn'?t) "
    r"(?:being |getting )?(?:counted|included|count(?:ing)?)\b",
    re.I,
)
_ASKS_IF_EXPECTED = re.compile(
    r"\b(?:is|was) (?:that|this|it) (?:expected|normal|intended|by design|how it(?:'s| is) supposed to work|correct|"
    r"right)\s*\?",
    re.I,
)


# A question about the customer's own account ("Is my account locked?", "Did something happen to my account?"): one
# person's access, not our service down.
_ABOUT_MY_ACCOUNT = re.compile(
    r"\b(?:is|was|has) my (?:account|login|user) (?:been )?(?:locked|suspended|blocked|disabled|deactivated|removed)\b|"
    r"\b(?:did|has) something (?:happen(?:ed)?|go(?:ne)? wrong) (?:to|with) my (?:account|login|user|access)\b",
    re.I,
)


def asks_how_it_counts(text: str) -> bool:
    return bool(_NOT_COUNTED.search(text)) and bool(_ASKS_IF_EXPECTED.search(text))


def without_jokes(text: str) -> str:
    """The text less the incidents it tells as a joke."""
    return _JOKE_CULPRIT.sub(" ", text)


def unit_vetoes(unit: str) -> set[str]:
    """Incident reasons the learned detectors may not claim for this one sentence."""
    if asks_what_if(unit) or declares_no_incident(unit):
        return set(INCIDENTS)
    return {"outage", "data_loss"} if says_it_works(unit) else set()


def message_vetoes(text: str) -> set[str]:
    """Incident reasons the learned detectors may not claim for this message."""
    found = set(INCIDENTS) if declares_no_incident(text) else set()
    if _JOKE_CULPRIT.search(text):
        found |= {"security", "data_loss"}
    if suspects_own_setup(text) or works_in_one_of_theirs(text):
        found |= {"outage", "data_loss"}
    if asks_how_it_counts(text):
        found.add("data_loss")
    if _ABOUT_MY_ACCOUNT.search(text):
        found.add("outage")
    return found
