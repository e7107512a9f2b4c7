"""Knowledge base and triage commands: `kb ingest|sources|forget|search`, `triage train|map`,
`eval triage|retrieval|split`, `bench kb`.

Long runs report progress on stderr; results go to stdout, and the evaluation and benchmark
commands end with one JSON line (the fixed interface that measures the system).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import difflib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from settings import Settings

if TYPE_CHECKING:
    from domain.models import Category
    from kb.index import KnowledgeBase
    from triage.classifier import TextClassifier


def say(msg: str) -> None:
    print(msg, flush=True)


def note(msg: str) -> None:
    """Progress and diagnostics: stderr, so stdout stays the result."""
    print(msg, file=sys.stderr, flush=True)


class ProgressBar:
    """A one-line progress bar on stderr (a plain line per update when stderr is not a terminal)."""

    def __init__(self, label: str, every: float = 1.0) -> None:
        self._label = label
        self._every = every
        self._last = 0.0
        self._started = time.monotonic()
        self._tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < self._every:
            return
        self._last = now
        if total <= 0:
            return
        width = 30
        filled = int(width * done / total)
        line = f"{self._label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} {now - self._started:.0f}s"
        if self._tty:
            end = "\n" if done >= total else ""
            print(f"\r{line}", end=end, file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)


def _missing(paths: list[Path]) -> list[Path]:
    return [p for p in paths if not p.exists()]


def _not_files(paths: list[Path], kind: str) -> str | None:
    """Why ``paths`` cannot be read as ``kind`` files (missing, or a folder), or None when they can."""
    missing = _missing(paths)
    if missing:
        return f"no such file: {', '.join(map(str, missing))}"
    folder = next((p for p in paths if p.is_dir()), None)
    return f"{folder} is a folder; give a {kind} file" if folder is not None else None


def _emit(result: dict[str, Any]) -> None:
    print(json.dumps(result, sort_keys=False), flush=True)


# --- kb ----------------------------------------------------------------------------------------


def cmd_kb_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from kb.articles import load_by_path
    from kb.index import KnowledgeBase, open_qdrant
    from supportctl.prepare import DEMO_KB, DEMO_SOURCE, demo_articles

    paths: list[Path] = args.paths or [DEMO_KB]
    missing = _missing(paths)
    if missing:
        note(f"error: no such file or folder: {', '.join(map(str, missing))}")
        return 2
    # One read of every path; ids must be unique across all of them.
    found = load_by_path(paths, settings.KB_ARTICLE_URL) if args.paths else [(DEMO_KB, demo_articles())]
    # A source owns its articles: re-ingesting it deletes what it no longer has, and nothing else's.
    if args.source is not None:
        batches = [(args.source, [article for _, articles in found for article in articles])]
    elif not args.paths:
        batches = [(DEMO_SOURCE, found[0][1])]
    else:
        batches = [(path_source(path), articles) for path, articles in found]
    empty = [str(path) for path, articles in found if not articles]
    if empty:  # a wrong folder must not quietly delete a source's articles
        note(
            f"error: no articles (.md, .html, .htm, .jsonl) in {', '.join(empty)}; nothing ingested "
            "(`supportctl kb forget SOURCE` deletes a source's articles on purpose)"
        )
        return 2

    async def run() -> None:
        qdrant = open_qdrant(settings.QDRANT_PATH, settings.QDRANT_URL, settings.QDRANT_API_KEY)
        try:
            kb = KnowledgeBase(qdrant, settings.KB_COLLECTION)
            if await kb.ensure_collection():
                note(f"created collection {kb.collection!r}")
            for source, batch in batches:
                report = await kb.ingest(batch, progress=ProgressBar("embedding and writing chunks"), source=source)
                say(
                    f"knowledge base {settings.KB_COLLECTION!r}, source {source!r}: {len(batch)} articles "
                    f"({report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
                    f"{report.deleted} deleted; {report.chunks} chunks written)"
                )
                if report.moved:
                    shown = ", ".join(map(repr, report.moved[:5])) + (" …" if len(report.moved) > 5 else "")
                    note(
                        f"warning: {len(report.moved)} article ids came from another source and now belong to "
                        f"{source!r}: {shown} (two sources with the same ids overwrite each other)"
                    )
        finally:
            await qdrant.close()

    asyncio.run(run())
    return 0


def path_source(path: Path) -> str:
    """The source a path's articles belong to when no --source is given: the path itself, absolute."""
    return str(path.resolve())


@contextlib.asynccontextmanager
async def _existing_kb(settings: Settings) -> AsyncIterator[KnowledgeBase | None]:
    """The configured knowledge base, or None when its collection does not exist yet."""
    from kb.index import KnowledgeBase, open_qdrant

    qdrant = open_qdrant(settings.QDRANT_PATH, settings.QDRANT_URL, settings.QDRANT_API_KEY)
    try:
        exists = await qdrant.collection_exists(settings.KB_COLLECTION)
        yield KnowledgeBase(qdrant, settings.KB_COLLECTION) if exists else None
    finally:
        await qdrant.close()


def _no_kb(settings: Settings) -> str:
    where = settings.QDRANT_URL or settings.QDRANT_PATH
    return (
        f"no knowledge base {settings.KB_COLLECTION!r} in {where}: load articles first with `supportctl kb ingest PATH`"
    )


def cmd_kb_sources(_args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> int:
        async with _existing_kb(settings) as kb:
            counts = await kb.sources() if kb is not None else {}
        for source, n in sorted(counts.items()):
            label = repr(source) if source else "'' (ingested before sources were recorded)"
            say(f"{n:6} articles  {label}")
        if not counts:
            say(_no_kb(settings) if kb is None else "the knowledge base is empty")
        return 0

    return asyncio.run(run())


def cmd_kb_forget(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> int:
        async with _existing_kb(settings) as kb:
            if kb is None:
                note(f"error: {_no_kb(settings)}")
                return 1
            counts = await kb.sources()
            if args.source not in counts and path_source(Path(args.source)) in counts:
                args.source = path_source(Path(args.source))  # a folder named as it was ingested
            if args.source not in counts:
                known = ", ".join(map(repr, sorted(counts))) or "none"
                note(f"error: no source {args.source!r} in the knowledge base (sources: {known})")
                return 1
            deleted = await kb.forget(args.source)
        say(f"deleted {deleted} articles of source {args.source!r}")
        return 0

    return asyncio.run(run())


def cmd_kb_search(args: argparse.Namespace, settings: Settings) -> int:
    if args.include_shared and not args.product:
        note("error: --include-shared adds the shared articles to a --product's: give --product NAME")
        return 2

    async def run() -> int:
        async with _existing_kb(settings) as kb:
            if kb is None:
                note(f"error: {_no_kb(settings)}")
                return 1
            hits = await kb.search(
                args.query,
                limit=args.limit,
                category=args.category,
                mode=args.mode,
                product=args.product,
                include_shared=args.include_shared,
            )
            unknown: list[str] = []
            filters: list[tuple[Literal["category", "product"], str | None]] = [
                ("category", args.category),
                ("product", args.product),
            ]
            if not hits:
                for field, wanted in filters:
                    known = await kb.values_of(field) if wanted else []
                    if wanted and wanted not in known:
                        listed = ", ".join(map(repr, known)) or "none"
                        unknown.append(f"no article has {field} {wanted!r} ({field} values: {listed})")
        for rank, hit in enumerate(hits, 1):
            where = f"{hit.category}, {hit.product}" if hit.product else hit.category
            say(f"{rank:2}. {hit.title}  [{hit.article_id}, {where}, score {hit.score:.4f}]")
            if hit.url:
                say(f"    {hit.url}")
            say(f"    {hit.snippet}")
        for line in unknown:  # a filter that can match nothing reads as "no answer" without this
            note(line)
        if not hits:
            say("no matching articles")
        return 0

    return asyncio.run(run())


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return n


def _query(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("give the words to search for")
    return value


def _source_name(value: str) -> str:
    name = value.strip()
    if not name or len(name) > 200:
        raise argparse.ArgumentTypeError("a source name is 1-200 characters")
    return name


# --- triage ------------------------------------------------------------------------------------


def cmd_triage_train(args: argparse.Namespace, settings: Settings) -> int:
    from triage.classifier import HOLDOUT_FRACTION, TextClassifier
    from triage.datasets import read_examples, require_two_labels

    if (problem := _not_files([args.data], "JSONL or CSV")) is not None:
        note(f"error: {problem}")
        return 2
    out: Path = args.out or settings.DATA_DIR / "models" / "triage.pkl"
    if out.is_dir():
        note(f"error: --out {out} is a folder; give the model file's path (e.g. {out / 'triage.pkl'})")
        return 2
    if out.suffix.lower() == ".json":  # the metadata is written beside the model as .json: it would replace it
        note(f"error: --out {out}: the model's metadata goes beside it as .json; give the model a .pkl path")
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)  # an OSError here is reported before any training
    if not os.access(out.parent, os.W_OK):
        note(f"error: cannot write to {out.parent} (--out)")
        return 2
    if args.categories and _missing([args.categories]):
        note(f"error: no such file: {args.categories}")
        return 2
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
    problem = _not_files([path], "triage model (.pkl)") or _not_files([args.categories], "JSON")
    if problem is not None:
        note(f"error: {problem}")
        return 2
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


# --- eval --------------------------------------------------------------------------------------


def cmd_eval_triage(args: argparse.Namespace, _settings: Settings) -> int:
    from triage.evaluation import evaluate_triage

    if (problem := _not_files([args.train, args.test], "JSONL or CSV")) is not None:
        note(f"error: {problem}")
        return 2
    _emit(evaluate_triage(args.train, args.test, args.label, args.text_field, args.embeddings, say=note))
    return 0


def cmd_eval_retrieval(args: argparse.Namespace, _settings: Settings) -> int:
    from kb.evaluation import evaluate_retrieval

    missing = _missing([args.kb, args.qrels])
    if missing:
        note(f"error: no such file: {', '.join(map(str, missing))}")
        return 2
    if (problem := _not_files([args.qrels], "JSONL")) is not None:  # --kb may be a folder of articles
        note(f"error: {problem}")
        return 2
    result = asyncio.run(
        evaluate_retrieval(
            args.kb, args.qrels, query_field=args.query_field, mode=args.mode, say=note, progress=ProgressBar
        )
    )
    _emit(result)
    return 0


def cmd_eval_split(args: argparse.Namespace, _settings: Settings) -> int:
    from triage.datasets import read_rows, stratified_split

    if (problem := _not_files([args.data], "JSONL or CSV")) is not None:
        note(f"error: {problem}")
        return 2
    rows = list(read_rows(args.data))  # JSONL, or a CSV export with a header row
    if not rows:
        note(f"error: {args.data}: no rows to split")
        return 2
    unlabelled = next((where for where, row in rows if row.get(args.label) in (None, "")), None)
    if unlabelled is not None:
        note(f"error: {unlabelled}: no {args.label!r} (every row needs a label to be split by it)")
        return 2
    labels = [str(row[args.label]) for _, row in rows]
    train_idx, test_idx = stratified_split(labels, args.test_fraction, args.seed)
    if not test_idx:  # an empty test set would only fail later, in `eval triage`
        note(f"error: {args.data}: no {args.label!r} has two rows, so none can be held out; nothing written")
        return 2
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


# --- bench -------------------------------------------------------------------------------------


def cmd_bench_kb(args: argparse.Namespace, settings: Settings) -> int:
    from kb.benchmark import DEFAULT_KB, run_bench

    kb_path: Path = args.kb or DEFAULT_KB
    if _missing([kb_path]):
        note(f"error: no such file: {kb_path} (pass --kb with a JSONL or Markdown knowledge base)")
        return 2
    result = asyncio.run(
        run_bench(kb_path, args.queries, args.out, data_dir=settings.DATA_DIR, say=note, progress=ProgressBar)
    )
    _emit(result)
    return 0


def register(sub: Any) -> None:
    kb = sub.add_parser("kb", help="knowledge base: ingest and search help articles")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    ingest = kb_sub.add_parser("ingest", help="load help articles (Markdown, HTML, JSONL, folders) into Qdrant")
    ingest.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the demo articles)")
    ingest.add_argument(
        "--source",
        type=_source_name,
        default=None,
        help="one name for these paths' articles (default: each path is its own source); re-ingesting a "
        "source deletes the articles it no longer has, never another source's",
    )
    ingest.set_defaults(func=cmd_kb_ingest)
    sources = kb_sub.add_parser("sources", help="list the knowledge base's sources and their article counts")
    sources.set_defaults(func=cmd_kb_sources)
    forget = kb_sub.add_parser("forget", help="delete every article of one source")
    forget.add_argument("source", help="as `kb sources` lists it ('' for articles ingested before sources)")
    forget.set_defaults(func=cmd_kb_forget)
    search = kb_sub.add_parser("search", help="search the knowledge base as the agents do")
    search.add_argument("query", type=_query)
    search.add_argument("--limit", type=_positive, default=5)
    search.add_argument("--category", default=None, help="only articles of this category")
    search.add_argument("--product", default=None, help="only articles of this product (front matter `product:`)")
    search.add_argument(
        "--include-shared",
        action="store_true",
        help="with --product: also articles that name no product (what the agents search for a ticket's product)",
    )
    search.add_argument("--mode", choices=["hybrid", "bm25", "dense"], default="hybrid")
    search.set_defaults(func=cmd_kb_search)

    embeddings_help = "sentence-embedding features: auto (short texts only), on, off"
    triage = sub.add_parser("triage", help="train the ticket classifier on your own ticket history")
    triage_sub = triage.add_subparsers(dest="triage_command", required=True)
    train = triage_sub.add_parser("train", help="train and save a versioned triage model")
    train.add_argument("--data", type=Path, required=True, help="JSONL (one example per line) or CSV with a header row")
    train.add_argument("--label", required=True, help="the field holding the label (e.g. category, intent)")
    text_help = "the field holding the text; join several with + (Subject+Description), as the worker does"
    train.add_argument("--text-field", default="text", help=text_help)
    train.add_argument("--out", type=Path, default=None, help="artifact path (default: DATA_DIR/models/triage.pkl)")
    train.add_argument("--embeddings", choices=["auto", "on", "off"], default="auto", help=embeddings_help)
    categories_help = 'JSON object mapping your labels to categories, e.g. {"Access": "account"}'
    train.add_argument("--categories", type=Path, default=None, help=categories_help)
    train.set_defaults(func=cmd_triage_train)
    remap = triage_sub.add_parser("map", help="set a trained model's label -> category map (no retraining)")
    remap.add_argument("categories", type=Path, help=categories_help)
    remap.add_argument("--model", type=Path, default=None, help="artifact path (default: DATA_DIR/models/triage.pkl)")
    remap.set_defaults(func=cmd_triage_map)

    ev = sub.add_parser("eval", help="measure triage and retrieval quality (last stdout line: JSON)")
    ev_sub = ev.add_subparsers(dest="eval_command", required=True)
    et = ev_sub.add_parser("triage", help="train on TRAIN only, predict TEST: accuracy, macro-F1")
    et.add_argument("--train", type=Path, required=True)
    et.add_argument("--test", type=Path, required=True)
    et.add_argument("--label", required=True)
    et.add_argument("--text-field", default="text", help=text_help)
    et.add_argument("--embeddings", choices=["auto", "on", "off"], default="auto", help=embeddings_help)
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

    bench = sub.add_parser("bench", help="benchmarks (figures written under bench/results/)")
    bench_sub = bench.add_subparsers(dest="bench_command", required=True)
    bkb = bench_sub.add_parser("kb", help="KB search latency (p50/p95) on an ingested knowledge base")
    bkb.add_argument("--kb", type=Path, default=None, help="articles to ingest (default: the tau2 banking KB)")
    bkb.add_argument("--queries", type=int, default=300, help="number of timed searches")
    bkb.add_argument("--out", type=Path, default=None, help="result file (default: bench/results/kb_search.json)")
    bkb.set_defaults(func=cmd_bench_kb)
