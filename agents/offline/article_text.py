"""Help-article text as the offline model reads it: content terms, blocks, sentences.

A chunk's markdown keeps its structure here (which heading a block sits under, which list it belongs
to) so the reply composer can quote a numbered procedure whole instead of a stray step of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.models import KbHit

STOPWORDS = frozenset(
    """a about above after again against all also am an and any are aren as at be because been before being
    below between both but by can cannot could couldn d did didn do does doesn doing don down during
    each even few for from further get gets getting got had has have having he her here hers him his
    how i if in into is isn it its itself just ll m me more most my no nor not now of off on once
    only or other our ours out over own please re s same she should so some still such t than thank
    thanks that the their them then there these they this those though through to too under until up
    us ve very was wasn we were weren what when where which while who whom why will with won would
    you your yours hi hello hey asap urgent urgently help lumora issue problem anyone someone
    something thing things need needs want wants know let lets like really since yet per""".split()
)
_SYNONYMS = {
    "forgotten": "forgot",
    "lockout": "lock",
    "req": "request",
    "reqs": "request",
    "h": "hour",
    "hr": "hour",
    "hrs": "hour",
    "min": "minute",
}


def _stem(word: str) -> str:
    word = _SYNONYMS.get(word, word)
    if word.isdigit() or len(word) <= 3:
        return word
    for suffix in ("ing", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: -len(suffix)]
            break
    # "resetting" -> "resett" and "cancelled" -> "cancell" meet "reset" and "cancel"; "install" and
    # "installing" both become "instal".
    if len(word) >= 5 and word[-1] == word[-2] and word[-1] not in "aeiousy":
        return word[:-1]
    return word[:-1] if word.endswith("e") and len(word) >= 5 else word


def terms(text: str) -> set[str]:
    """Content terms of `text`: lower-cased, thousands separators removed, stopwords dropped, stemmed."""
    flat = re.sub(r"(?<=\d),(?=\d{3})", "", text.lower().replace("’", "'"))
    # "00" of a clock time ("10:00 UTC") says nothing about the topic, yet would match every other time.
    return {_stem(w) for w in re.findall(r"[a-z0-9]+", flat) if w not in STOPWORDS and w.strip("0")}


def _row_sentence(header: list[str], cells: list[str]) -> str:
    """A table row as a sentence: "Pro plan — Requests per hour: 10,000; Burst per minute: 300."."""
    label = cells[0]
    if header and header[0].strip().lower() == "plan":
        label = f"{label} plan"
    pairs = [f"{h}: {c}" for h, c in zip(header[1:], cells[1:], strict=False) if c]
    return f"{label} — {'; '.join(pairs)}." if pairs else label


_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*$")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|(\d+)[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])")
HEADING_SEPARATOR = " > "  # kb/chunking.py's label: "Title > Heading > Subheading"


@dataclass(frozen=True)
class Block:
    """A paragraph, list item or table row of a passage, with the heading it sits under."""

    text: str
    heading: str = ""
    list_no: int = -1  # items of one list share it; -1 outside lists
    ordered: bool = False  # an item of a numbered list
    depth: int = 0  # 1 for an item of a list nested in another list's item (it belongs to that item)


def blocks(text: str, heading: str = "") -> list[Block]:
    """The blocks of a markdown passage, hard-wrapped lines re-joined; `heading` is the section the
    passage starts in (a "## ..." line inside it starts another)."""
    out: list[Block] = []
    current: list[str] = []
    item: tuple[int, bool] | None = None  # (list_no, ordered) of the item being read
    lists = 0
    table_header: list[str] | None = None
    indent = 0  # where the markers of the current top-level list start
    depth = 0

    def flush() -> None:
        if current:
            list_no, ordered = item or (-1, False)
            out.append(Block(" ".join(current), heading, list_no, ordered, depth if item else 0))
            current.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("|"):
            flush()
            item = None
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                continue
            if table_header is None:
                table_header = cells
            else:
                out.append(Block(_row_sentence(table_header, cells), heading))
            continue
        table_header = None
        marker = _LIST_MARKER.match(raw)
        if not line or line.startswith(("#", "```", "---")):
            flush()
            if line.startswith("#"):
                found = _HEADING.match(line)
                heading, item = (found.group(1) if found else line.lstrip("#").strip()), None
            elif line.startswith(("```", "---")):
                item = None
        elif marker:
            flush()
            ordered = marker.group(1) is not None
            at = len(raw) - len(raw.lstrip())
            if item is not None and at >= indent + 2:
                # "2. Add conditions:" followed by indented "- Did event: ..." items: they are part of step 2.
                depth = 1
                current.append(_LIST_MARKER.sub("", raw).strip())
                continue
            if item is None or item[1] != ordered:
                lists += 1
            item, indent, depth = (lists, ordered), at, 0
            current.append(_LIST_MARKER.sub("", raw).strip())
        else:
            if item is not None and not current:  # a paragraph after a list ends it
                item = None
            current.append(line)
    flush()
    return out


def plain(text: str) -> str:
    """Markdown emphasis removed: "**Cancel plan**" -> "Cancel plan"."""
    text = re.sub(r"\*\*(.+?)\*\*|__(.+?)__", lambda m: m.group(1) or m.group(2), text)
    return re.sub(r"(?<![*\w])\*(?!\s)([^*]+?)\*(?!\w)", r"\1", text)


def sentences_of(block: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(plain(block)) if s.strip()]


def split_sentences(text: str) -> list[str]:
    """Sentences of a (markdown) passage; headings are not sentences, table rows become ones."""
    return [s for block in blocks(text) for s in sentences_of(block.text)]


def passage(hit: KbHit) -> tuple[str, str]:
    """The hit's chunk as (label, body): every chunk starts with a "Title > Heading" line (kb/chunking.py).
    The label says what the passage is about, so it may qualify the article, but it is no sentence to
    quote to a customer."""
    text = hit.text or hit.snippet
    first, sep, rest = text.partition("\n\n")
    if hit.title and first.strip().startswith(hit.title) and "\n" not in first.strip():
        return first.strip(), rest if sep else ""
    return "", text


def label_heading(label: str) -> str:
    """The innermost heading of a chunk label: "Cancelling > How to cancel" -> "How to cancel"."""
    _, sep, rest = label.rpartition(HEADING_SEPARATOR)
    return rest if sep else ""
