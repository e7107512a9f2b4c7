"""Triage activity: sentiment (textblob plus what it misses), category (trained classifier), base priority.

All three read the customer's new words (`domain.customer_text`); the result carries them as `new_text`.

The classifier predicts the labels it was trained on (a team's own intents or queues); the
product's category comes from mapping that label through the team's own map, if the model carries
one, and then ``triage.categories``. The label itself is kept beside the category.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from temporalio import activity

from domain.customer_text import prepared_text
from domain.models import Category, Priority, TriageResult
from domain.policy import priority_from_text, raise_for_handover
from triage import sentiment
from triage.classifier import TextClassifier
from triage.handover import Handover, HandoverDetector


@dataclass
class TriageInput:
    text: str


class TriageActivities:
    def __init__(self, classifier: TextClassifier, handover: HandoverDetector | None = None) -> None:
        """``handover``: trained hand-over detectors; None leaves results unchecked (the workflow then
        applies its older rules)."""
        self._classifier = classifier
        self._handover = handover

    def _triage(self, raw: str) -> TriageResult:
        # Sentiment, category and priority read the customer's new words: a quoted thread, a signature's
        # job title or a disclaimer's "legally privileged" are not what this message says.
        text = prepared_text(raw)
        mood, polarity = sentiment.analyze(text)
        if not any(ch.isalnum() for ch in text):
            # "?" or an emoji: any label the model gave would be its bias, and would send the ticket
            # to a specialist (and a clarifying question) for a topic the customer never raised.
            return TriageResult(
                sentiment=mood,
                polarity=polarity,
                category=Category.GENERAL,
                base_priority=Priority.MEDIUM,
                new_text=text,
            )
        prediction = self._classifier.predict(text)
        priority, reasons = priority_from_text(text)
        handover = self._handover.detect(text) if self._handover is not None else Handover()
        priority, reasons = raise_for_handover(priority, reasons, handover.reasons)
        return TriageResult(
            new_text=text,
            sentiment=mood,
            polarity=polarity,
            category=self._classifier.category_of(prediction.label),
            category_confidence=prediction.confidence,
            base_priority=priority,
            priority_reasons=reasons,
            label=prediction.label,
            handover_checked=self._handover is not None,
            handover_reason=handover.reason,
            handover_reasons=handover.reasons,
            unhappy=handover.unhappy,
            unhappy_share=handover.unhappy_share,
            handover_scores=handover.scores,
        )

    @activity.defn(name="triage.triage_message")
    async def triage_message(self, inp: TriageInput) -> TriageResult:
        # CPU-bound (textblob, sklearn): keep it off the worker's event loop.
        return await asyncio.to_thread(self._triage, inp.text)
