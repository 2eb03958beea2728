"""Read a Matrix message's HTML (``formatted_body``) into plain text and formatting spans.

Element sends the Markdown its user typed as ``body`` ("**note** [the call](https://…)")
and the rendered HTML as ``formatted_body``; relaying ``body`` would show the asterisks and
brackets to the asker. The HTML is read instead, into the core's spans, which every channel
renders in its own way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from handlers.events import Span

__all__ = ["HTML_FORMAT", "read_html"]

HTML_FORMAT = "org.matrix.custom.html"

INLINE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "s": "strikethrough",
    "del": "strikethrough",
    "strike": "strikethrough",
    "code": "code",
}
BLOCKS = {"p", "div", "pre", "blockquote", "ul", "ol", "li", "table", "tr"} | {
    f"h{n}" for n in range(1, 7)
}
VOID = {"br", "hr", "img", "wbr"}
WEB_LINK = re.compile(r"https?://", re.IGNORECASE)
# Links that only point at a Matrix user or room ("pills"): their text is the name.
PILL = re.compile(r"https://matrix\.to/#/[@#!]", re.IGNORECASE)


@dataclass
class _Open:
    tag: str
    kind: str | None
    start: int
    url: str = ""


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.spans: list[Span] = []
        self.stack: list[_Open] = []
        self.lists: list[list[int]] = []  # per open list: [ordered, items so far]
        self.skipping = 0  # inside <mx-reply>, the quoted message a reply carries
        self.preformatted = 0
        self.length = 0

    def _append(self, piece: str) -> None:
        if not piece:
            return
        self.text.append(piece)
        self.length += len(piece)

    def _ends_with(self, suffix: str | tuple[str, ...]) -> bool:
        return "".join(self.text[-3:]).endswith(suffix)

    def _line_break(self) -> None:
        if self.text and not self._ends_with("\n"):
            self._append("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "mx-reply":
            self.skipping += 1
            return
        if self.skipping or tag in VOID:
            if tag == "br" and not self.skipping:
                self._append("\n")
            return
        if tag in BLOCKS:
            self._line_break()
        values = dict(attrs)
        kind: str | None = INLINE.get(tag)
        url = ""
        if tag == "pre":
            kind = "pre"
            self.preformatted += 1
        elif tag == "blockquote":
            kind = "blockquote"
        elif tag == "a":
            href = values.get("href") or ""
            if WEB_LINK.match(href) and not PILL.match(href):
                kind, url = "text_link", href
        elif tag == "span" and "data-mx-spoiler" in values:
            kind = "spoiler"
        elif tag in ("ul", "ol"):
            self.lists.append([tag == "ol", 0])
        elif tag == "li":
            marker = "• "
            if self.lists:
                self.lists[-1][1] += 1
                if self.lists[-1][0]:
                    marker = f"{self.lists[-1][1]}. "
            self._append("  " * max(len(self.lists) - 1, 0) + marker)
        if kind == "code" and self.stack and self.stack[-1].kind == "pre":
            kind = None  # <pre><code> is one preformatted block
        self.stack.append(_Open(tag, kind, self.length, url))

    def handle_endtag(self, tag: str) -> None:
        if tag == "mx-reply":
            self.skipping = max(self.skipping - 1, 0)
            return
        if self.skipping or tag in VOID:
            return
        # Close up to the matching tag; HTML from clients is not always well nested.
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth].tag == tag:
                for opened in reversed(self.stack[depth:]):
                    self._close(opened)
                del self.stack[depth:]
                break
        if tag in BLOCKS:
            self._line_break()

    def _close(self, opened: _Open) -> None:
        if opened.tag == "pre":
            self.preformatted = max(self.preformatted - 1, 0)
        elif opened.tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        if opened.kind is not None and self.length > opened.start:
            self.spans.append(Span(opened.kind, opened.start, self.length, opened.url))

    def finish(self) -> str:
        """Close what the HTML left open and return the whole text."""
        for opened in reversed(self.stack):
            self._close(opened)
        self.stack.clear()
        return "".join(self.text)

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if not self.preformatted:
            # Outside <pre>, runs of whitespace (newlines of the source included) are a space.
            data = re.sub(r"\s+", " ", data)
            if data.startswith(" ") and (not self.text or self._ends_with((" ", "\n"))):
                data = data[1:]
        self._append(data)


def read_html(formatted: str) -> tuple[str, tuple[Span, ...]]:
    """The plain text of ``formatted`` and its formatting, reply quotes left out."""
    reader = _Reader()
    reader.feed(formatted)
    reader.close()
    raw = reader.finish()
    text = raw.strip()
    offset = len(raw) - len(raw.lstrip())
    spans = []
    for span in sorted(reader.spans, key=lambda s: (s.start, -s.end)):
        start = min(max(span.start - offset, 0), len(text))
        end = min(max(span.end - offset, 0), len(text))
        # Whitespace at a span's edges is not worth formatting (and Telegram refuses it).
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            spans.append(Span(span.kind, start, end, span.url))
    return text, tuple(spans)
