"""Incidents a customer reports in words a rule can name, beside ``triage.handover_rules``: access nobody asked
for, a change to access nobody on their side made, something broken for everyone on the customer's side, and a
secret exposed in one sentence and named in the next. Each is a report, never a question."""

from __future__ import annotations

import re

from domain.policy import EXPOSED, SECRET

# Access no one asked for, reported rather than asked about: sign-ins an alert calls anomalous ("SIEM alert: 14
# anomalous sign-ins"), or another customer's data on the customer's screen ("event names that aren't ours",
# "a project selector showing a project that is not one of ours"), or our integration delivering to a workspace
# that is not theirs ("connected to a Slack workspace called "acme-sw-team", which is not ours"). A question
# ("how do we spot suspicious logins?") reports nothing.
_FOREIGN_ACCESS = re.compile(
    r"\b(?:anomalous|suspicious) (?:sign[- ]?ins?|log[- ]?ins?|logins|sessions?|access)\b|"
    # "SIEM alert: anomalous Lumora API usage", "Query API volume from unrecognised network"
    r"\b(?:anomalous|suspicious) (?:lumora |our )?(?:api )?(?:usage|activity|calls|requests|queries)\b|"
    r"\bfrom (?:an? )?(?:unrecogni[sz]ed|unknown|foreign) (?:network|ip|address|asn|location|country)\b|"
    r"\b(?:events?|data|projects?|dashboards?|names?|records?|users?|customers?|accounts?|buckets?|workspaces?|"
    r"organi[sz]ations?|orgs?|tenants?)\b[^.?!]{0,40}"
    r"\b(?:(?:that|which) (?:are|is) not ours|aren'?t ours|isn'?t ours)\b|"
    r"\bnot one of our (?:projects|accounts|dashboards|buckets|users|organi[sz]ations)\b|"
    r"\b(?:somebody|someone|a stranger|an unknown (?:party|person)) (?:else )?(?:is|are|was|has been) "
    r"(?:using|accessing|signing in|logging in)\b|"
    r"\b(?:someone else'?s|somebody else'?s|another (?:company|customer|organi[sz]ation)'?s) "
    r"(?:data|projects?|dashboards?|reports?|funnels?|events|users|numbers|figures)\b",
    re.I,
)


# Someone removed still getting in ("we removed a contractor from the organization on 3 November, but the audit
# log shows his address signing in yesterday"): access we should have ended.
_ACCESS_AFTER_REMOVAL = re.compile(
    r"\b(?:removed|offboarded|deactivated|deleted|revoked|disabled|left (?:the|our) (?:company|team|organi[sz]ation))"
    r"\b[^?!]{0,160}\b(?:but|yet|still|and now)\b[^?!]{0,120}\b(?:signing in|signed in|logging in|logged in|"
    r"log-?ins?|sign-?ins?|accessed|accessing|downloading|downloaded|exported|exporting)\b",
    re.I,
)


# Their private figures in an outsider's hands ("a producer from a rival studio quoted our D7 retention", "I'd
# like to know how they got out"): a leak only we can trace.
_OUR_DATA_OUTSIDE = re.compile(
    r"\b(?:rivals?|competitors?|outsiders?|strangers?|someone outside|another (?:company|studio|firm|agency))\b"
    r"[^.?!]{0,80}\b(?:quoted|knew|knows|had|has|showed|mentioned|cited|got hold of|published|posted)\b[^.?!]{0,20}"
    r"\bour\b|\b(?:how|where) (?:they|it|these|those|the (?:numbers|figures|data)) (?:got|leaked|came) out\b",
    re.I,
)


# The same told over neighbouring sentences, the access first ("a freelancer we stopped working with posted a
# screenshot of our dashboard with yesterday's numbers. We removed him from Lumora months ago. No idea how he's seeing
# it."): someone removed who still sees the customer's data.
_REMOVED = re.compile(
    r"\b(?:removed|offboarded|deactivated|revoked|disabled|kicked out|stopped working with|let (?:him|her|them) go|"
    r"left (?:the|our) (?:company|team|organi[sz]ation|agency))\b",
    re.I,
)
_STILL_SEES = re.compile(
    r"\b(?:he|she|they)(?:'s|'re| is| are| was| were| has been| have been)? (?:still )?(?:seeing|viewing|accessing|"
    r"getting in(?:to)?|logging in|signing in)\b|"
    r"\b(?:he|she|they) (?:can )?still (?:see|view|access|open|get in(?:to)?|log in|sign in)\b",
    re.I,
)


def _still_sees_after_removal(sentences: list[str]) -> bool:
    told = [s for s in sentences if not s.rstrip().endswith("?")]
    return any(
        _STILL_SEES.search(s) and any(_REMOVED.search(r) for r in told[max(0, i - 2) : i + 3])
        for i, s in enumerate(told)
    )


def foreign_access(sentences: list[str]) -> bool:
    return _still_sees_after_removal(sentences) or any(
        (_FOREIGN_ACCESS.search(s) or _ACCESS_AFTER_REMOVAL.search(s) or _OUR_DATA_OUTSIDE.search(s))
        and not s.rstrip().endswith("?")
        for s in sentences
    )


# Broken for everyone on the customer's side ("a banner saying saving is disabled for everyone in our organization",
# "blank for all of us"): a fault of ours. Not a setting asked for everyone ("can we make 2FA mandatory for
# everyone?") nor a question.
_FOR_EVERYONE = re.compile(
    r"\b(?:for|affects?|affecting) (?:everyone|everybody|all of us|every user|all (?:our|of our) users|"
    r"the whole (?:team|company|org\w*|office))\b",
    re.I,
)
_A_SETTING = re.compile(
    r"\b(?:mandatory|compulsory|require\w*|force|enforce|make|turn(?:ing)? (?:on|off)|enable|disable)\b", re.I
)
_FAILING = re.compile(
    # ("no errors at all" tells none)
    r"\b(?:can'?t|cannot|unable|blank|empty|white page|spins?|spinning|(?<!\bno )(?<!\bwithout )error\w*|down|disabled|"
    r"paused|unavailable|nothing (?:loads|works|can)|(?:won'?t|not) load(?:ing)?|(?<!\bno )fail\w*|broken|stuck|"
    r"time[sd]? ?out|[45]\d\d)\b",
    re.I,
)


# The same failure for different people of theirs ("Different people, different reports, same result."), told after
# the failure.
_SAME_FOR_ALL = re.compile(
    r"\b(?:different|other) (?:people|users|colleagues|team members|accounts)\b[^.?!]{0,60}"
    r"\bsame (?:result|thing|error|problem|issue)\b",
    re.I,
)


def broken_for_everyone(sentences: list[str]) -> bool:
    for i, s in enumerate(sentences):
        if _SAME_FOR_ALL.search(s) and _FAILING.search(" ".join(sentences[max(0, i - 1) : i + 1])):
            return True
        nearby = " ".join(sentences[i : i + 2])  # the failure may be told in the next sentence
        if _FOR_EVERYONE.search(s) and not s.rstrip().endswith("?") and not _A_SETTING.search(s):
            if _FAILING.search(nearby):
                return True
    return False


# A change to access nobody on the customer's side made: they disown it ("nobody on my team made that change",
# "none of us created", "none of them was awake", "an account called it-sync that we don't have", "we don't own
# that domain") in the same sentence as what it touched (a key, a role, an admin, an origin, a sign-in). Either
# alone is everyday ("nobody here changed the funnel"; "which role can add keys?"); together, only we can tell who.
# "If nobody changed the password, ..." asks, it reports nothing.
_DISOWNED = re.compile(
    r"(?<!\bif )\b(?:nobody|no one|none of us|none of them|none of our (?:\w+ )?(?:admins|owners|team|people|staff|"
    r"colleagues|engineers|developers|members))(?: [\w'-]+){0,4}? "
    r"(?:re-?)?(?:remembers?|recalls?|made|added|changed|created|turned|switched|set|enabled|disabled|invited|approved|"
    r"requested|authori[sz]ed|connected|linked|installed|was (?:awake|trying|signed in|working|online|logged in))\b|"
    r"\b(?:that|which|whom?) (?:we|i) (?:don'?t|do not|didn'?t|did not|never) (?:have|own|know|recogni[sz]e|asked|"
    r"requested)\b|"
    # "an admin account we never created"
    r"\b(?:admins?|accounts?|users?|members?|keys?|tokens?|webhooks?|integrations?)\b[^.?!]{0,20}\b(?:we|i) "
    r"(?:never|didn'?t|did not) (?:create|add|invite|set up|make|made)\w*|"
    # "from an address we don't know", "a session from a country none of us have been to"
    r"\b(?:address|ip|location|country|city|device|browser|network)(?:es|s)? (?:that )?(?:we|i|none of us|nobody here) "
    r"(?:don'?t|do not|didn'?t|did not|have never|has never|never|have|has) (?:ever )?(?:know|recogni[sz]e|use|own|"
    r"been)\b|"
    r"\bwe (?:don'?t|do not) (?:own|recogni[sz]e) (?:that|this|the|it)\b|"
    # "not a workspace anyone here has heard of", "I never started a transfer", "a hosting provider we do not use"
    r"\bnot (?:a|an|the) \w+ (?:anyone|anybody|we|i) (?:here |on our side )?(?:has|have) (?:ever )?heard of\b|"
    r"\b(?:i|we) (?:never|didn'?t|did not) (?:start|initiat|request|approv|authori[sz])\w* (?:a|an|the|this|any)\b|"
    r"\b(?:provider|host|network|cloud|data ?cent(?:er|re))s? (?:that )?(?:we|i) (?:don'?t|do not|never) "
    r"(?:use|know|own)\b|"
    # "my password was changed. it wasnt me", "password changed - not me"
    r"\b(?:it|that|this)\s+(?:wasn'?t|wasnt|was not|was never)\s+(?:me|us|one of us|anyone here)\b|[-–:]\s*not me\b|"
    # "none of us did that", "everyone on the team says not me"
    r"\b(?:nobody|no one|none of us|none of them)(?: here| on (?:the|our) team)? did (?:that|this|it)\b|"
    r"\b(?:everyone|everybody|all of us)\b[^.?!]{0,30}\bsays? (?:it wasn'?t (?:them|me)|not me)\b|"
    # an alibi for what was done with their own account ("i was hiking all weekend, zero signal")
    r"\b(?:i|we) (?:was|were) (?:hiking|asleep|sleeping|on (?:holiday|vacation|leave|a plane|a flight)|offline|"
    r"travel+ing|camping|away)\b[^.?!]{0,60}\b(?:didn'?t|did not|never) (?:touch|log in|sign in|use|open)\b",
    re.I,
)
_ACCESS = re.compile(
    r"\b(api[- ]?keys?|keys?|origins?|domains?|roles?|admins?|owners?|sso|saml|passwords?|2fa|two-factor|"
    r"sign[- ]?ins?|sign in|signed in|log[- ]?ins?|log in|logged in|sessions?|webhooks?|exports?|members?|invit\w+|"
    r"permissions?|"
    r"audit log|locked|workspaces?|integrations?|ownership|transfer|calls|requests|destinations?|buckets?)\b",
    re.I,
)


def disowned_change(sentences: list[str]) -> bool:
    """What "it" is may be named in the sentence before ("an export destination ... none of us created it"), unless
    that sentence asks ("Which role can create API keys? Nobody here remembers.")."""
    for i, s in enumerate(sentences):
        before = sentences[i - 1] if i and not sentences[i - 1].rstrip().endswith("?") else ""
        if _DISOWNED.search(s) and _ACCESS.search(f"{before} {s}"):
            return True
    return False


# A secret told exposed over two sentences ("the cached copy is still in the search results. The secret key is the
# production key"): the security rule reads one sentence at a time.
_SECRET_NAMED = re.compile(rf"\b{SECRET}\b", re.I)
_EXPOSURE = re.compile(rf"(?<!\bno )(?<!\bnot )(?<!\bnever )\b{EXPOSED}\b", re.I)  # not "No leak or incident."


def secret_exposed_across(sentences: list[str]) -> bool:
    return any(
        _SECRET_NAMED.search(s) and _EXPOSURE.search(sentences[i - 1]) and not sentences[i - 1].rstrip().endswith("?")
        for i, s in enumerate(sentences)
        if i and not s.rstrip().endswith("?")
    )
