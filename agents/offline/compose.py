"""Deterministic reply composition for the offline model: extractive, never inventive.

Every fact in a composed answer is a sentence copied from a retrieved help article; the rest is a greeting, one
short opener (never the customer's words quoted back), citations and a closing. The answer comes first: for each
question of the message, the 1-3 sentences of the section that answers it best (`agents.offline.ranking`), the
steps when it asks how, a note when a step needs another plan. When no retrieved sentence is relevant enough, the
reply says so and asks one clarifying question instead of guessing. Pure functions: same input, same reply.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import partial

from agents.context import TicketContext
from agents.handoff_reply import sign_off
from agents.offline.answer_types import asks_amount, type_bonus
from agents.offline.article_text import passage, terms
from agents.offline.clarifying import CLARIFYING_QUESTION, clarifying_question
from agents.offline.intents import as_feature_suggestion, suggests_feature
from agents.offline.message_text import expressed_urgency, moves_on, questions, without_confirmations
from agents.offline.plans import another_plans_row, asks_availability, plan_bonus, plan_note
from agents.offline.procedures import Procedure, list_of_lead, select_procedure
from agents.offline.ranking import Ranker, Sentence, follow_on, is_example, words_of
from domain.customer_text import prepared_text
from domain.models import Category, KbHit, Plan, Sentiment

# An answer's length, chosen on the spent sets with the precedents left out (docs/knowledge-and-triage.md): a fact
# is often in a short fourth sentence, and a longer answer costs the median reply a few words.
MAX_ANSWER_SENTENCES = 4
# A sentence must share this many distinct content terms with the customer's message (or one
# distinctive number such as "429") to count as relevant.
MIN_OVERLAP = 2
# Steps from another article than the answer's join it only when their title, heading and lead share this many
# terms with the message: three ("sending events in batches") brought batch steps into an answer about CORS.
OTHER_ARTICLE_STEPS_OVERLAP = MIN_OVERLAP + 2


def about_the_question(hits: list[KbHit], question: str) -> list[KbHit]:
    """Hits whose title and heading match the question, though none of their sentences may."""
    wanted = terms(question)
    return [hit for hit in hits if len(terms(passage(hit)[0]) & wanted) >= MIN_OVERLAP]


def _links(hits: Sequence[KbHit]) -> str:
    links = [f"- [{h.title}]({h.url})" if h.url else f"- {h.title} (article {h.article_id})" for h in hits]
    return "\n".join(dict.fromkeys(links))


def _key(sentence: str) -> str:
    return " ".join(sentence.lower().split())


def _says_nothing(customer_text: str, ctx: TicketContext, follow_up: bool) -> bool:
    """A message with no content words ("?", an emoji, "hi", "thanks"): nothing to search or quote.
    On a first message the subject may still say what it is about; on a follow-up only the message counts."""
    return not terms(customer_text) and (follow_up or not terms(ctx.subject))


MAX_LINKS = 2
SECOND_SECTION_SHARE = 0.9  # another article's section joins the best answer when it scores this share of it
SAME_ARTICLE_SHARE = 0.7  # the same article's next-best section, this share
MIN_FACT_WORDS = 6  # "The invoice number (`LUM-…`)." is a fragment of a list, no fact to add on its own
FILL_WORDS = 100  # the answer's sentences of both sections together
SECTION_WEIGHTS = (1.0, 0.5, 0.25)
LEAD_SHARE = 1.3  # a sentence this many times the chosen section's best takes the answer to its own section
TOP_HIT_BONUS = 0.2  # to the search's best article's sections: it answered tickets like this one (kb.precedents)
NEW_TERM_BONUS = 0.3  # per question term a following sentence adds to those the chosen ones already match
FOLLOW_SHARE = 0.5  # a second or third sentence of the section scores at least this share of its best
MIN_ANSWER_WORDS = 40  # an answer shorter than this takes its section's next nearly-as-good sentences
FILL_SHARE = 0.3
ANSWER_WORDS = 100  # the sentences answering one question; two questions get about half each
_PRONOUN_START = re.compile(r"^(?:it|this|that|these|those|they|them|its|their|then|otherwise)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Answer:
    """The sentences of one section that answer one question of the message."""

    article_id: str
    section: str
    sentences: tuple[Sentence, ...]
    backs: str = ""  # a second section's answer: the article of the answer it adds to

    def render(self) -> str:
        return " ".join(s.text for s in self.sentences)


def _answer(
    ranked: list[Sentence],
    all_sentences: list[Sentence],
    limit: int,
    budget: int,
    unquotable: Collection[str] = frozenset(),
) -> Answer | None:
    """The best section for the question, and its 1-`limit` sentences that answer it best.

    A section must hold a relevant sentence; sections compete on their best three sentences (a section that
    says several things about the question beats one stray matching line), the search's best article's
    ahead by `TOP_HIT_BONUS`, unless one sentence scores `LEAD_SHARE` times the winner's best. Within it,
    sentences scoring nearly as well as its best follow, in reading order; a sentence opening with
    "It"/"This" brings the one before it. A sentence in `unquotable` counts for its section, but is not quoted."""
    sections: dict[tuple[str, str], list[Sentence]] = {}
    # An example ("Example: you are on Starter and upgrade to Pro...") illustrates the section's rule: it
    # may follow the rule, never lead the section or the answer.
    for s in sorted(ranked, key=lambda s: bool(is_example(s.text))):
        sections.setdefault((s.article_id, s.section), []).append(s)
    scored = []
    for g in sections.values():
        quotable = [s for s in g if s.text not in unquotable]
        if any(s.relevant for s in quotable):
            weighed = sum(w * s.score for w, s in zip(SECTION_WEIGHTS, g, strict=False))
            scored.append((TOP_HIT_BONUS * (g[0].hit_rank == 0) + weighed, quotable))
    if not scored:
        return None
    _, group = max(scored, key=lambda item: (item[0], -item[1][0].hit_rank))
    # One sentence far ahead of every other answers the question itself ("With Gunicorn or Celery prefork, create
    # the client after the worker process forks" for events lost in Celery tasks): its section wins, however
    # many middling lines another section holds.
    lead = max((g for _, g in scored), key=lambda g: g[0].score)
    if lead is not group and lead[0].score >= LEAD_SHARE * group[0].score:
        group = lead
    best = group[0]
    # Among the sentences scoring nearly as well, one that says what the question asks and the chosen ones
    # do not yet ("... nothing in Slack": the line about Slack) beats one more about the same words.
    pool = [s for s in group[1:] if s.score >= FOLLOW_SHARE * best.score]
    chosen, covered, value = [best], set(best.matched), {best.text: best.score}
    while len(chosen) < limit and pool:
        nxt = max(pool, key=lambda s: s.score + NEW_TERM_BONUS * len(s.matched - covered))
        value[nxt.text] = nxt.score + NEW_TERM_BONUS * len(nxt.matched - covered)
        chosen.append(nxt)
        covered |= nxt.matched
        pool.remove(nxt)
    # What a chosen line sets up, its own item or paragraph states ("Set the conversion window: ...", then
    # "The default is 7 days; you can choose up to 90 days."): it outranks the other picks.
    states = next((f for c in list(chosen) if (f := follow_on(c, all_sentences, chosen)) is not None), None)
    if states is not None and (len(chosen) < limit or len(chosen) > 1):
        if len(chosen) >= limit:
            chosen.remove(min(chosen[1:], key=lambda s: value.get(s.text, s.score)))
        chosen.append(states)
        value[states.text] = best.score
    if _PRONOUN_START.match(best.text):
        before = [
            s
            for s in all_sentences
            if s.article_id == best.article_id and s.section == best.section and s.position == best.position - 1
        ]
        chosen += [s for s in before if all(c.text != s.text for c in chosen)]
    while len(chosen) > 1 and sum(len(s.text.split()) for s in chosen) > budget:
        chosen.remove(min(chosen[1:], key=lambda s: value.get(s.text, s.score)))
    return Answer(best.article_id, best.section, tuple(sorted(chosen, key=lambda s: (s.hit_rank, s.position))))


def _second_section(ranked: list[Sentence], found: Answer) -> tuple[Answer, Answer] | None:
    """The best answer with a second section's 1-2 sentences beside it, or None.

    Facts a customer needs often sit in the next section ("When you can get a refund", then "How long
    refunds take"): a relevant section of the same article joins when its best sentence scores at least
    `SAME_ARTICLE_SHARE` of the best one, another article's when at least `SECOND_SECTION_SHARE`, as long
    as the answer stays within `FILL_WORDS` (the best section's sentences are never dropped for it)."""
    top = max(s.score for s in found.sentences)
    where = (found.article_id, found.section)
    candidates = [
        s
        for s in ranked
        if s.relevant
        and not s.lead
        and len(s.text.split()) >= MIN_FACT_WORDS
        and (s.article_id, s.section) != where
        and s.score >= (SAME_ARTICLE_SHARE if s.article_id == found.article_id else SECOND_SECTION_SHARE) * top
    ]
    if not candidates:
        return None
    head = candidates[0]
    group = [s for s in ranked if (s.article_id, s.section) == (head.article_id, head.section) and not s.lead]
    # The section's next best sentence beside it (never the head again: the head need not lead its group)
    extra = [head] + [s for s in group if s.text != head.text][:1]
    extra = extra[:1] + [s for s in extra[1:] if s.score >= FOLLOW_SHARE * head.score]
    while len(extra) > 1 and words_of(found.sentences) + words_of(extra) > FILL_WORDS:
        extra.pop()
    if words_of(found.sentences) + words_of(extra) > FILL_WORDS:
        return None
    ordered = tuple(sorted(extra, key=lambda s: s.position))
    return found, Answer(head.article_id, head.section, ordered, backs=found.article_id)


def _filled(found: Answer, ranked: list[Sentence]) -> Answer:
    """A short answer (one line: "Dashboards can be embedded with an `<iframe>`.") with the next sentences of
    its section that score nearly as well, up to `MIN_ANSWER_WORDS`: what the customer needs to act on it
    ("...signed URLs, valid for up to 24 hours") often follows the line that matches the question."""
    top = max(s.score for s in found.sentences)
    said = {s.text for s in found.sentences}
    more = [
        s
        for s in ranked
        if (s.article_id, s.section) == (found.article_id, found.section)
        and s.text not in said
        and not s.lead
        and len(s.text.split()) >= MIN_FACT_WORDS
        and s.score >= FILL_SHARE * top
    ]
    chosen = list(found.sentences)
    for s in more:
        if words_of(chosen) >= MIN_ANSWER_WORDS:
            break
        chosen.append(s)
    ordered = tuple(sorted(chosen, key=lambda s: (s.hit_rank, s.position)))
    return Answer(found.article_id, found.section, ordered, found.backs)


def _implied_answers(
    ranker: Ranker, implied: Sequence[str], answers: Sequence[Answer], already_sent: Callable[[str], bool], plan: Plan
) -> list[Answer]:
    """The one sentence answering each implied question, unless the answers already quote it."""
    quoted = {_key(s.text) for a in answers for s in a.sentences}
    out: list[Answer] = []
    for question in implied:
        ranked = [s for s in ranker.rank(question, "", None, partial(plan_bonus, plan=plan)) if not s.lead]
        best = next((s for s in ranked if s.relevant and len(s.text.split()) >= MIN_FACT_WORDS), None)
        # Said before (or in the steps), it is not said again, and no lesser sentence stands in for it.
        if best is not None and _key(best.text) not in quoted and not already_sent(best.text):
            quoted.add(_key(best.text))
            out.append(Answer(best.article_id, best.section, (best,)))
    return out


def _bonus(sentence: str, plan: Plan, amount: bool, availability: bool, typed: Callable[[str], float]) -> float:
    """What lifts a sentence above its meaning and words: the customer's plan, and the kind of answer asked."""
    return plan_bonus(sentence, plan, amount, availability) + typed(sentence)


def opener(ctx: TicketContext, customer_text: str, follow_up: bool) -> str:
    """One short sentence before the answer; never the customer's words, and urgency only when they said so."""
    urgent = expressed_urgency(customer_text)
    if urgent:
        return "I'm sorry for the trouble, and I understand this is urgent."
    if ctx.sentiment in (Sentiment.NEGATIVE, Sentiment.VERY_NEGATIVE):
        return "I'm sorry for the trouble."
    return "Thanks for the update." if follow_up else "Thanks for reaching out."


def compose_answer(
    ctx: TicketContext,
    customer_text: str,
    hits: list[KbHit],
    notes: Sequence[str] = (),
    prior_replies: Sequence[str] = (),
    implied: Sequence[str] = (),
) -> str:
    """Greeting, one short opener, what the tools did (`notes`), then the answer to each question of the
    message (the 1-3 sentences of the best section, ranked at sentence level against that question), the
    steps when it asks how, a note when a step needs another plan, 1-2 cited articles, an offer to help.
    Or an honest 'not found' and one clarifying question when there is neither an answer nor an action.

    `prior_replies` are our earlier replies on the ticket: their sentences are not repeated, and a
    follow-up that only repeats the question is told so instead of being sent the same sentences.
    `implied` are questions the customer will ask next whatever they wrote (a refund asked for or
    issued: when will the money be back?); each is answered by at most one sentence, when one is relevant.
    """
    follow_up = bool(prior_replies)
    closing = sign_off(ctx)
    own = prepared_text(customer_text) or customer_text.strip()
    if not notes and _says_nothing(own, ctx, follow_up):
        ask = (
            "Is there anything else I can help with? If the earlier answer solved it, just tell me and I'll "
            "close the ticket."
            if follow_up
            else "Your message reached us without any details, so I'm not sure yet what you need. "
            f"{CLARIFYING_QUESTION[Category.GENERAL]}"
        )
        return "\n\n".join(
            [f"Hi {ctx.customer_first_name},", "Thanks for your message.", ask, *filter(None, [closing])]
        )
    said = [_key(text) for text in prior_replies]
    subject = "" if follow_up and moves_on(own) else ctx.subject  # the subject names the solved problem
    procedure = select_procedure(hits, own, subject, already_said=prior_replies)
    steps = _key(procedure.render()) if procedure else ""

    def sent_before(sentence: str) -> bool:
        key = _key(sentence)
        return any(key in text for text in said)

    def already_sent(sentence: str) -> bool:
        return sent_before(sentence) or (bool(steps) and _key(sentence) in steps)

    ranker = Ranker(hits)
    asked = questions(own) or [own]
    if suggests_feature(f"{subject}\n{own}"):
        asked = as_feature_suggestion(asked)
    # Two questions share the words, not the sentences: the fact is often in a short third sentence.
    limit = MAX_ANSWER_SENTENCES
    budget = ANSWER_WORDS if len(asked) == 1 else ANSWER_WORDS // 2 + 10
    if procedure:
        limit, budget = max(1, limit - 1), budget // 2 + 10
    answers: list[Answer] = []
    # One question: the rest of the message (what happened, what they tried) is its context too.
    context = subject if len(asked) > 1 else f"{subject}\n{without_confirmations(own)}"
    lead_list: Procedure | None = None  # the list a chosen lead-in sentence introduces
    for question in asked:
        amount = asks_amount(f"{question} {subject}")
        # The steps' own sentences compete too: when one of them answers best, the steps' article is the
        # answer's (the steps stay); excluded, another article's lesser line would win and drop the steps.
        bonus = partial(
            _bonus, plan=ctx.plan, amount=amount, availability=asks_availability(question), typed=type_bonus(question)
        )
        ranked = ranker.rank(question, context, sent_before, bonus)
        # A sentence introducing a list ("If we cannot charge your card on the renewal date:") answers only
        # with its list, as the steps: when no other steps are quoted and the list is short enough.
        ranked = [
            s
            for s in ranked
            if not s.lead or (procedure is None and lead_list is None and list_of_lead(hits, s.article_id, s.text))
        ]
        # Another plan's table row counts for its table (the table answers the question) but is never quoted.
        others = frozenset(s.text for s in ranked if another_plans_row(s.text, ctx.plan, question))
        found = _answer(ranked, ranker.sentences, limit, budget, unquotable=others)
        ranked = [s for s in ranked if s.text not in others]
        if found is None:
            continue
        if lead := next((s for s in found.sentences if s.lead), None):
            lead_list = list_of_lead(hits, lead.article_id, lead.text)
            rest = tuple(s for s in found.sentences if not s.lead)
            if not rest:
                continue
            found = Answer(found.article_id, found.section, rest)
        if len(asked) == 1:
            # A message about one thing may still need a second section's fact: see `_second_section`.
            pair = _second_section(ranked, found)
            if pair is not None:
                first, found = pair
                answers.append(first)
            elif procedure is None:
                found = _filled(found, ranked)
        # Two questions answered by the same section: one answer, their sentences together.
        same = next((a for a in answers if (a.article_id, a.section) == (found.article_id, found.section)), None)
        if same is not None and {x.text for x in found.sentences} <= {x.text for x in same.sentences}:
            # It would add nothing the first answer did not say: the next section answers this question.
            elsewhere = [x for x in ranked if (x.article_id, x.section) != (found.article_id, found.section)]
            other = _answer(elsewhere, ranker.sentences, limit, budget, unquotable=others)
            if other is not None and not any(
                (a.article_id, a.section) == (other.article_id, other.section) for a in answers
            ):
                found, same = other, None
        if same is None:
            answers.append(found)
        else:
            merged = {s.text: s for s in (*same.sentences, *found.sentences)}
            ordered = tuple(sorted(merged.values(), key=lambda s: (s.hit_rank, s.position)))
            answers[answers.index(same)] = Answer(same.article_id, same.section, ordered)
    answers += _implied_answers(ranker, implied, answers, already_sent, ctx.plan)
    question = f"{own} {subject}"
    parts = [f"Hi {ctx.customer_first_name},", opener(ctx, own, follow_up), *notes]
    if procedure and answers and procedure.article_id not in {a.article_id for a in answers[:1]}:
        if procedure.overlap < OTHER_ARTICLE_STEPS_OVERLAP:
            procedure = None
    procedure = procedure or lead_list
    if not answers and not procedure:
        if notes:
            parts.append("If there's anything else I can help with, just reply here.")
        elif follow_up and any(s.relevant for s in ranker.rank(question, ctx.subject)):
            parts.append(
                "The help-center articles I shared earlier are all our documentation says on this, so I won't "
                f"repeat them, and I'd rather not guess. {clarifying_question(ctx.category, own)}"
            )
            parts.append("With that detail I can look into it further for you.")
        elif closest := about_the_question(hits, question)[:1]:
            parts.append(
                "I couldn't find a sentence in our help center that answers this directly, and I'd rather not "
                "guess; this article covers the topic and may help."
            )
            parts.append(f"Helpful articles:\n{_links(closest)}")
            parts.append(clarifying_question(ctx.category, own))
        else:
            parts.append(
                "I searched our help center but couldn't find a documented answer to this, and I'd rather not "
                f"guess. {clarifying_question(ctx.category, own)}"
            )
            parts.append("With that detail I can look into it further for you.")
        return "\n\n".join(parts + ([closing] if closing else []))
    quoted: list[str] = []
    if procedure is not None:
        # A sentence the steps quote anyway is not said twice.
        listed = _key(procedure.render())
        kept_answers = [
            Answer(a.article_id, a.section, kept, a.backs)
            for a in answers
            if (kept := tuple(s for s in a.sentences if _key(s.text) not in listed))
        ]
        # Another article's section that only added to an answer the steps now give is a stray line alone.
        answered = {a.article_id for a in kept_answers if not a.backs}
        answers = [a for a in kept_answers if not a.backs or a.backs == a.article_id or a.backs in answered]
    placed = False
    for i, answer in enumerate(answers):
        parts.append(answer.render())
        quoted += [s.text for s in answer.sentences]
        # The steps follow the answer from their own article (else the last answer), once.
        if procedure and not placed and (procedure.article_id == answer.article_id or i == len(answers) - 1):
            placed = True
            parts.append(procedure.render() if procedure.lead else f"Here is how:\n{procedure.render()}")
            quoted += procedure.plan_lines()
    if procedure and not answers:
        parts.append(procedure.render() if procedure.lead else f"Here is how:\n{procedure.render()}")
        quoted += procedure.plan_lines()
    note = plan_note([q for q in quoted if q], ctx.plan)
    if note:
        parts.append(note)
    used = list(dict.fromkeys([a.article_id for a in answers] + ([procedure.article_id] if procedure else [])))
    # An article whose title and heading match the question is worth the link even when the sentences
    # quoted come from another one (room permitting).
    used += [h.article_id for h in about_the_question(hits, question) if h.article_id not in used][:1]
    linked = [h for aid in used[: max(MAX_LINKS, len(answers))] for h in hits if h.article_id == aid]
    parts.append("Helpful articles:\n" + _links(linked))
    parts.append("Anything unclear? Reply here and I'll help further.")
    return "\n\n".join(parts + ([closing] if closing else []))
