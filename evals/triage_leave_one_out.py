"""Does learning categories from the spent sets generalise? Triage's category, one spent set left out.

``python -m evals.triage_leave_one_out [--sets blind3 ...]``

For each set K: the demo triage model is trained on ``demo/triage_examples.jsonl`` plus the rows of
``triage/triage_examples_sets.jsonl`` from every set but K, and predicts the category of K's rows (opening
messages, as triage reads them); the baseline is the demo examples alone. Prints each set's figures and the
totals. Only the spent sets' rows are read. About 30 seconds for ten sets with the embedding cache warm.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from triage.classifier import TextClassifier
from triage.datasets import DEMO_EXAMPLES, SET_EXAMPLES, read_examples, read_rows

LEFT_OUT = tuple(f"blind{n}" for n in range(3, 13))


def accuracy(model: TextClassifier, rows: Sequence[tuple[str, str]]) -> int:
    return sum(model.category_of(model.predict(text).label).value == category for text, category in rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m evals.triage_leave_one_out")
    parser.add_argument("--sets", nargs="+", default=list(LEFT_OUT))
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    rows = [(str(r["text"]), str(r["category"]), str(r["source"])) for _, r in read_rows(SET_EXAMPLES)]
    texts, labels = read_examples(DEMO_EXAMPLES)
    baseline = TextClassifier.train(texts, labels)
    totals = [0, 0, 0]
    for name in args.sets:
        held = [(t, c) for t, c, s in rows if s == name]
        if not held:
            raise SystemExit(f"{name}: no rows in {SET_EXAMPLES.name}")
        train = [(t, c) for t, c, s in rows if s != name]
        model = TextClassifier.train(texts + [t for t, _ in train], labels + [c for _, c in train])
        plain, learned = accuracy(baseline, held), accuracy(model, held)
        totals = [totals[0] + plain, totals[1] + learned, totals[2] + len(held)]
        sys.stdout.write(
            f"{name}: {len(held)} tickets; category right {plain} with the demo examples, "
            f"{learned} with the other sets' too\n"
        )
    sys.stdout.write(f"TOTAL: {totals[2]} tickets; demo examples {totals[0]}, with the other sets' {totals[1]}\n")


if __name__ == "__main__":
    main()
