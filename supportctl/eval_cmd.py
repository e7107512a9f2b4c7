"""`supportctl eval triage|retrieval|split`: measure triage and retrieval quality on a team's own data.

`eval triage` and `eval retrieval` end with one JSON line on stdout (the fixed interface that measures
the system); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from settings import Settings
from supportctl import eval_tickets
from supportctl.console import ProgressBar, emit, fail, note, say
from supportctl.paths import absent, not_files
from supportctl.triage_cmd import EMBEDDINGS_HELP, TEXT_FIELD_HELP


def cmd_eval_triage(args: argparse.Namespace, _settings: Settings) -> int:
    from triage.evaluation import evaluate_triage

    if (problem := not_files([args.train, args.test], "JSONL or CSV")) is not None:
        return fail(problem, 2)
    emit(evaluate_triage(args.train, args.test, args.label, args.text_field, args.embeddings, say=note))
    return 0


def cmd_eval_retrieval(args: argparse.Namespace, _settings: Settings) -> int:
    from kb.evaluation import evaluate_retrieval

    missing = absent([args.kb, args.qrels])
    if missing:
        return fail(f"no such file: {', '.join(map(str, missing))}", 2)
    if (problem := not_files([args.qrels], "JSONL")) is not None:  # --kb may be a folder of articles
        return fail(problem, 2)
    result = asyncio.run(
        evaluate_retrieval(
            args.kb, args.qrels, query_field=args.query_field, mode=args.mode, say=note, progress=ProgressBar
        )
    )
    emit(result)
    return 0


def cmd_eval_split(args: argparse.Namespace, _settings: Settings) -> int:
    from triage.datasets import read_rows, stratified_split

    if (problem := not_files([args.data], "JSONL or CSV")) is not None:
        return fail(problem, 2)
    rows = list(read_rows(args.data))  # JSONL, or a CSV export with a header row
    if not rows:
        return fail(f"{args.data}: no rows to split", 2)
    unlabelled = next((where for where, row in rows if row.get(args.label) in (None, "")), None)
    if unlabelled is not None:
        return fail(f"{unlabelled}: no {args.label!r} (every row needs a label to be split by it)", 2)
    labels = [str(row[args.label]) for _, row in rows]
    train_idx, test_idx = stratified_split(labels, args.test_fraction, args.seed)
    if not test_idx:  # an empty test set would only fail later, in `eval triage`
        return fail(f"{args.data}: no {args.label!r} has two rows, so none can be held out; nothing written", 2)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, idx in (("train", train_idx), ("test", test_idx)):
        lines = (json.dumps(rows[i][1], ensure_ascii=False) + "\n" for i in idx)
        (args.out / f"{name}.jsonl").write_text("".join(lines), encoding="utf-8")
    say(f"{args.out}/train.jsonl: {len(train_idx)} rows, {args.out}/test.jsonl: {len(test_idx)} rows")
    return 0


def _fraction(value: str) -> float:
    try:
        f = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 0 < f < 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1, e.g. 0.2")
    return f


def register(sub: Any) -> None:
    ev = sub.add_parser("eval", help="measure triage and retrieval quality (last stdout line: JSON)")
    ev_sub = ev.add_subparsers(dest="eval_command", required=True)
    et = ev_sub.add_parser("triage", help="train on TRAIN only, predict TEST: accuracy, macro-F1")
    et.add_argument("--train", type=Path, required=True)
    et.add_argument("--test", type=Path, required=True)
    et.add_argument("--label", required=True)
    et.add_argument("--text-field", default="text", help=TEXT_FIELD_HELP)
    et.add_argument("--embeddings", choices=["auto", "on", "off"], default="auto", help=EMBEDDINGS_HELP)
    et.set_defaults(func=cmd_eval_triage)
    er = ev_sub.add_parser("retrieval", help="ingest KB into a fresh collection, run the qrels' queries")
    er.add_argument("--kb", type=Path, required=True, help="articles (JSONL with id/title/content, Markdown)")
    er.add_argument("--qrels", type=Path, required=True, help="JSONL: a query field and relevant_doc_ids")
    er.add_argument("--query-field", default="scenario_instructions")
    er.add_argument("--mode", choices=["hybrid", "bm25", "dense"], default="hybrid")
    er.set_defaults(func=cmd_eval_retrieval)

    es = ev_sub.add_parser("split", help="a stratified train/test split of a JSONL or CSV file, for dev measurements")
    es.add_argument("data", type=Path)
    es.add_argument("--label", required=True)
    es.add_argument("--test-fraction", type=_fraction, default=0.2)
    es.add_argument("--seed", type=int, default=0)
    es.add_argument("--out", type=Path, required=True, help="folder for train.jsonl and test.jsonl")
    es.set_defaults(func=cmd_eval_split)

    eval_tickets.add_parser(ev_sub)
