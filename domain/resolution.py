"""Is the customer telling us the fix worked, and nothing more? One detector for every model.

"yep, clearing the cache sorted it, ta", "brilliant, all working now", "that did the trick" and
"all good now, you can close this" confirm the fix: the ticket can close (a short closing line and
the survey). "Thanks! One more thing: …", "that worked, but now …" and "thanks, and how do I …?"
confirm something and ask something else: they must be answered.

The rule, in three parts, each written as a class of expressions rather than a list of messages:

1. a confirmation: a verb of fixing or working ("worked", "sorted", "fixed", "did the trick", "that
   was it", "all good", "back to normal", "I'm in", "works 👍"), or a request to close the ticket;
2. nothing left open: no question, no hedge ("but", "still", "not yet", "however"), no negated fix
   ("didn't work", "not fixed"), no new request ("one more thing", "also, can you", "how do I",
   "quick follow-up", "I need"), no report of a new problem ("now I get an error");
3. short, as confirmations are: a long message almost always carries something new.

A learned detector (``triage.resolution``: sentence embeddings, a threshold chosen out-of-fold) may
stand in for part 1; parts 2 and 3 always apply. Pure; works on the customer's new words (see
`domain.customer_text`), so a quoted earlier reply that said "this should fix it" does not count.
"""

from __future__ import annotations

import re

MAX_CONFIRMATION_WORDS = 45

_CONFIRMS = re.compile(
    r"\b(?:work(?:s|ed|ing)\b|(?:got|get|have|has) (?:it|them|everything) working|fixed|solved|resolved|sorted|"
    r"did (?:it|the trick|the job)|(?:that|this) (?:was|is) it|that's it|nailed it|(?:it's|that's|everything's) "
    r"fine now|"
    r"all (?:good|set|sorted|fine|working|clear|fixed|done)|good to go|up and running|"
    r"back (?:to normal|up|online|in business)|(?:is|are) (?:back|showing|arriving|flowing|coming (?:in|through)|"
    r"loading|syncing|there) now|"
    # "I'm in!" is a sign-in that worked; "we're in Toronto" says where they are.
    r"(?:i'm|i am|we're|we are|she's|she is|he's|he is|they're|they are) (?:in(?=\s*(?:[.!,;:)]|$|now\b|"
    r"again\b|thanks?\b|cheers\b|ta\b|\U0001f44d))|back in|logged in|through)\b|got (?:in|back in|logged in|through)\b|"
    r"(?:error|issue|problem|warning)s?(?:'s| is| are| has| have)? (?:now )?gone|no more (?:errors?|issues?|"
    r"problems?|failures?|timeouts?|crash(?:es)?|\d{3}s?(?: errors)?)|"
    r"(?:running|syncing|loading|arriving|flowing|showing|sending|exporting) (?:again|fine|now)|"
    r"no longer (?:fail|happen|show|error|an issue|a problem)\w*|"
    # "it loads now", "the sync runs fine again", "events are coming in" (and nothing open after it)
    r"(?:loads|works|runs|syncs|connects|renders|opens|validates|passes|goes through|comes up) (?:now|again|fine)|"
    r"(?:is|are) (?:coming in|coming through|arriving|flowing|showing up)(?=\s*(?:[.!,;]|$|again\b))|"
    # an explanation accepted: "that explains it, nothing to fix then"
    r"(?:that|this) explains (?:it|everything|the \w+)|"
    r"(?:you can|you may|feel free to|please|go ahead and) close|close (?:this|it|the ticket) (?:now|off)?|"
    r"can be closed|mark (?:it|this|the ticket) (?:as )?(?:resolved|solved|closed|done)|"
    r"consider (?:this|it|the ticket) (?:closed|resolved|solved|done|sorted)|"
    # "now it works", "the codes work now", "all green since", "the console is clean now", "it shows Paid now"
    r"(?:now|again) (?:it|they|everything|all|the \w+) (?:works?|loads?|runs?|passes)|work (?:now|again|fine)|"
    r"all green|(?:is|are|looks?) clean now|(?:all )?match(?:es|ing) now|(?:shows?|says) paid|went through|"
    r"(?:test|check) passes)",
    re.IGNORECASE,
)
# Said with a thumbs-up or a tick, a bare "works" is a confirmation too.
_THUMBS = re.compile("[\U0001f44d\u2705\u2714\U0001f64c\U0001f389]")

# Phrases that look negative but confirm ("no more errors", "no longer fails", "no problem").
_NEGATIVE_LOOKING_POSITIVE = re.compile(
    r"\bno (?:more|longer)\b|\bno (?:problem|worries|issues? (?:now|anymore|any more))\b|\bnot anymore\b|"
    r"\bno (?:further|other|more) (?:questions?|issues?)\b|\bnothing (?:else|more|further) (?:needed|from (?:me|us))\b|"
    r"\bnothing (?:has )?(?:failed|broken|errored|crashed|dropped)\b|\bno (?:failures?|errors?) (?:since|for)\b|"
    r"\bnothing (?:to fix|(?:else )?to do)\b|"
    # "Did what you suggested": the fix they applied, not a question
    r"\b(?:did|done|tried|followed|changed) (?:exactly |just )?what you "
    r"(?:said|suggested|recommended|described|wrote)\b",
    re.IGNORECASE,
)
_OPEN = re.compile(
    # a question, a hedge or a contrast
    r"\?|\b(?:but|however|though|although|except|unless|still|yet|anymore|partly|partially|sort of|kind of|"
    r"seems? to|for now|so far|mostly|almost|maybe|might|perhaps|probably|btw|by the way|p\.?s\.?|only)\b|"
    # a fix promised, not seen ("You promised this would be fixed on Monday")
    r"\b(?:promised|supposed to|meant to|would be (?:fixed|sorted|solved|resolved)|were told|was told)\b|"
    # a negation (of the fix, or of anything: a confirmation does not need one)
    r"\b(?:not|no|never|nothing|none|nor|neither|without)\b|n't\b|\b(?:cannot|cant|dont|doesnt|didnt|isnt|wont)\b|"
    # a new request or question
    r"\b(?:one|a|another|1) more (?:thing|question|issue|request)|\banother (?:question|thing|issue|problem)\b|"
    r"\b(?:quick|separate|unrelated|related|small|follow[- ]?up|other|second|next|new|last) (?:question|"
    r"follow[- ]?up|thing|issue|request)\b|\bfollow[- ]?up\b|"
    r"\b(?:how|what|where|when|why|which|who|is there|are there|do you|does it|can i|can we|could i|could we|"
    r"should i|should we)\b|"
    # a question asked without its question mark ("is lumora dropping them or is it the timezone")
    r"(?:^|[.!;:,]\s+|\bor\s+)(?:is|are|does|do|can|could|will|would|should)\s+(?:it|this|that|there|lumora|you|"
    r"we|i|they|he|she|the|my|our|your|its|their|anyone|someone)\b|"
    r"\b(?:can|could|would|will) you\b|\bplease (?!close)\w+|\b(?:i|we) (?:need|want|would like|'d like|"
    r"wonder|was wondering|have (?:a|another))\b|\b(?:i|we)'d like\b|\bwondering\b|\bwhat about\b|"
    r"\bany (?:idea|chance|way)\b|\bis it possible\b|\bhelp (?:me|us)\b|"
    # a new problem reported alongside (a cause told in the past, "the clock was off", is no new problem)
    r"\b(?:then|again|now) (?:it |they |the \w+ )?(?:stopped|broke|fails?|failed|failing|crashe[sd])\b|"
    r"\b(?:stopped|broke|deleted|lost)\b|\beverything else\b|"
    r"\b(?:stops|breaks|fails|failing|crashes|crashing|(?:is|are) (?:broken|missing|empty|blank|wrong))\b|"
    # ("we added the missing scope" names the cause that was fixed)
    r"\b(?<!the )(?<!a )(?:empty|blank|missing)\b|"
    r"\b(?:now|instead) (?:i|we|it|the|there|they|get|got|getting|see|shows?|says?)\b|"
    r"\berror\b(?!s? (?:is |are )?gone)",
    re.IGNORECASE,
)


# Asked to close ("Thanks, please close", "consider this closed"), not to keep open: the customer decides the case
# is done, so a cause told in the negative ("the key policy didn't include your role") or a hedge about it does
# not hold it open; a question or a new request still does.
_CLOSE_REQUEST = re.compile(
    r"\b(?:(?:you can|you may|feel free to|please|go ahead and) close|can be closed|consider (?:this|it|the ticket) "
    r"(?:closed|resolved|solved|done)|mark (?:it|this|the ticket) (?:as )?(?:resolved|solved|closed|done))\b",
    re.IGNORECASE,
)
_KEEP_OPEN = re.compile(r"\b(?:don'?t|do not|not|never|no need to)\s+(?:\w+\s+)?close\b|\bnot yet\b|\breopen", re.I)
_ASKS_MORE = re.compile(
    r"\?|\b(?:one|a|another|1) more (?:thing|question|issue|request)|\banother (?:question|thing|issue|problem)\b|"
    r"\b(?:quick|separate|unrelated|related|small|other|second|next|new|last) (?:question|thing|issue|request)\b|"
    r"\bfollow[- ]?up\b|\b(?:how|what|where|when|why|which|is there|are there|can i|can we|could i|could we)\b|"
    r"\b(?:can|could|would|will) you\b|\b(?:i|we) (?:still )?(?:need|want|would like|'d like|wonder)\b|\bwondering\b|"
    r"\bstill\b|\b(?:now|again) (?:it |they |the \w+ )?(?:stopped|broke|fails?|failed|failing|crashe[sd])\b",
    re.IGNORECASE,
)


def asks_to_close(text: str) -> bool:
    """The customer asks us to close the ticket and asks nothing more."""
    return bool(_CLOSE_REQUEST.search(text)) and not _KEEP_OPEN.search(text) and not _ASKS_MORE.search(text)


def says_fixed(text: str) -> bool:
    """True when the words confirm a fix (part 1 of the rule), whatever else the message says."""
    return bool(_CONFIRMS.search(text)) or bool(_THUMBS.search(text) and re.search(r"\bworks?\b", text))


def leaves_something_open(text: str) -> bool:
    """True when the message asks, hedges, negates or reports something new (part 2 of the rule): that
    always wins over a confirmation, however it was recognised."""
    remainder = _NEGATIVE_LOOKING_POSITIVE.sub(" ", text)
    remainder = _CONFIRMS.sub(" ", remainder)  # "problem gone" is a confirmation, not a new problem
    return bool(_OPEN.search(remainder))


def confirms_resolution(text: str, *, learned: bool = False) -> bool:
    """True when the message confirms the fix and leaves nothing open (see the module doc).

    ``learned``: a learned detector (``triage.resolution``) recognised a confirmation the expressions of
    part 1 do not know ("it loads now, ta"); parts 2 and 3 still apply.
    """
    latest = " ".join(text.split())
    if not latest or len(re.findall(r"\w+", latest)) > MAX_CONFIRMATION_WORDS:
        return False
    if not (learned or says_fixed(latest)):
        return False
    return asks_to_close(latest) or not leaves_something_open(latest)
