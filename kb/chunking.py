"""Split an article into passages of roughly 120-250 words along its own structure.

Chunks break at ``##``/``###`` headings and paragraph boundaries, never inside a paragraph unless
the paragraph alone is too long. Every chunk's ``text`` starts with the article title and the
heading path, so a passage read on its own (by BM25 or by an agent quoting it) keeps its context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.articles import Article

MIN_WORDS = 120
MAX_WORDS = 250
HEADING_SEPARATOR = " > "

_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Chunk:
    """One indexed passage of an article.

    Attributes:
        heading: the heading path inside the article ("Limits > Bursts"), "" before any heading.
        text: the title and heading path, a blank line, then ``body``: what gets indexed.
        body: the passage alone, for snippets.
    """

    article_id: str
    chunk_no: int
    heading: str
    text: str
    body: str = ""


@dataclass
class _Section:
    path: tuple[str, ...]
    heading_line: str
    paragraphs: list[str] = field(default_factory=list)


def chunk_article(article: Article, min_words: int = MIN_WORDS, max_words: int = MAX_WORDS) -> list[Chunk]:
    """Chunk ``article``; always returns at least one chunk (the title alone if the body is empty)."""
    pieces: list[tuple[tuple[str, ...], str, str]] = []  # (path, text, heading line if first of section)
    for section in _sections(article):
        first = True
        for paragraph in section.paragraphs:
            for piece in _split_long(paragraph, max_words):
                pieces.append((section.path, piece, section.heading_line if first else ""))
                first = False

    groups: list[tuple[tuple[str, ...], list[str]]] = []
    words = 0
    for path, piece, heading_line in pieces:
        # A short section merged into the running chunk keeps its heading as a line of text.
        merged = [heading_line, piece] if heading_line else [piece]
        count = sum(_words(part) for part in merged)
        full = bool(heading_line) and words >= min_words  # a heading ends a chunk that is big enough
        if not groups or full or words + count > max_words:
            groups.append((path, [piece]))
            words = _words(piece)
        else:
            groups[-1][1].extend(merged)
            words += count

    if not groups:
        groups = [((), [])]
    chunks: list[Chunk] = []
    for number, (path, parts) in enumerate(groups):
        heading = HEADING_SEPARATOR.join(path)
        body = "\n\n".join(parts)
        prefix = HEADING_SEPARATOR.join((article.title, *path))
        text = f"{prefix}\n\n{body}" if body else prefix
        chunks.append(Chunk(article.id, number, heading, text, body))
    return chunks


def _sections(article: Article) -> list[_Section]:
    """Group the body's paragraphs under their heading path (fenced code stays one paragraph)."""
    stack: list[tuple[int, str]] = []
    sections = [_Section((), "")]
    paragraph: list[str] = []
    in_fence = False

    def close_paragraph() -> None:
        if paragraph:
            sections[-1].paragraphs.append("\n".join(paragraph).strip())
            paragraph.clear()

    for line in article.body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            paragraph.append(line)
            continue
        heading = None if in_fence else _HEADING.match(line)
        if heading is not None:
            close_paragraph()
            level, title = len(heading.group(1)), heading.group(2)
            while stack and stack[-1][0] >= level:
                stack.pop()
            # The page's own H1 usually repeats the title, which every chunk carries already.
            if level == 1 and title.casefold() == article.title.casefold():
                sections.append(_Section(tuple(text for _, text in stack), ""))
                continue
            stack.append((level, title))
            sections.append(_Section(tuple(text for _, text in stack), line.strip()))
        elif not line.strip() and not in_fence:
            close_paragraph()
        else:
            paragraph.append(line)
    close_paragraph()
    return [section for section in sections if section.paragraphs]


def _split_long(text: str, max_words: int) -> list[str]:
    """Split an over-long paragraph by lines, then sentences, then (last resort) words."""
    if _words(text) <= max_words:
        return [text]
    for pattern, joiner in (("\n", "\n"), (_SENTENCE_END.pattern, " ")):
        units = [unit.strip() for unit in re.split(pattern, text) if unit.strip()]
        if len(units) > 1:
            smaller = [piece for unit in units for piece in _split_long(unit, max_words)]
            return _pack(smaller, max_words, joiner)
    tokens = text.split()
    return [" ".join(tokens[i : i + max_words]) for i in range(0, len(tokens), max_words)]


def _pack(units: list[str], max_words: int, joiner: str) -> list[str]:
    packed: list[list[str]] = []
    words = 0
    for unit in units:
        count = _words(unit)
        if not packed or words + count > max_words:
            packed.append([])
            words = 0
        packed[-1].append(unit)
        words += count
    return [joiner.join(group) for group in packed]


def _words(text: str) -> int:
    return len(text.split())
