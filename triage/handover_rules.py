"""The rules beside the learned hand-over detectors: phrasings precise enough to decide alone, and
vetoes for the hard negatives a sentence embedding blurs ("I'll sue myself", "my fault")."""

from __future__ import annotations

import re

from domain.policy import SECRET_EXPOSED, asks_for_a_person, asks_for_a_person_explicitly
from triage import not_aimed_at_us, not_an_incident, not_ours, repeated_contact, reported_incidents
from triage.sentiment import FRUSTRATION, polarity, reports_problem
from triage.unexplained_fault import unexplained_fault

_SERVICE = r"(your |the )?(site|website|app|api|service|platform|dashboard|servers?|backend|system|login)"
_RULES: dict[str, re.Pattern[str]] = {
    "person": re.compile(
        r"\b(speak|talk) (to|with) (someone|somebody) (in charge|from your team|real)\b|"
        r"\b(actual|real|living) (human|person|(support )?(rep|representative|agent|engineer))\b|"
        r"\bhuman being\b|\bno more bots\b|"
        # "an actual support rep, not the auto-responder"
        r"\bnot (the|an?) (auto-?responder|bot|chatbot|automated (reply|answer|system))\b|"
        # "could you assign this to one of your team?"
        r"\b(assign|give|hand|pass) (this|it|the ticket|the case) to (one of your|someone on your|somebody on your|"
        r"a member of your) (team|staff|engineers|people|colleagues)\b|"
        # "I want somebody on the Lumora side ... to look over the plan"
        r"\b(somebody|someone|a person) (on|from|at) (the lumora side|your side|your end|lumora)\b[^.?!]{0,30}"
        r"\bto (look|review|check|go through|walk|help|handle|read)\b|"
        r"^\W*((an? )?(operator|human|person|representative|agent)\W*(please|pls|plz)?\W*){1,3}$|"
        # One person to own the case ("assign this ticket to one named person", "take ownership of this case").
        r"\b(assign|hand|give) (this|the|my|our) (ticket|case|issue) to (one|a|an) (named |specific |single )?"
        r"(person|human|engineer|agent|member of (your )?staff)\b|"
        # "asks that this case be reassigned to a named Lumora support engineer and that automated answers stop"
        r"\b(re)?assign(ed)? (this |it )?to (one|a|an) (named|specific|single|dedicated) (\w+ ){0,2}(person|human|"
        r"engineer|agent|rep|representative|member of (your )?staff)\b|"
        r"\bopted out of (automated|automatic|bot|ai|machine) (responses|replies|answers)\b|"
        r"\b(automated|automatic|canned|bot) (answers|replies|responses) (to )?stop\b|"
        r"\bstop (the |sending )?(automated|automatic|canned|bot) (answers|replies|responses)\b|"
        r"\btake ownership of (this|the|my|our) "
        r"(case|ticket|issue)\b|"
        # One of our staff in particular ("could you assign this ticket to Joanna, who did our migration", "route
        # it to whoever on your team took over her accounts"); not a colleague of theirs ("Sue in our accounts").
        r"\b(assign|route|hand|give|forward|pass|transfer|escalate) (this|the|my|our) (ticket|case|request|thread|"
        r"conversation)( over| on| back)? to (?-i:[A-Z][a-z]+)\b(?! (in|from|on|at) our\b)|"
        r"\b(assign|route|hand|give|forward|pass|transfer|escalate) (this|it|the|my|our)( ticket| case| request|"
        r" thread| conversation)?( over| on| back)? to (whoever\b|the (same |original )?(person|engineer|agent|"
        r"colleague|staff member|team member) who\b)|"
        r"\blands? on (their|his|her) desk\b|"
        # "asks that a Lumora employee pick this up personally", "someone from your staff handle it personally"
        r"\b(pick|take|handle|look at|deal with|answer|reply to|follow up on) (this|it|the (ticket|case|request))"
        r"( up| on)? personally\b|"
        # "we would like a support engineer from Lumora to go through ...", "A person on your side, please"
        r"\b(would like|wants?|needs?|request(s|ing)?|ask(s|ing)? for) (a|an|one of your) (support )?"
        r"(engineer|person|human|member of (your )?staff|staff member|specialist) (from|at|on) "
        r"(lumora|your (side|team|end))\b|"
        r"\b(a|an|one) (real |actual )?(person|human|engineer|member of (your )?staff|staff member) (on|from|at) "
        r"(your (side|end|team)|lumora)\W{1,3}(please|pls|plz)\b|"
        # Someone of theirs live with us ("could one of your engineers join our Slack channel", "join our sync").
        r"\b(someone|somebody|one of your (engineers|team|staff|people)|an engineer|a person)\b[^.?!]{0,30}"
        r"\b(join|hop on|jump on|sit in on)\b[^.?!]{0,30}\b(call|meeting|sync|zoom|slack|channel|session|standup)\b|"
        # ... or run one for their people ("someone in your onboarding team who could run a short session with them")
        r"\b(someone|somebody|one of your (engineers|team|staff|people))\b[^.?!]{0,60}\b(run|give|hold|lead|host)\b"
        r"[^.?!]{0,30}\b(session|call|meeting|training|walkthrough|workshop)\b|"
        # "pass me to whoever is on shift", "stop generating and ..."
        r"\bpass (me|this|us) (on )?to (whoever|someone|somebody|a person|a human|an agent)\b|\bstop generating\b|"
        # "who's actually on the support rota today? put them on"
        r"\bwho('?s| is) (actually )?on (the )?(support )?(rota|shift|duty)\b|"
        r"\bput (them|someone|somebody|a (person|human)) on( the (line|phone|call|chat))?\s*(pls|please|plz)?\s*[,.!?]|"
        # a call back asked for, also when relayed ("requester asks that your staff phone him back")
        r"\b(phone|call|ring) (me|us|him|her|them) back\b|\bcall-?back (request(ed)?|wanted|please)\b|"
        r"\brequest type:? [\w ]{0,20}call-?back\b|"
        # someone able to find what the help centre cannot ("I would like someone who can actually find the cause")
        r"\b((i|we)('d| would) like|(i|we) (need|want)) (someone|somebody|a person|a human|an engineer|one of your "
        r"(engineers|people|staff)) (who|that) (can|could|will|is able to) (actually |really |properly )?(find|fix|"
        r"investigate|dig into|look into|get to the bottom|figure out|work out)\b|"
        # someone with the authority to agree ("who on your side can negotiate and sign it", "someone who can sign off")
        r"\b(who|someone|somebody|a person|anyone)\b[^.?!]{0,30}\b(can|could|is able to|is authori[sz]ed to|has (the )?"
        r"authority to) (negotiate|sign|countersign)\b",
        re.I,
    ),
    "legal": re.compile(
        r"\b((contact|call|consult|consulting|instructed|hearing from|speak to|talk to) (my|our|a|an) "
        r"(lawyers?|attorneys?|solicitors?|counsel)|(my|our) (lawyers?|attorneys?|solicitors?) "
        r"(will (be )?(in touch|contact|hear|take|pursue|file|sue)|(is|are) (already )?involved)|"
        r"our legal (team|department|counsel) will (be (in touch|contacting)|contact you|take|pursue|follow up)|"
        r"legal (action|demand|proceedings|steps)|lawsuit|class[- ]action|"
        r"sue (you|your|them|the company)|see you in court|take (you|this) to court|small claims|money claim online|"
        # "a judge can decide who pays", "our GC is already drafting"
        r"(a|the) judge (can|will|could|gets to|should) decide|(our|my) (gc|general counsel|legal counsel|lawyers?|"
        r"attorneys?|solicitors?) (is|are) (already )?(drafting|preparing|writing)|"
        r"cease and desist|gdpr complaint|data protection authority|demand letter|letter before action|"
        r"(third[- ]party )?defendant|plaintiff|subpoena|litigation hold|pending litigation|"
        r"served with (a|an) (complaint|claim|lawsuit|summons|notice))\b|"
        # a complaint to a regulator, by its role or its name
        r"\b(complaint|report(ing)? (you|this|it|your company)) (with|to) (the |my |our )?"
        r"(regulators?|supervisory authority|ombudsman|(privacy |information )?commissioner|"
        r"(data protection|privacy|consumer protection) (authority|agency|regulator)|"
        r"ico|cnil|ftc|bbb|aepd|cnpd|garante|dpc|attorney general|trading standards)\b",
        re.I,
    ),
    "security": re.compile(
        # A live secret key written out in full: a support ticket is no place for one, and wherever the customer
        # copied it from is likely as readable (the help centre: treat a leaked secret key as an incident).
        r"\blsk_live_[A-Za-z0-9]{8,}|"
        + SECRET_EXPOSED
        + r"|\b((?<!never )(?<!n't )(?<!not )(been|was|were|got|is|are|get) hacked|hacked (into|our|my)|"
        r"(been|was|were|got|is|are) compromised|phishing (e-?mails?|mails?|messages?|sites?|pages?|links?|attack)|"
        r"unauthori[sz]ed (access|login|logins)|"
        r"(data|security) breach|credentials? (leaked|exposed))\b|"
        # someone with no right to it getting in ("either they still have a way in", "how they are getting in")
        r"\b(still (have|has|had|got)|found) a way in\b|"
        r"\bhow (they|he|she|someone|somebody|the \w+)( are| is| were| was|'re|'s)? (still )?(getting|got|gets) in\b|"
        # a secret shipped where others can read it: an app bundle, a screenshot, a recording
        r"\b(secret|live|private|api|access|server|signing) (key|token)s?\b.{0,80}\b(bundled?|hard-?coded|"
        r"shipped|screenshots?|recording|video|on screen|pastebin|stack ?overflow|decompiled?)\b|"
        # a browser capture (HAR) somewhere public: it carries the session's cookies, so whoever reads it is signed in
        r"\bhar (files?|captures?|exports?)\b[^.?!]{0,100}\b(public(ly)?|forums?|community|github|gist|pastebin|"
        r"reddit|twitter)\b|\b(public(ly)?|forums?|community|github|gist|pastebin|reddit|twitter)\b[^.?!]{0,100}"
        r"\bhar (files?|captures?|exports?)\b",
        re.I,
    ),
    "outage": re.compile(
        rf"\b(?<!our )(?<!my )(?<!own ){_SERVICE} (is|are|went|seems|has gone|have gone) "
        r"(completely |totally )?(down|offline|unreachable)\b|"
        r"\bnobody can (log ?in|sign in|access|use)\b|\b(complete|total|full|major) outage\b|\bhard down\b|"
        r"\b(every|all|each) (single )?(api )?(calls?|requests?)\b.{0,60}"
        r"\b(5\d\d|5xx|time[sd]? ?out|fail(s|ed|ing)?)\b|"
        r"\b(5\d\d|5xx)s? (to|on|for) (every|all|each)\b|"
        # every chart, page or alert failing on our side ("every chart says 'Query took too long'", "none of our
        # alerts evaluated: internal error"), or other customers seeing the same
        r"\b(every|all|each|none of)( single| one)?( of)?( our| the| my)?( \d+)? (charts?|dashboards?|pages?|"
        r"quer(y|ies)|alerts?|reports?|widgets?|checks?|projects?)\b[^.?!]{0,80}\b(5\d\d|5xx|too long|"
        r"time[sd]? ?out|timing out|internal error|something went wrong|skipped|flat( zero)? line|zero line|"
        r"shows? (0|zero)|(is|are|says?) (0|zero))\b|"
        r"\b(other|another) (compan(y|ies)|customers?|lumora (customers?|users?))\b[^.?!]{0,50}"
        r"\b(see|sees|seeing|say|says|saying|have|has|report\w*|get|gets|getting|hit|hits|hitting|stopped|broke)\b"
        r"[^.?!]{0,20}\b(the same|too|as well)\b",
        re.I,
    ),
    "data_loss": re.compile(
        r"\b(lost (all )?(of )?(our |my )?(data|records|files|projects)|data (is|are|was|has been) (lost|gone|wiped)|"
        r"(data|records|files|projects|reports|documents|history) (are|is|have|has|were) (all )?"
        r"(gone|vanished|disappeared|been (deleted|wiped|erased)))\b|"
        r"\b(all|every|whole|entire)\b.{0,40}\b(dashboards?|funnels?|reports?|segments?|charts?|events|data|records|"
        r"files|projects|history|notes|annotations)\b.{0,40}\b(are|is|have|has|were) (all )?"
        r"(gone|vanished|disappeared|been (deleted|wiped|erased))\b",
        re.I,
    ),
    # A customer weighing whether to stay, however politely put ("we're evaluating alternatives before the
    # renewal", "what a migration to another vendor would cost", "why are we still paying"): unhappy. It
    # hands the ticket over only for a VIP or enterprise customer, as any unhappiness does.
    "unhappy": re.compile(
        r"\b(evaluat\w+|look\w* at|consider\w*|explor\w+|talk\w* to|see|seeing|compar\w+|review\w*) "
        r"(the |other |some )?(alternatives|other vendors|competitors)\b(?! (to|for)\b)|"
        # "what are we paying for?" asked of us, not of an invoice's lines ("what are we paying for on LUM-...?")
        r"\bwhat (are|am) (we|i) (even |actually |really )?paying (you )?for\s*(\?|!|$)|"
        r"\bmigrat\w+ (away|off|to (another|a different|a new) (vendor|provider|tool))\b|"
        r"\blost (a (good|great) deal of |some |all |much of our |our )?(confidence|trust)\b|"
        r"\b(can'?t|cannot|could not|couldn'?t) (in good conscience )?recommend (that )?(we )?(continu|renew)\w*|"
        r"\b(not|won'?t|unlikely to|hesitant to) (going to )?renew\b|"
        r"\bwhy (are )?we (are )?still paying\b|\b(not|far from) (thrilled|impressed|amused)\b|"
        # the same failure again and again, however drily told ("third week in a row our snapshot turns up late")
        r"\b(second|third|fourth|fifth|sixth|\d+(nd|rd|th)) (\w+ )?(time|day|night|morning|week|weekend|month|"
        r"quarter|year|"
        r"(mon|tues|wednes|thurs|fri|satur|sun)day|run|export|release|answer|invoice)s? (in a row|running)\b|"
        # "love paying pro prices for a blank email": praise of what they pay for what fails is sarcasm
        r"\b(really )?(love|loving) paying (\w+ ){0,4}(for|to)\b|"
        # a question of theirs nobody answered ("nobody has answered a single question about the rollover")
        r"\b(nobody|no one|no-one) (here |on your side |at lumora |from lumora |from your (side|team) )?"
        r"(has |have |had )?(ever )?(answered|replied|responded|got back|gotten back|followed up|told us|informed us|"
        r"warned us)\b|"
        # "I'd like to hear what you are going to do differently"
        r"\bwhat (you are|you're|you will|you'll|lumora is|lumora will) (going to )?(do|change) differently\b",
        re.I,
    ),
}
# The customer blames themselves or jokes: what reads as anger or a threat is not aimed at us.
_VETOES: dict[str, re.Pattern[str]] = {
    "legal": re.compile(
        r"\bsue (myself|me)\b|\b(copy of|download) (your|the) (dpa|terms)\b|"
        # "Nobody is going to sue anybody, I just like to know the rules."
        r"\b(nobody|no one|no-one)( here)?( is| was)? (going to |gonna |planning to |about to |threatening to )?"
        r"(sue|suing)\b|\bnot (going to |planning to |about to |threatening to )?(sue|suing)\b",
        re.I,
    ),
    # Not aimed at us either: "nothing to do with you", "a self-inflicted outage" ("not my
    # fault" is no self-blame).
    "angry": re.compile(
        r"\b((?<!not )(?<!n't )(?<!never )(my|our) (own )?(fault|mistake|bad|doing)|silly me|sue myself|"
        r"(at|with|blame|kick) (myself|ourselves)|i'?m (an|such an) idiot|(annoyed|frustrated|angry) "
        r"(at|with) (myself|ourselves)|my own typo|on (my|our) part|my apologies|sorry,? my mistake|"
        r"nothing to do with you|self[- ]inflicted|(entirely|completely|all) on us)\b",
        re.I,
    ),
}
_VETOES["unhappy"] = _VETOES["angry"]
# "No complaint here, I promise": not angry, though "not angry, just... had hoped" may still be unhappy.
_NOT_A_COMPLAINT = re.compile(r"\b(no complaints?( here| at all)?|not (a |an )?(complaint|complaining))\b", re.I)
# An outage is across the board and lasts: failures told as occasional, confined to one widget or over in a few
# minutes ("a handful of 502s a day, the rest are fine", "one widget says Query took too long", "429s for a few
# mins") are a how-to question about retries or limits. Over the spent sets these words came in 19 calm tickets
# and no outage (the rules still apply).
_VETOES["outage"] = re.compile(
    r"\b(a handful of|occasional(ly)?|now and then|from time to time|every so often|once in a while|"
    r"the rest (are|is|work|load|go)\w* (fine|ok|okay|through)|one (widget|chart|report|tile|panel) |"
    r"for a (few|couple of|couple) (mins?|minutes|secs?|seconds)\b|"
    # one heavy query hitting the documented time limit ("fails every time with a 504 and query_timeout")
    r"query_timeout)",
    re.I,
)
# Asking for a person always names one, or a way to reach one ("someone", "a human", "your staff", "call
# me", "escalate", "not a bot"). Without such a word a request ("please process it today", "how do you
# communicate incidents?") is a request to us, whatever a sentence embedding makes of it.
_PERSON_CUE = re.compile(
    # "people" but the customer's own ("most people vanish", "who those people are")
    r"\b(some ?(one|body)|any ?(one|body)|humans?|persons?|"
    r"(?<!those )(?<!these )(?<!most )(?<!many )(?<!few )(?<!\bour )(?<!\bmy )(?<!which )people|"
    r"personally|staff|agents?|reps?|"
    r"representatives?|operators?|managers?|supervisors?|engineers?|specialists?|colleagues?|employees?|team|tier|boss|"
    r"call(s|ed|ing|back)?|phone|ring|speak|talk|meeting|escalat\w*|transfer\w*|forward\w*|put (me|us) through|"
    r"in charge|member|directly|reach out|contact (me|us)|get back to (me|us)|bots?|chatbot|machine|automated|"
    # "a real person", "live chat", not "our real students", "live data" or "they live in one project"
    r"ai|assistant|canned|live (chat|agent|person|human|support|call|rep)|"
    r"(real|actual)(?! (students?|users?|customers?|data|traffic|events?|numbers?|figures?|projects?|world|life|"
    r"time)\b))\b",
    re.I,
)


# A sentence that plans for an incident or asks how one is handled ("what happens if a key leaks?", "for
# our runbook", "have you ever had a breach?") reports none: the incident rules skip it.
_HYPOTHETICAL = re.compile(
    r"\b(what happens|what should (we|i) do|how (would|do|can|should) (we|i|you) (know|detect|prevent|handle|tell)|"
    # "in case it happens"; not "probably nothing, but just in case: since an hour ago every widget ..."
    r"in case(?<!just in case)|in case(?!\s*[:,;-])|(we|i) pretend|let'?s pretend|"
    r"if (ever|someone|somebody|anyone|a|an) |"
    # "if it has ever been breached"; not "None of us has ever been invited to that organization"
    r"(?<!\bnone of us has )(?<!\bnobody has )(?<!\bno one has )(?<!\bnone of us have )ever (had|been)|runbook|"
    r"incident response|policy|plan(ning)? for|scenarios?|procedure|awareness|hypothetical(ly)?|"
    r"(was|were|am|i.m) (worried|afraid|scared)|i thought|"
    # what one would do to them ("a data breach would basically end us")
    r"would (basically |literally |probably |simply )?(end|kill|ruin|sink|destroy|finish) (us|me|the company))\b",
    re.I,
)
_INCIDENTS = ("security", "legal", "outage", "data_loss")
# The customer's own site or network went down ("our own site", "our staging server"): not our outage.
_THEIR_OWN_OUTAGE = re.compile(
    r"\b(our|my) (own )?([\w-]+ )?(site|website|servers?|backend|system|network|internet|wi-?fi|office|isp)\b", re.I
)
# A sentence that reports the customer's own site, server or endpoint going down ("our webhook receiver
# was down during a deploy", "our CDN had an incident"): the outage model reads the topic, not whose
# system it is, so its vote on such a sentence does not count (a sentence about our service still does).
_OWN_OUTAGE_REPORT = re.compile(
    r"\b(our|my) (own )?([\w'-]+ ){0,2}(site|website|servers?|backend|api|app|network|internet|wi-?fi|office|isp|"
    r"endpoint|receiver|cdn|host(ing)?|(\w+ )?(provider|vendor|supplier))\b[^.?!]{0,40}\b(down|offline|outage|"
    r"unreachable|crash\w*|broke|incident|downtime|wobble|hiccup|blip|glitch|belly[- ]up|fell over|died)\b|"
    r"\b(bug|problem|issue|fault|mistake) on our (side|end)\b",
    re.I,
)
# Every request failing the customer's own check ("every single request fails our signature check") is their
# verification code at fault, not our service.
_THEIR_CHECK = re.compile(r"\b(signatures?|hmac|verif\w+|validat\w+|fail\w* (the|our|my) (\w+ )?check)\b", re.I)
# Asking for sales, a demo, partnerships or a product team, or whether a support channel exists, is a
# request we answer, not a hand-over, even when it names a person ("talk to someone from sales").
_NOT_A_HANDOVER_PERSON = re.compile(
    r"\b(sales|demo|partnerships?|product team|feature (requests?|ideas?)|(your|the) community|community (forum|board|"
    r"site|slack|channel)|forum|"
    r"do you (offer|have|provide)|is there (a )?(phone|live chat|chat) support|"
    # how to reach support one day, asked for a runbook ("who do we yell at at 3am?", "the quickest route to you")
    r"who (do|should|can|would) (we|i) (yell at|shout at|call|ring|contact|ping|page|reach|escalate to)|"
    r"(quickest|fastest|best|right) (route|way|channel|path) to (reach )?(you|your (support|team|on-?call))|"
    r"how (do|can|should|would) (we|i) (reach|contact|get hold of) (you|your (support|team|on-?call))"
    r"( out of hours| outside (office|business) hours| at night| on weekends| in an emergency)?)\b",
    re.I,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")

# Data gone with nobody having removed it: the customer rules out their own deletion ("nobody here deleted
# it", "didn't touch it", "she says she didn't delete anything") and says what is gone ("shows 0 users", "no
# longer listed", "58,000 instead of 140,000", "don't seem to be anywhere", "missing"). Either alone is everyday
# troubleshooting; together they report a loss only we can explain.
_NOT_OUR_DELETION = re.compile(
    r"\b(?:nobody|no one|none of us)(?: here| on our (?:side|end|team))? (?:has |had )?(?:deleted|removed|touched|"
    r"archived|purged)\b|\b(?:we|i|she|he|they) (?:didn'?t|did not|didnt|haven'?t|have not|havent|hasn'?t|has not|"
    r"never|hadn'?t) "
    r"(?:\w+ )?(?:delete|deleted|remove|removed|touch|touched|archive|archived|purge|purged)\b|"
    r"\bdid(?:n'?t| not|nt) touch (?:it|them|anything)\b",
    re.I,
)
_GONE_STATE = re.compile(
    r"\b(?:shows?|showing|says|lists?) (?:only )?(?:0|zero|no|nothing)\b(?: \w+)?|"
    r"\b(?:is|are|was|were) (?:now |suddenly |completely )?(?:empty|gone|blank)\b|"
    r"\bno longer (?:listed|there|visible|shows?|appears?|in (?:the|our))\b|\b(?:disappeared|vanished)\b|"
    r"\b(?:instead of|down from) (?:about |roughly |around |nearly |almost )?[\d][\d,.]*k?\b|"
    r"\b(?:not|aren'?t|isn'?t|don'?t seem to be|doesn'?t seem to be|can'?t (?:be )?found?|cannot (?:be )?found?)\b"
    r"[^.?!]{0,20}\banywhere\b|\bnowhere to be (?:found|seen)\b|\bmissing\b",
    re.I,
)


# Something broken or gone since our maintenance ("since your maintenance window last night, all four of our apps
# get 401", "after this morning's maintenance our dashboard list shows 12"): the customer ties it to a change of
# ours. Not their own maintenance ("our server was down for maintenance") nor a question about a planned one.
_AFTER_OUR_MAINTENANCE = re.compile(
    r"\b(?:since|after) (?:your|the|last night'?s|yesterday'?s|this morning'?s|today'?s|\w+day'?s|\w+day night'?s) "
    r"(?:\w+ )?maintenance\b",
    re.I,
)
_BROKEN = re.compile(
    r"\b(?:every|all|nothing|none|no longer|stopped|broke\w*|fail\w*|errors?|reject\w*|can'?t|cannot|[45]\d\d)\b",
    re.I,
)
_GONE_SINCE = re.compile(r"\b(?:empty|blank|missing|gone|deleted|disappeared|vanished|fewer|less|shows? \d+)\b", re.I)


def _after_our_maintenance(sentences: list[str]) -> str | None:
    """The incident a sentence ties to our maintenance: "data_loss" when something is gone, else "outage"."""
    for s in sentences:
        if _AFTER_OUR_MAINTENANCE.search(s) and not s.rstrip().endswith("?"):
            if _GONE_SINCE.search(s):
                return "data_loss"
            if _BROKEN.search(s):
                return "outage"
    return None


def _unexplained_loss(text: str) -> bool:
    return bool(_NOT_OUR_DELETION.search(text) and _GONE_STATE.search(text))


def matches(text: str) -> set[str]:
    """Reasons a rule finds in the text on its own (an incident rule only in a sentence that reports one)."""
    text = not_an_incident.without_jokes(text)
    sentences = [s for s in _SENTENCE.split(text) if s.strip()] or [text]
    reported = [
        s
        for s in sentences
        if not _HYPOTHETICAL.search(s)
        and not not_an_incident.declares_no_incident(s)
        and not not_an_incident.asks_what_if(s)
    ]
    # an incident the customer disowns in its own sentence ("nothing to do with Lumora") is no report of one
    incidents_told = [s for s in reported if not not_ours.disowned_by_them(s)]
    found = set()
    for reason, rule in _RULES.items():
        checked = incidents_told if reason in _INCIDENTS else [text]
        if reason == "outage":
            checked = [s for s in checked if not _THEIR_OWN_OUTAGE.search(s) and not _THEIR_CHECK.search(s)]
        if reason == "security":
            checked = [s for s in checked if not not_ours.their_breach(s) and not not_ours.pasted_privately(s)]
        if reason == "legal":
            checked = [s for s in checked if not not_ours.their_lawsuit(s)]
        if any(rule.search(s) for s in checked):
            found.add(reason)
    if (asks_for_a_person(text) or asks_for_a_person_explicitly(text)) and not _NOT_A_HANDOVER_PERSON.search(text):
        found.add("person")
    if repeated_contact.asks_again(sentences):
        found.add("person")
    if reported_incidents.broken_for_everyone(reported):
        found.add("outage")
    since_maintenance = _after_our_maintenance(reported)
    if since_maintenance is not None:
        found.add(since_maintenance)
    if _unexplained_loss(" ".join(reported)):
        found.add("data_loss")
    if (
        reported_incidents.disowned_change(reported)
        or reported_incidents.foreign_access(reported)
        or reported_incidents.secret_exposed_across(incidents_told)
    ):
        found.add("security")
    fault = unexplained_fault(" ".join(reported))
    if fault is not None:
        found.add(fault)
    return found


# The customer's lawyers, legal or procurement team asking for a document or an answer ("legal wants your DPA",
# "our lawyer asked whether the terms allow reselling", "a client's procurement team, who want evidence of how
# ..."): a request we answer, unless the same unit threatens.
_LEGAL_ASKS = re.compile(
    r"\b(lawyers?|attorneys?|solicitors?|counsel|legal( team| department| folks)?|compliance( officer| team)?|"
    r"(data protection|privacy) (officer|team|lead)|dpo|"
    r"procurement( team| department| folks)?|auditors?|(vendor|security) (review|assessment) team)"
    r"(,? (who|which|that))? (now |also |just |then )?(is |are |has |have )?(reviewing|asked|asks|wants?|needs?|"
    r"requested|requests|would like)\b"
    r"[^.?!]{0,60}"
    r"\b(dpa|data processing agreement|terms|contract|agreement|order form|policy|document|copy|section|"
    r"clause|soc ?2|report|certificate|list|summary|whether|if|which|what|where|when|how)\b",
    re.I,
)
_LEGAL_THREAT = re.compile(
    r"\b(sue|suing|court|claim|damages|breach|notice|complain\w*|regulator|pursue|dispute|terminat\w*|"
    r"violat\w*|unlawful|illegal|fraud|compensation|rights)\b",
    re.I,
)


# A security incident is something that happened: someone acted, at some time, or a secret went where others
# read it ("someone signed in at 3am", "an admin we never invited", "pushed to a public repo"). A sentence with
# none of that describes how things are set up ("the bucket is encrypted with our own KMS key", "a few people
# still sign in with a password only"), which the security words alone make a model read as an incident.
_SECURITY_EVENT = re.compile(
    r"\b(some(one|body)|nobody|no one|none of us|anyone|strangers?|unknown|unfamiliar|unrecogni[sz]ed|suspicious|"
    r"never (created|invited|made|added|requested|set up|authori[sz]ed|approved)|"
    r"(didn'?t|did not|wasn'?t|weren'?t|was not|were not) (us|me|one of us|create|invite|request|authori[sz]e|"
    r"make|add|approve)|yesterday|last (night|week|weekend)|this (morning|afternoon|evening|weekend)|tonight|"
    r"overnight|at \d|\d(:\d\d)? ?(am|pm)|(minutes|hours) ago|just now|posted|pushed|published|committed|"
    r"uploaded|public(ly)?|leak(ed|s)?|exposed|stolen|lost (a|my|his|her|their|our) (laptop|phone)|former|ex-|"
    r"fake|impersonat\w*|posing|pretend\w*|scam\w*|ransom|extort\w*|bitcoin|demand\w*)\b",
    re.I,
)


def describes_setup(unit: str) -> bool:
    """A sentence about security that reports no event: no actor, no time, no exposure."""
    return _SECURITY_EVENT.search(unit) is None


# Tone the models read into a sentence that is plainly content ("All good on our side this week."): a
# clearly positive sentence without a complaint is no anger, whatever its words resemble.
_CONTENT = 0.5  # textblob polarity at or above which a sentence without a complaint reads as content


# A preference between ways of doing something ("We'd rather not split it into pieces if there's another option"),
# not an understated complaint ("I'd rather not make a big thing of it: ...").
_PREFERENCE = re.compile(
    r"\b(?:i|we)(?:'d| would) (?:rather|prefer)\b[^.?!]{0,80}\b(?:another|other|different) (?:option|way|approach)s?\b|"
    r"\b(?:i|we)(?:'d| would) (?:rather|prefer)\b[^.?!]{0,80}\b(?:alternative|instead)\b",
    re.I,
)
_RETRACTED = re.compile(
    r"\(\s*not really\b|\bnot really,? (?:but|just)\b|\b(?:only|just) (?:joking|kidding)\b|\bnot literally\b", re.I
)


def unit_vetoes(unit: str) -> set[str]:
    """Reasons the learned detectors may not claim for this one unit (the message or one sentence)."""
    found = {"outage"} if _OWN_OUTAGE_REPORT.search(unit) else set()
    if not_ours.their_breach(unit):
        found.add("security")
    if not_ours.their_lawsuit(unit):
        found.add("legal")
    if not_ours.disowned_by_them(unit):
        found |= set(_INCIDENTS)
    if not_ours.asks_how_to_verify(unit):
        found.add("security")
    # "Can you help with both?": everyone writing to support wants help; it asks for no person.
    if not_ours.only_asks_for_help(unit):
        found.add("person")
    found |= not_an_incident.unit_vetoes(unit)
    if (_LEGAL_ASKS.search(unit) or not_aimed_at_us.legal_words_without_a_claim(unit)) and not (
        _LEGAL_THREAT.search(unit)
    ):
        found.add("legal")
    # A figure of speech taken back in the same breath ("a life-or-death question (not really, but ...)", "just
    # kidding"): no anger or unhappiness in it.
    if _RETRACTED.search(unit) or not_aimed_at_us.no_complaint_to_us(unit):
        found |= {"angry", "unhappy"}
    # A preference between ways is no complaint, unless frustration is told with it.
    if _PREFERENCE.search(unit) and not FRUSTRATION.search(unit) and not reports_problem(unit):
        found |= {"angry", "unhappy"}
    # Praise beside a problem is how sarcasm reads ("Lovely to see the exports failing again"): no veto.
    if polarity(unit) >= _CONTENT and not FRUSTRATION.search(unit) and not reports_problem(unit):
        found |= {"angry", "unhappy"}
    return found


def vetoes(text: str) -> set[str]:
    """Reasons the learned detectors may not claim for this text (self-blame, a joke, a document request,
    asking for sales or whether a channel exists)."""
    found = {reason for reason, rule in _VETOES.items() if rule.search(text)} | not_an_incident.message_vetoes(text)
    if _NOT_A_COMPLAINT.search(text):
        found.add("angry")
    if not_ours.permission_error(text):
        found |= {"security", "data_loss"}
    if _NOT_A_HANDOVER_PERSON.search(text):
        found.add("person")
    return found if _PERSON_CUE.search(text) else found | {"person"}
