"""A model trained on first use, once per process: activities run in a thread pool, so the first callers
wait on one fit instead of each training their own."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class TrainedOnce(Generic[T]):
    def __init__(self, train: Callable[[], T], trained: Callable[[T], None]) -> None:
        self._train, self._trained = train, trained  # trained: told once, e.g. to log the figures
        self._model: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        with self._lock:
            if self._model is None:
                self._model = self._train()
                self._trained(self._model)
            return self._model
