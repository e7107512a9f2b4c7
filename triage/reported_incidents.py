"""Incidents a customer reports in words a rule can name, beside ``triage.handover_rules``: access nobody asked
for, and something broken for everyone on the customer's side. Each is a report, never a question."""

from __future__ import annotations

import re

# Access no one asked for, reported rather than asked about: sign-ins an alert calls anomalous ("SIEM alert: 14
# anomalous sign-ins"), or another customer's data on the customer's screen ("event names that aren't ours",
# "a project selector showing a project that is not one of ours"), or our integration delivering to a workspace
# that is not theirs ("connected to a Slack workspace called "acme-sw-team", which is not ours"). A question
# ("how do we spot suspicious logins?") reports nothing.
_FOREIGN_ACCESS = re.compile(
    r"\b(?:anomalous|suspicious) (?:sign[- ]?ins?|log[- ]?ins?|logins|sessions?|access)\b|"
    r"\b(?:events?|data|projects?|dashboards?|names?|records?|users?|customers?|accounts?|buckets?|workspaces?|"
    r"organi[sz]ations?|orgs?|tenants?)\b[^.?!]{0,40}"
    r"\b(?:(?:that|which) (?:are|is) not ours|aren'?t ours|isn'?t ours)\b|"
    r"\bnot one of our (?:projects|accounts|dashboards|buckets|users|organi[sz]ations)\b|"
    r"\b(?:somebody|someone|a stranger|an unknown (?:party|person)) (?:else )?(?:is|are|was|has been) "
    r"(?:using|accessing|signing in|logging in)\b|"
    r"\b(?:someone else'?s|another (?:company|customer|organi[sz]ation)'?s) "
    r"(?:data|projects?|dashboards?|events|users)\b",
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


def foreign_access(sentences: list[str]) -> bool:
    return any(
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
    r"\b(?:can'?t|cannot|unable|blank|empty|white page|spins?|spinning|error\w*|down|disabled|paused|unavailable|"
    r"nothing (?:loads|works|can)|(?:won'?t|not) load(?:ing)?|fail\w*|broken|stuck|"
    r"time[sd]? ?out|[45]\d\d)\b",
    re.I,
)


def broken_for_everyone(sentences: list[str]) -> bool:
    for i, s in enumerate(sentences):
        nearby = " ".join(sentences[i : i + 2])  # the failure may be told in the next sentence
        if _FOR_EVERYONE.search(s) and not s.rstrip().endswith("?") and not _A_SETTING.search(s):
            if _FAILING.search(nearby):
                return True
    return False
