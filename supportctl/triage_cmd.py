"""`supportctl triage train|map`: train the ticket classifier on a team's own history, map its labels.

Everything that can be refused (files, the --out path, the label map) is checked before minutes of
training. Progress goes to stderr; results to stdout.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from settings import Settings
from supportctl.console import fail, note, say
from supportctl.paths import absent, not_files

if TYPE_CHECKING:
    from domain.models import Category
    from triage.classifier import TextClassifier

# Options `eval triage` shares with `triage train`: the same model, trained the same way.
TEXT_FIELD_HELP = "the field holding the text; join several with + (Subject+Description), as the worker does"
EMBEDDINGS_HELP = "sentence-embedding features: auto (short texts only), on, off"


def cmd_triage_train(args: argparse.Namespace, settings: Settings) -> int:
    from triage.classifier import HOLDOUT_FRACTION, TextClassifier
    from triage.datasets import read_examples, require_two_labels

    if (problem := not_files([args.data], "JSONL or CSV")) is not None:
        return fail(problem, 2)
    out: Path = args.out or settings.DATA_DIR / "models" / "triage.pkl"
    if out.is_dir():
        return fail(f"--out {out} is a folder; give the model file's path (e.g. {out / 'triage.pkl'})", 2)
    if out.suffix.lower() == ".json":  # the metadata is written beside the model as .json: it would replace it
        return fail(f"--out {out}: the model's metadata goes beside it as .json; give the model a .pkl path", 2)
    out.parent.mkdir(parents=True, exist_ok=True)  # an OSError here is reported before any training
    if not os.access(out.parent, os.W_OK):
        return fail(f"cannot write to {out.parent} (--out)", 2)
    if args.categories and absent([args.categories]):
        return fail(f"no such file: {args.categories}", 2)
    # Read before training, so a bad map fails in a second rather than after minutes of fitting.
    own = _read_category_map(args.categories) if args.categories else None
    texts, labels = read_examples(args.data, args.label, args.text_field)
    require_two_labels(args.data, labels, args.label)  # before minutes of embedding, not after
    if own is not None:
        _check_map_labels(own, labels, args.categories)  # before minutes of training, not after
    note(f"{args.data}: {len(texts)} examples, {len(set(labels))} labels in {args.label!r}")
    model = TextClassifier.train(
        texts,
        labels,
        embeddings=args.embeddings,
        label_field=args.label,
        text_field=args.text_field,
        holdout=HOLDOUT_FRACTION,
        progress=note,
    )
    if own is not None:
        _apply_category_map(model, own, args.categories)
    _report_routing(model)
    model.save(out)
    info = model.info
    say(f"triage model {info.version} written to {out} (metadata: {out.with_suffix('.json')})")
    if info.metrics.get("n"):
        say(
            f"held-out {info.metrics['n']:.0f} examples: accuracy {info.metrics['accuracy']:.4f}, "
            f"macro-F1 {info.metrics['macro_f1']:.4f}"
        )
    else:
        say(f"not measured: {len(texts)} examples are too few to hold some out (give each label a few more)")
    say("restart the worker to load it")
    return 0


def cmd_triage_map(args: argparse.Namespace, settings: Settings) -> int:
    """Give a trained model the team's label -> category map without training it again."""
    from triage.classifier import TextClassifier

    path: Path = args.model or settings.DATA_DIR / "models" / "triage.pkl"
    problem = not_files([path], "triage model (.pkl)") or not_files([args.categories], "JSON")
    if problem is not None:
        return fail(problem, 2)
    own = _read_category_map(args.categories)
    model = TextClassifier.load(path)
    _check_map_labels(own, model.labels, args.categories)
    _apply_category_map(model, own, args.categories)
    _report_routing(model)
    model.save(path)
    say(f"triage model {model.info.version} at {path}: {len(model.info.categories)} labels mapped by {args.categories}")
    say("restart the worker to load it")
    return 0


def _read_category_map(path: Path) -> dict[str, Category]:
    from triage.categories import parse_category_map

    if not path.exists():
        raise ValueError(f"no such file: {path}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not valid UTF-8 (byte {e.start}: {e.reason}); save the file as UTF-8") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: invalid JSON: {e.msg} (line {e.lineno})") from None
    return dict(parse_category_map(raw, str(path)))


def _check_map_labels(own: dict[str, Category], labels: Iterable[str], source: Path) -> None:
    """Refuse a map naming labels the data does not have (a typo would silently route to general)."""
    known = sorted(set(labels))
    strangers = [label for label in own if label not in known]
    if not strangers:
        return
    by_case = {label.lower(): label for label in known}
    hints = []
    for label in strangers[:10]:
        close = [by_case[label.lower()]] if label.lower() in by_case else difflib.get_close_matches(label, known, 2)
        hints.append(f"{label!r}" + (f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""))
    raise ValueError(
        f"{source}: {len(strangers)} mapped label(s) the model does not have: {', '.join(hints)}; "
        f"its labels: {', '.join(map(repr, known[:20]))}{' …' if len(known) > 20 else ''}"
    )


def _apply_category_map(model: TextClassifier, own: dict[str, Category], source: Path) -> None:
    """Give ``model`` the map (checked against its labels by the caller); replaces an earlier map."""
    before = len(model.info.categories)
    model.set_categories(own)
    if before:
        note(f"{source} replaces the earlier map of {before} labels")


def _report_routing(model: TextClassifier) -> None:
    """Say which labels route where, so a queue that would route nowhere is seen before deploying."""
    by_category: dict[str, int] = {}
    for label in model.labels:
        cat = model.category_of(label).value
        by_category[cat] = by_category.get(cat, 0) + 1
    note("labels per category: " + ", ".join(f"{cat} {n}" for cat, n in sorted(by_category.items())))
    unmapped = model.unmapped_labels()
    if unmapped:
        shown = ", ".join(map(repr, unmapped[:10])) + (" …" if len(unmapped) > 10 else "")
        note(
            f"{len(unmapped)} of {len(model.labels)} labels map to no category and route to the general agent: "
            f'{shown} (map them with `supportctl triage map FILE.json`: {{"label": "account", ...}})'
        )


def register(sub: Any) -> None:
    triage = sub.add_parser("triage", help="train the ticket classifier on your own ticket history")
    triage_sub = triage.add_subparsers(dest="triage_command", required=True)
    train = triage_sub.add_parser("train", help="train and save a versioned triage model")
    train.add_argument("--data", type=Path, required=True, help="JSONL (one example per line) or CSV with a header row")
    train.add_argument("--label", required=True, help="the field holding the label (e.g. category, intent)")
    train.add_argument("--text-field", default="text", help=TEXT_FIELD_HELP)
    train.add_argument("--out", type=Path, default=None, help="artifact path (default: DATA_DIR/models/triage.pkl)")
    train.add_argument("--embeddings", choices=["auto", "on", "off"], default="auto", help=EMBEDDINGS_HELP)
    categories_help = 'JSON object mapping your labels to categories, e.g. {"Access": "account"}'
    train.add_argument("--categories", type=Path, default=None, help=categories_help)
    train.set_defaults(func=cmd_triage_train)
    remap = triage_sub.add_parser("map", help="set a trained model's label -> category map (no retraining)")
    remap.add_argument("categories", type=Path, help=categories_help)
    remap.add_argument("--model", type=Path, default=None, help="artifact path (default: DATA_DIR/models/triage.pkl)")
    remap.set_defaults(func=cmd_triage_map)
