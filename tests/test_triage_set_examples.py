"""The demo triage model also learns from the spent eval sets' tickets (``triage/triage_examples_sets.jsonl``).

Left out one set at a time (``python -m evals.triage_leave_one_out``), the category of blind3 to blind12's
opening messages was right 670 of 920 times with the one-line demo examples alone and 752 with the other sets'
tickets too. These tests keep the file what it claims to be: the spent sets' tickets as triage reads them,
never a held-out set's, and part of what the demo model trains on.
"""

from __future__ import annotations

import json
from pathlib import Path

from domain.models import Category
from evals import triage_examples
from evals.precedent_examples import SPENT
from triage.classifier import load_or_train
from triage.datasets import DEMO_EXAMPLE_FILES, SET_EXAMPLES, read_examples


def _rows() -> list[dict[str, str]]:
    return [json.loads(line) for line in SET_EXAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_file_is_the_spent_sets_tickets_as_triage_reads_them() -> None:
    rows = _rows()
    assert rows == triage_examples.rows(), "regenerate with python -m evals.triage_examples"
    assert {r["source"] for r in rows} == set(SPENT)  # held-out sets (blind36, blind39 on) are never examples
    assert {r["category"] for r in rows} <= {c.value for c in Category}
    assert len({r["key"] for r in rows}) == len(rows) > 1000


def test_the_demo_model_trains_on_the_demo_examples_and_the_sets(tmp_path: Path) -> None:
    model = load_or_train(tmp_path / "triage.pkl")  # what the worker does when no team model exists
    demo, sets = (len(read_examples(path)[0]) for path in DEMO_EXAMPLE_FILES)
    assert model.info.n_train == demo + sets and sets > 1000
