"""Help-centre articles and the loaders that read them from Markdown and JSONL files.

Three source formats, chosen so the support team can write articles by hand, load what its
help centre exports, and we can still test against public datasets:

* Markdown with a YAML front-matter block (``id``, ``title``, ``category``, ``product``, ``tags``,
  ``url``); ``id`` defaults to the file stem and ``url`` to ``load_articles``' address template.
  A page without front matter that opens with ``# Title`` is read with those defaults.
* HTML pages (``.html``/``.htm``, see ``kb.html_articles``): title from ``<title>`` or the first
  ``<h1>``, metadata from ``<meta name=...>`` tags and ``<link rel="canonical">``, ``id`` from
  the file stem unless a ``<meta name="id">`` says otherwise.
* JSONL, one article per line with ``id``, ``title`` and ``content`` (optionally ``category``,
  ``product``, ``url``, ``tags``), the shape of most public KB datasets. A ``content`` in HTML (a
  help-centre export) is read as HTML.

``product`` is optional: a team with several products tags articles with theirs, and search can
then keep to one product (``KnowledgeBase.search(..., product=...)``).

Every malformed input raises ``ValueError`` that starts with ``<file>:<line>:`` so an operator
loading hundreds of files can go straight to the broken one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

import jsonl
from kb.html_articles import declared_charset, looks_like_html, parse_html

DEFAULT_CATEGORY = "general"
# Directory scans skip these: a folder of articles usually carries a README for its authors.
_SKIPPED_NAMES = frozenset({"readme.md"})
MARKDOWN_SUFFIXES = (".md",)
HTML_SUFFIXES = (".html", ".htm")
JSONL_SUFFIXES = (".jsonl",)
_SUFFIXES = MARKDOWN_SUFFIXES + HTML_SUFFIXES + JSONL_SUFFIXES
_FRONT_MATTER_END = ("---", "...")


@dataclass(frozen=True)
class Article:
    """One help-centre article; ``body`` is Markdown."""

    id: str
    title: str
    category: str
    body: str
    tags: tuple[str, ...] = ()
    url: str = ""
    product: str = ""  # "" for a team with one product

    @property
    def content_hash(self) -> str:
        """SHA-256 over title, category and body: what decides whether re-indexing is needed."""
        digest = hashlib.sha256()
        for part in (self.title, self.category, self.body):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x1f")  # a separator, so ("ab", "c") and ("a", "bc") differ
        return digest.hexdigest()


def default_url(article_id: str, template: str) -> str:
    """The address of an article that names none: ``template`` with ``{id}`` filled in ("" without one)."""
    return template.replace("{id}", quote(article_id, safe="")) if template else ""


def load_articles(paths: Iterable[Path], url_template: str = "") -> list[Article]:
    """Load articles from Markdown files, JSONL files and directories (searched recursively).

    An article without a ``url`` of its own gets ``url_template`` with its id for ``{id}`` (the
    team's help-centre address, ``KB_ARTICLE_URL``); without a template it has no link, rather than
    one that goes nowhere.

    Raises:
        ValueError: a file is malformed, has an unsupported suffix, or two articles share an id.
        FileNotFoundError: a path does not exist.
    """
    return [article for _, found in load_by_path(paths, url_template) for article in found]


def load_by_path(paths: Iterable[Path], url_template: str = "") -> list[tuple[Path, list[Article]]]:
    """``load_articles``, grouped by the path each article was found under (in the order given), so
    a caller can treat every path as its own source; ids are unique across all of them."""
    grouped: list[tuple[Path, list[Article]]] = []
    seen: dict[str, str] = {}
    for raw in paths:
        articles: list[Article] = []
        for file in _expand([raw]):
            for location, article in _load_file(file):
                if article.id in seen and seen[article.id] == location:
                    raise ValueError(f"{location}: given twice (the paths overlap); name each file or folder once")
                if article.id in seen:
                    raise ValueError(
                        f"{location}: duplicate article id {article.id!r} (first seen at {seen[article.id]})"
                    )
                seen[article.id] = location
                if not article.url and url_template:
                    article = replace(article, url=default_url(article.id, url_template))
                articles.append(article)
        grouped.append((Path(raw), articles))
    return grouped


def _expand(paths: Iterable[Path]) -> Iterator[Path]:
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in _SUFFIXES and child.name.lower() not in _SKIPPED_NAMES:
                    yield child
        elif path.is_file():
            yield path
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")


def _load_file(path: Path) -> list[tuple[str, Article]]:
    suffix = path.suffix.lower()
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # -sig: a byte-order mark (Windows editors) is not part of the text
    except UnicodeDecodeError as exc:
        declared = declared_charset(raw) if suffix in HTML_SUFFIXES else None
        if declared is None:
            raise ValueError(f"{path}:1: not valid UTF-8 ({exc.reason})") from exc
        try:  # an older page in the charset its <meta> declares, as a browser would read it
            text = raw.decode(declared)
        except (LookupError, UnicodeDecodeError) as declared_exc:
            raise ValueError(f"{path}:1: not valid UTF-8, nor the {declared!r} it declares") from declared_exc
    if suffix in MARKDOWN_SUFFIXES:
        return [(f"{path}:1", parse_markdown(text, path))]
    if suffix in HTML_SUFFIXES:
        return [(f"{path}:1", parse_html_article(text, path))]
    if suffix in JSONL_SUFFIXES:
        return list(parse_jsonl(text, path))
    raise ValueError(f"{path}:1: unsupported file type {path.suffix!r} (expected .md, .html, .htm or .jsonl)")


def parse_markdown(text: str, path: Path) -> Article:
    """Parse one Markdown article: a ``---`` front-matter block, then the body. A plain Markdown
    page without front matter (a docs folder) is an article too when it opens with a ``# title``."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return _plain_markdown(lines, path)
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in _FRONT_MATTER_END), None)
    if end is None:
        raise ValueError(f"{path}:1: front matter is not closed by a '---' line")
    try:
        meta = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1  # +1 for the opening '---', +1 for 1-based
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValueError(f"{path}:{line}: invalid YAML in front matter: {problem}") from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ValueError(f"{path}:2: front matter must be a mapping of keys to values")
    where = f"{path}:2"
    article_id = _text(meta, "id", where, default=path.stem)
    body = "\n".join(lines[end + 1 :]).strip()
    if not body:
        raise ValueError(f"{path}:{end + 2}: article {article_id!r} has an empty body")
    return Article(
        id=article_id,
        title=_text(meta, "title", where),
        category=_text(meta, "category", where, default=DEFAULT_CATEGORY),
        body=body,
        tags=_tags(meta, where),
        url=_text(meta, "url", where, default=""),
        product=_text(meta, "product", where, default=""),
    )


def _plain_markdown(lines: list[str], path: Path) -> Article:
    first = next((n for n, line in enumerate(lines) if line.strip()), None)
    heading = lines[first].strip() if first is not None else ""
    if not heading.startswith("# ") or not heading[2:].strip():
        raise ValueError(
            f"{path}:1: no title: start the file with YAML front matter ('---', 'title: …', '---') "
            "or with a '# Title' line"
        )
    body = "\n".join(lines[first + 1 :]).strip() if first is not None else ""
    if not body:
        raise ValueError(f"{path}:{(first or 0) + 2}: article {path.stem!r} has an empty body")
    return Article(id=path.stem, title=heading[2:].strip(), category=DEFAULT_CATEGORY, body=body)


def parse_html_article(text: str, path: Path) -> Article:
    """Parse one HTML page into an article (see ``kb.html_articles`` for what is kept)."""
    page = parse_html(text)
    where = f"{path}:1"
    meta = page.meta
    article_id = _text(meta, "id", where, default=path.stem)
    if not page.title:
        raise ValueError(f"{where}: HTML article {article_id!r} has no <title> and no <h1>")
    if not page.body:
        raise ValueError(f"{where}: HTML article {article_id!r} has no text in its body")
    tags = meta.get("tags") or meta.get("keywords")
    return Article(
        id=article_id,
        title=page.title,
        category=_text(meta, "category", where, default=DEFAULT_CATEGORY),
        body=page.body,
        tags=_tags({"tags": tags}, where),
        url=page.canonical or "",
        product=_text(meta, "product", where, default=""),
    )


def parse_jsonl(text: str, path: Path) -> Iterator[tuple[str, Article]]:
    """Parse JSONL articles, one object per line; blank lines are skipped."""
    for number, record in jsonl.values(text.splitlines(), path):
        where = f"{path}:{number}"
        if not isinstance(record, dict):
            raise ValueError(f"{where}: expected a JSON object, got {type(record).__name__}")
        article_id = _text(record, "id", where)
        title = _text(record, "title", where)
        body = _text(record, "content", where).strip()
        if looks_like_html(body):
            body = parse_html(body, title).body
        if not body:
            raise ValueError(f"{where}: article {article_id!r} has an empty 'content'")
        yield (
            where,
            Article(
                id=article_id,
                title=title,
                category=_text(record, "category", where, default=DEFAULT_CATEGORY),
                body=body,
                tags=_tags(record, where),
                url=_text(record, "url", where, default=""),
                product=_text(record, "product", where, default=""),
            ),
        )


def _text(record: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = record.get(key)
    if value is None:
        if default is None:
            raise ValueError(f"{where}: missing required field {key!r}")
        return default
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{where}: field {key!r} must be a string, got {type(value).__name__}")
    result = str(value).strip()
    if not result:
        if default is None:
            raise ValueError(f"{where}: field {key!r} is empty")
        return default
    return result


def _tags(record: Mapping[str, Any], where: str) -> tuple[str, ...]:
    value = record.get("tags")
    if value is None:
        return ()
    if isinstance(value, str):  # "tags: billing, refunds" is a common hand-written shortcut
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(tag, str | int) for tag in value):
        raise ValueError(f"{where}: field 'tags' must be a list of strings")
    return tuple(str(tag).strip() for tag in value if str(tag).strip())
