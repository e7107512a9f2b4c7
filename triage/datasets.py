"""Labelled examples: reading them from a team's export (JSONL or CSV), checking, hashing and splitting them."""

from __future__ import annotations

import csv
import hashlib
import logging
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import jsonl

DEMO_EXAMPLES = Path(__file__).resolve().parents[1] / "demo" / "triage_examples.jsonl"
# The spent eval sets' tickets with their categories (``python -m evals.triage_examples``): the demo model
# learns from both files; a team's own model (``supportctl triage train``) from its own history only.
SET_EXAMPLES = Path(__file__).with_name("triage_examples_sets.jsonl")
DEMO_EXAMPLE_FILES = (DEMO_EXAMPLES, SET_EXAMPLES)
log = logging.getLogger("triage")


def read_examples(path: Path, label_field: str = "category", text_field: str = "text") -> tuple[list[str], list[str]]:
    """(texts, labels) from a JSONL file, or a CSV file with a header row (a help desk's export);
    errors name the file and line.

    ``text_field`` may join several fields with ``+``: ``subject+body`` gives "subject\n\nbody", the
    same text the worker classifies for a new ticket, so the model trains on what it will see.
    A row whose label or text is empty or null (a ticket nobody categorised) is skipped with a warning.
    """
    fields = [name.strip() for name in text_field.split("+")]
    texts: list[str] = []
    labels: list[str] = []
    skipped = 0
    for where, row in read_rows(path):
        missing = [name for name in (*fields, label_field) if name not in row]
        if missing:
            wanted = " and ".join(map(repr, (*fields, label_field)))
            has = ", ".join(repr(k) for k in list(row)[:12] if k is not None) or "nothing"
            header = " (a CSV's columns come from its first line)" if path.suffix.lower() == ".csv" else ""
            raise ValueError(
                f"{where}: expected {wanted} (missing {', '.join(map(repr, missing))}; it has {has}){header}"
            )
        parts = ["" if row[name] is None else str(row[name]) for name in fields]
        label = "" if row[label_field] is None else str(row[label_field]).strip()
        if not label or not "".join(parts).strip():
            skipped += 1
            continue
        texts.append("\n\n".join(parts))
        labels.append(label)
    if skipped:
        log.warning("%s: skipped %d rows with an empty %r or empty text", path, skipped, label_field)
    if not texts:
        raise ValueError(f"{path}: no examples")
    return texts, labels


def require_two_labels(path: Path, labels: Sequence[str], label_field: str) -> None:
    """Refuse training data whose every example has one label (the wrong column, one queue's export)
    before anything is embedded or fitted: a classifier needs at least two."""
    distinct = sorted(set(labels))
    if len(distinct) == 1:
        raise ValueError(
            f"{path}: every example has the {label_field!r} {distinct[0]!r}; training needs at least two labels"
        )


def read_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file:line, row) for each non-empty row of a CSV (by its suffix) or JSONL file, UTF-8 with or
    without a byte-order mark (Excel's "CSV UTF-8")."""
    try:
        yield from _read_rows(path)
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not valid UTF-8 (byte {e.start}: {e.reason}); save the file as UTF-8") from None


def _read_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        if path.suffix.lower() == ".csv":
            reader = csv.DictReader(f)
            try:
                if not reader.fieldnames:
                    raise ValueError(f"{path}: a CSV file needs a header row naming its columns")
                start = reader.line_num + 1
                for row in reader:  # a quoted field may span lines: name the row's first one
                    yield f"{path}:{start}", dict(row)
                    start = reader.line_num + 1
            except csv.Error as e:
                raise ValueError(f"{path}:{reader.line_num}: malformed CSV: {e}") from e
            return
        for n, row in jsonl.objects(f, path):
            yield f"{path}:{n}", row


def stratified_split(labels: Sequence[str], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices (train, held-out): ``fraction`` of every label with at least two examples is held out."""
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    rng = random.Random(seed)
    train: list[int] = []
    test: list[int] = []
    for label in sorted(by_label):
        idx = by_label[label]
        rng.shuffle(idx)
        k = int(round(len(idx) * fraction)) if len(idx) >= 2 else 0
        k = min(max(k, 1 if len(idx) >= 2 else 0), len(idx) - 1)
        test.extend(idx[:k])
        train.extend(idx[k:])
    return sorted(train), sorted(test)


def data_hash(texts: Sequence[str], labels: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        digest.update(text.encode("utf-8"))
        digest.update(b"\x1f")
        digest.update(label.encode("utf-8"))
        digest.update(b"\x1e")
    return digest.hexdigest()
