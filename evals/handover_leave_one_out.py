"""Does learning from independent writers' tickets generalise? The hand-over check, one spent set left out.

``python -m evals.handover_leave_one_out [--variant sentences|whole|both] [--sets blind3 ...]
[--targets 0.95/0.98 0.9/0.95 ...]``

For each set K: the detectors are fitted, and their thresholds chosen again out of fold, on the written
examples (``triage/handover_examples.jsonl``) plus the examples taken from the spent eval sets
(``triage/handover_examples_sets.jsonl``) of every set but K (each row names its ``source`` set), then
``evals.handover_check`` runs on K. The baseline leaves out the rows of every set measured (``--sets``), so
K's rows never train either: with ``--sets blind8 … blind12`` it is the written examples plus the rows of dev to
blind7, what was shipped before those sets' rows; ``--baseline written`` is the written examples alone (the
baseline of the first measure, on blind3 to blind7). Thresholds are chosen the same way. Variants, by the rows'
``unit``: ``sentences`` (the one to three sentences of a ticket that carry its
reason, or a calm ticket's alarming or ordinary sentences), ``whole`` (the whole message of each of those
tickets, as the detector reads it), ``both``. ``--targets``: the out-of-fold precision the whole-message and
single-sentence bars must reach (the shipped ``PRECISION``/``SENTENCE_PRECISION`` by default); the models are
fitted once per set and the bars chosen for each target.

Only the spent sets are opened: the held-out ones (``tickets_blind17.jsonl`` and later) are never read.
About 3 minutes per set on two cores with the embedding cache warm.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from demo.customers import demo_customers
from domain.models import Customer
from evals.handover_check import HandoverCheck, check
from evals.precedent_examples import SPENT, set_path
from evals.tickets import load_tickets
from triage.handover import (
    EXAMPLES,
    LANGUAGE,
    PRECISION,
    REASONS,
    SENTENCE_PRECISION,
    SET_EXAMPLES,
    Example,
    HandoverDetector,
    load_examples,
)

LEFT_OUT = SPENT[3:]  # blind3 on
VARIANTS = ("sentences", "whole", "both")


def set_rows(path: Path = SET_EXAMPLES) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def set_examples(
    rows: Sequence[Mapping[str, Any]], leave_out: str | Collection[str] | None, variant: str
) -> list[Example]:
    """The set-derived examples of every set but ``leave_out`` (one set or several), of the variant's units."""
    units = {"sentences": {"sentences"}, "whole": {"message"}, "both": {"sentences", "message"}}[variant]
    left_out = {leave_out} if isinstance(leave_out, str) else set(leave_out or ())
    unique: dict[str, Example] = {}
    for r in rows:
        if r["source"] not in left_out and r["unit"] in units:
            unique.setdefault(r["text"], Example(r["text"], frozenset(r["reasons"])))  # one sentence, two tickets
    return list(unique.values())


Bars = tuple[dict[str, float], dict[str, float]]  # (whole message, single sentence) threshold per reason
Target = tuple[float, float]  # out-of-fold precision each bar must reach (whole message, single sentence)


def fit_for_targets(
    examples: Sequence[Example], targets: Sequence[Target]
) -> tuple[HandoverDetector, dict[Target, Bars]]:
    """The detector fitted on the examples, and its bars chosen out of fold for each precision target (the
    out-of-fold probabilities computed once, as ``HandoverDetector.fit(choose=True)`` computes them)."""
    detector = HandoverDetector().fit(examples, choose=False)
    learned = [e for e in examples if LANGUAGE not in e.reasons]
    texts = [e.text for e in learned]
    x = detector._embed(texts, persist=True)
    bars: dict[Target, Bars] = {t: ({}, {}) for t in targets}
    for reason in REASONS:
        y = np.array([int(reason in e.reasons) for e in learned])
        oof = HandoverDetector.out_of_fold(x, y, texts)
        for t in targets:
            bars[t][0][reason], bars[t][1][reason] = HandoverDetector.choose_thresholds(x, y, texts, t, oof)
    return detector, bars


def run(detector: HandoverDetector, bars: Bars, name: str, customers: Mapping[str, Customer]) -> HandoverCheck:
    detector.thresholds, detector.sentence_thresholds = dict(bars[0]), dict(bars[1])
    return check(detector, load_tickets(set_path(name), set(customers)), customers)


def line(label: str, result: HandoverCheck) -> str:
    return (
        f"  {label:9} missed {len(result.missed):2} of {result.must_reach} {sorted(result.missed)}\n"
        f"  {'':9} calm   {len(result.handed_over):2} of {result.calm} {sorted(result.handed_over)}\n"
    )


def target(text: str) -> Target:
    whole, sentence = (float(v) for v in text.split("/"))
    return whole, sentence


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--variant", choices=VARIANTS, default="sentences")
    parser.add_argument("--sets", nargs="+", default=list(LEFT_OUT))
    parser.add_argument(
        "--targets",
        nargs="+",
        type=target,
        default=[(PRECISION, SENTENCE_PRECISION)],
        help="precision targets WHOLE/SENTENCE to choose the bars for (the shipped ones by default)",
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline runs")
    parser.add_argument(
        "--baseline",
        choices=("others", "written"),
        default="others",
        help="others: the written examples plus the rows of every set not in --sets (default); written: those alone",
    )
    args = parser.parse_args(argv)
    for name in args.sets:
        set_path(name)
    customers = {c.customer_id: c for c in demo_customers()}
    written = load_examples(EXAMPLES)
    rows = set_rows()
    kept = [] if args.baseline == "written" else set_examples(rows, args.sets, args.variant)
    baseline = None if args.no_baseline else fit_for_targets([*written, *kept], args.targets)
    if baseline is not None:
        sys.stdout.write(f"baseline: {len(written)} written + {len(kept)} set examples of sets not measured\n")
    totals: dict[tuple[Target, str], list[int]] = {}
    for name in args.sets:
        extra = set_examples(rows, name, args.variant)
        detectors = {"with sets": fit_for_targets([*written, *extra], args.targets)}
        if baseline is not None:
            detectors = {"baseline": baseline, **detectors}
        for t in args.targets:
            out = (
                f"{name} left out, targets {t[0]}/{t[1]} ({len(extra)} set examples from the others, {args.variant})\n"
            )
            for label, (detector, bars) in detectors.items():
                result = run(detector, bars[t], name, customers)
                out += line(label, result)
                total = totals.setdefault((t, label), [0, 0])
                total[0] += len(result.missed)
                total[1] += len(result.handed_over)
                if name == args.sets[0]:
                    out += f"  {'':9} bars {bars[t][0]} / {bars[t][1]}\n"
            sys.stdout.write(out)
            sys.stdout.flush()
    for (t, label), (missed, calm) in totals.items():
        sys.stdout.write(f"total {t[0]}/{t[1]} {label}: missed {missed}, calm handed over {calm}\n")


if __name__ == "__main__":
    main()
