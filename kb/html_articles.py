"""Help-centre articles saved as HTML pages (a help-centre export, a crawled page), read into the
Markdown our chunker splits on, with the standard library's parser (no new dependency).

What is kept: the text, headings as ``#``/``##``/``###`` lines (h4-h6 as ``###``, the chunker's
deepest level) so chunks keep their heading path, list items as ``- `` lines and table rows as
``a | b`` lines. What is dropped: scripts, styles and page furniture (nav, footer, aside,
forms). Metadata comes from the page itself: ``<title>`` (else the first ``<h1>``), ``<meta
name="category|product|tags|keywords|id">`` and ``<link rel="canonical">``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

# A page's <header> often holds the article's <h1>, so it stays; navigation and footers go.
_SKIPPED = frozenset({"script", "style", "noscript", "template", "nav", "footer", "aside", "form", "svg"})
_BLOCKS = frozenset(
    {"p", "div", "section", "article", "main", "blockquote", "pre", "ul", "ol", "table", "dl", "dd", "dt", "figure"}
)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 3, "h5": 3, "h6": 3}
# Block-level markup: a JSONL export's ``content`` in HTML has it; Markdown with a little inline
# HTML ("press <b>Save</b>") does not, and must stay Markdown.
_BLOCK_MARKUP = re.compile(r"</(p|div|h[1-6]|li|ul|ol|table|section|article)\s*>", re.I)
_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.I)


def declared_charset(raw: bytes) -> str | None:
    """The charset a page declares in a ``<meta>`` tag near its top (``charset=`` or the older
    ``http-equiv`` form), as browsers look for it: in the first 1,024 bytes."""
    found = _CHARSET.search(raw[:1024])
    return found.group(1).decode("ascii").lower() if found else None


def looks_like_html(text: str) -> bool:
    """True for a document written in HTML: it opens with a tag and has block-level markup."""
    return text.lstrip().startswith("<") and bool(_BLOCK_MARKUP.search(text))


@dataclass(frozen=True)
class HtmlPage:
    """What an HTML article page says: title, metadata and its body as Markdown."""

    title: str
    meta: dict[str, str]
    canonical: str
    body: str


def parse_html(markup: str, title: str = "") -> HtmlPage:
    """Read a page or a fragment. ``title``: the article's title when known already (a JSONL
    record's); otherwise the page's ``<title>``, else its first ``<h1>``. A body that opens by
    repeating the title as its first heading loses that heading: every chunk carries the title."""
    parser = _Converter()
    parser.feed(markup)
    parser.close()
    title = title or parser.title or parser.first_h1
    body = parser.markdown()
    if title:
        body = re.sub(rf"\A# {re.escape(title)}\n+", "", body, count=1)
    return HtmlPage(title, parser.meta, parser.canonical, body)


class _Converter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.first_h1 = ""
        self.meta: dict[str, str] = {}
        self.canonical = ""
        self._lines: list[str] = []
        self._line: list[str] = []
        self._skip_depth = 0
        self._in_title = False
        self._heading: int | None = None
        self._pre = 0
        self._cells = 0

    # --- structure -------------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag in _SKIPPED:
            self._skip_depth += 1
            return
        if self._skip_depth:
            return
        if tag == "title":
            self._in_title = True
        elif tag == "meta":
            name = (values.get("name") or values.get("property") or "").lower()
            if name and "content" in values:
                self.meta.setdefault(name, values["content"].strip())
        elif tag == "link" and "canonical" in values.get("rel", "").lower().split():
            self.canonical = values.get("href", "").strip()
        elif tag in _HEADINGS:
            self._break(blank=True)
            self._heading = _HEADINGS[tag]
            self._line.append("#" * self._heading + " ")
        elif tag == "li":
            self._break()
            self._line.append("- ")
        elif tag == "tr":
            self._break()
            self._cells = 0
        elif tag in ("td", "th"):
            if self._cells:
                self._line.append(" | ")
            self._cells += 1
        elif tag == "br":
            self._break()
        elif tag in _BLOCKS:
            if "".join(self._line).strip() != "-":  # <li><p>…: the paragraph stays on the bullet's line
                self._break(blank=True)
            if tag == "pre":
                self._pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip_depth = max(0, self._skip_depth - 1)
            return
        if self._skip_depth:
            return
        if tag == "title":
            self._in_title = False
        elif tag in _HEADINGS and self._heading is not None:
            text = "".join(self._line).strip()
            if self._heading == 1 and not self.first_h1:
                self.first_h1 = text.removeprefix("# ").strip()
            self._heading = None
            self._break(blank=True)
        elif tag in ("li", "tr"):
            self._break()
        elif tag in _BLOCKS:
            self._break(blank=True)  # before leaving <pre>: its last line keeps its indentation
            if tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._in_title:
            self.title = " ".join((self.title + " " + data).split())
            return
        if self._pre:
            for i, part in enumerate(data.split("\n")):
                if i:
                    self._break()
                self._line.append(part)
            return
        text = " ".join(data.split())
        if not text:
            if data and self._line and not self._line[-1].endswith(" "):
                self._line.append(" ")
            return
        if data[:1].isspace() and self._line and not self._line[-1].endswith(" "):
            text = " " + text
        if data[-1:].isspace():
            text += " "
        self._line.append(text)

    # --- output ----------------------------------------------------------------------------------

    def _break(self, blank: bool = False) -> None:
        line = "".join(self._line).rstrip()
        self._line = []
        if line.strip() and line.strip() not in ("-", "#", "##", "###"):
            self._lines.append(line if self._pre else line.strip())
        if blank and self._lines and self._lines[-1] != "":
            self._lines.append("")

    def markdown(self) -> str:
        self._break()
        return "\n".join(self._lines).strip()
