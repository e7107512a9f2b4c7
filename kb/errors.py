"""Errors the knowledge base raises to operators: importable without loading Qdrant or the model."""

from __future__ import annotations


class KnowledgeBaseLocked(RuntimeError):
    """Local Qdrant's folder is held by another process (another stack's worker or supportctl)."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"another process uses the knowledge base at {path}: is another stack running? (local Qdrant "
            "takes one process per folder: give this one its own DATA_DIR, or use QDRANT_URL)"
        )
        self.path = path
