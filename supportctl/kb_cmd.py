"""`supportctl kb ingest|sources|forget|search`: load help articles into the knowledge base, look into it.

A source owns its articles: re-ingesting it deletes what it no longer has, never another source's.
Progress goes to stderr; results to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from settings import Settings
from supportctl.console import ProgressBar, fail, note, say
from supportctl.paths import absent

if TYPE_CHECKING:
    from kb.index import KnowledgeBase


def cmd_kb_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from kb.articles import load_by_path
    from kb.index import KnowledgeBase, open_qdrant
    from supportctl.prepare import DEMO_KB, DEMO_SOURCE, demo_articles

    paths: list[Path] = args.paths or [DEMO_KB]
    missing = absent(paths)
    if missing:
        return fail(f"no such file or folder: {', '.join(map(str, missing))}", 2)
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
                return fail(f"{_no_kb(settings)}")
            counts = await kb.sources()
            if args.source not in counts and path_source(Path(args.source)) in counts:
                args.source = path_source(Path(args.source))  # a folder named as it was ingested
            if args.source not in counts:
                known = ", ".join(map(repr, sorted(counts))) or "none"
                return fail(f"no source {args.source!r} in the knowledge base (sources: {known})")
            deleted = await kb.forget(args.source)
        say(f"deleted {deleted} articles of source {args.source!r}")
        return 0

    return asyncio.run(run())


def cmd_kb_search(args: argparse.Namespace, settings: Settings) -> int:
    if args.include_shared and not args.product:
        return fail("--include-shared adds the shared articles to a --product's: give --product NAME", 2)

    async def run() -> int:
        async with _existing_kb(settings) as kb:
            if kb is None:
                return fail(f"{_no_kb(settings)}")
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
