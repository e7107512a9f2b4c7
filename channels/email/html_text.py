"""HTML mail bodies to plain text with the standard library's HTML parser: paragraphs and line breaks
kept, lists as "- ", quoted blocks (<blockquote>, Gmail's and Outlook's quote containers) as "> "
lines so `domain.customer_text` recognises them, scripts and styles dropped, entities decoded."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK = {
    "p", "div", "br", "tr", "table", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "pre",
    "blockquote", "section", "article", "header", "footer",
}  # fmt: skip
_SKIP = {"script", "style", "head", "title"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.depth = 0  # blockquote nesting
        self.line_depth = 0
        self.skipping = 0
        self.pre = 0

    def flush(self) -> None:
        text = "".join(self.current)
        if not self.pre:
            text = re.sub(r"[ \t\r\n\f\u00a0]+", " ", text).strip()
        prefix = "> " * self.line_depth
        self.lines.append(f"{prefix}{text}".rstrip() if text else prefix.rstrip())
        self.current = []
        self.line_depth = self.depth

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
            return
        if tag in _BLOCK:
            if self.current or tag in {"br", "p"}:
                self.flush()
            if tag == "blockquote":
                self.depth += 1
                self.line_depth = self.depth
            elif tag == "li":
                self.current.append("- ")
            elif tag == "pre":
                self.pre += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
            return
        if tag in _BLOCK and tag != "br":
            if self.current:
                self.flush()
            if tag == "blockquote":
                self.depth = max(0, self.depth - 1)
                self.line_depth = self.depth
            elif tag == "pre":
                self.pre = max(0, self.pre - 1)
            elif tag == "p":
                self.lines.append("> " * self.depth if self.depth else "")

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.pre and "\n" in data:
            first, *rest = data.split("\n")
            self.current.append(first)
            for part in rest:
                self.flush()
                self.current.append(part)
            return
        if not self.current:
            self.line_depth = self.depth
        self.current.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # a broken document: whatever was read so far
        pass
    if parser.current:
        parser.flush()
    text = "\n".join(line.rstrip() for line in parser.lines)
    text = re.sub(r"\n(?:>? ?\n){2,}", "\n\n", text)
    return text.strip()
