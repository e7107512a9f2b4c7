"""Triage activity: sentiment (textblob plus what it misses), category (trained classifier), base priority."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from temporalio import activity

from domain.models import TriageResult
from domain.policy import priority_from_text
from triage import sentiment
from triage.classifier import CategoryClassifier


@dataclass
class TriageInput:
    text: str


class TriageActivities:
    def __init__(self, classifier: CategoryClassifier) -> None:
        self._classifier = classifier

    def _triage(self, text: str) -> TriageResult:
        mood, polarity = sentiment.analyze(text)
        prediction = self._classifier.predict(text)
        priority, reasons = priority_from_text(text)
        return TriageResult(
            sentiment=mood,
            polarity=polarity,
            category=prediction.category,
            category_confidence=prediction.confidence,
            base_priority=priority,
            priority_reasons=reasons,
        )

    @activity.defn(name="triage.triage_message")
    async def triage_message(self, inp: TriageInput) -> TriageResult:
        # CPU-bound (textblob, sklearn): keep it off the worker's event loop.
        return await asyncio.to_thread(self._triage, inp.text)
