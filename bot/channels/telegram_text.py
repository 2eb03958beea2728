"""Telegram message text: mentions and formatting as entities, split at the 4,096 limit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from handlers.events import Span

__all__ = [
    "MAX_TEXT",
    "Mention",
    "Part",
    "Style",
    "spans_of",
    "split_text",
    "utf16_length",
    "with_mentions",
]

# Telegram counts a message's length, and entity offsets, in UTF-16 code units.
MAX_TEXT = 4096


@dataclass(frozen=True, order=True)
class Mention:
    """A person's name in a text, by Python string index, linked to their Telegram account."""

    start: int
    end: int
    user_id: int
    name: str


@dataclass(frozen=True)
class Entity:
    """A text mention in one message part, in UTF-16 offsets as the Bot API wants them."""

    offset: int
    length: int
    user_id: int
    name: str


@dataclass(frozen=True)
class Style:
    """Formatting in one message part, in UTF-16 offsets: a Bot API entity's fields."""

    kind: str
    offset: int
    length: int
    url: str = ""


@dataclass(frozen=True)
class Part:
    """One message of a split text, with the mentions and formatting that fall inside it."""

    text: str
    entities: tuple[Entity, ...] = ()
    styles: tuple[Style, ...] = ()


# Bot API entity types kept when relaying (links, e-mails, @names Telegram finds itself).
STYLE_KINDS = {
    "bold",
    "italic",
    "underline",
    "strikethrough",
    "spoiler",
    "code",
    "pre",
    "text_link",
    "blockquote",
    "expandable_blockquote",
}


def spans_of(text: str, entities: Sequence[tuple[str, int, int, str]]) -> tuple[Span, ...]:
    """Formatting entities (type, UTF-16 offset, length, url) as spans by string index."""
    index_at: dict[int, int] = {}
    units = 0
    for index, char in enumerate(text):
        index_at[units] = index
        units += 2 if ord(char) > 0xFFFF else 1
    index_at[units] = len(text)
    spans = []
    for kind, offset, length, url in entities:
        start, end = index_at.get(offset), index_at.get(offset + length)
        if kind not in STYLE_KINDS or start is None or end is None or end <= start:
            continue
        kind = "blockquote" if kind == "expandable_blockquote" else kind
        spans.append(Span(kind, start, end, url))
    return tuple(spans)


def utf16_length(text: str) -> int:
    """The length of ``text`` as Telegram counts it."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def with_mentions(text: str, mentions: Sequence[tuple[str, str]]) -> tuple[str, list[Mention]]:
    """Link each mentioned person's name where it first appears in ``text``.

    ``mentions`` holds (Telegram user id, display name) pairs. A name that the text does not
    contain is added on a last line, so that the person is notified all the same. Ids that
    are not numeric cannot be linked and are left out.

    Returns:
        The text, possibly with a line of names added, and the mentions sorted by position.
    """
    found: list[Mention] = []
    missing: list[tuple[int, str]] = []
    for external_id, name in mentions:
        if not external_id.isdigit() or not name.strip():
            continue
        start = _free_occurrence(text, name, found)
        if start is None:
            missing.append((int(external_id), name))
        else:
            found.append(Mention(start, start + len(name), int(external_id), name))
    if missing:
        text = text.rstrip() + "\n\n"
        for index, (user_id, name) in enumerate(missing):
            if index:
                text += ", "
            found.append(Mention(len(text), len(text) + len(name), user_id, name))
            text += name
    return text, sorted(found)


def _free_occurrence(text: str, name: str, taken: Sequence[Mention]) -> int | None:
    start = text.find(name)
    while start >= 0:
        end = start + len(name)
        if all(end <= m.start or start >= m.end for m in taken):
            return start
        start = text.find(name, start + 1)
    return None


def split_text(
    text: str,
    mentions: Sequence[Mention] = (),
    limit: int = MAX_TEXT,
    spans: Sequence[Span] = (),
) -> list[Part]:
    """Split ``text`` into messages of at most ``limit`` UTF-16 units, between words.

    A break goes at the last paragraph end, else line end, else space that fits, never inside
    a mention and, where the text allows, not inside formatting (a bold passage longer than
    a message is continued, bold, in the next). The whitespace at a break is dropped. A single
    word longer than the limit is cut.
    """
    parts: list[Part] = []
    start = _skip_space(text, 0)
    while start < len(text):
        end = _fit(text, start, limit)
        cut = end if end >= len(text) else _break(text, start, end, mentions, spans)
        chunk = text[start:cut].rstrip()
        stop = start + len(chunk)
        inside = [m for m in mentions if m.start >= start and m.end <= stop]
        entities = tuple(
            Entity(utf16_length(text[start : m.start]), utf16_length(m.name), m.user_id, m.name)
            for m in inside
        )
        styles = []
        for span in spans:
            first, last = max(span.start, start), min(span.end, stop)
            if first < last and text[first:last].strip():
                offset = utf16_length(text[start:first])
                styles.append(Style(span.kind, offset, utf16_length(text[first:last]), span.url))
        parts.append(Part(chunk, entities, tuple(styles)))
        start = _skip_space(text, cut)
    return parts


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


def _fit(text: str, start: int, limit: int) -> int:
    """The largest end such that text[start:end] is at most ``limit`` UTF-16 units."""
    used = 0
    for index in range(start, len(text)):
        used += 2 if ord(text[index]) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def _break(
    text: str, start: int, end: int, mentions: Sequence[Mention], spans: Sequence[Span] = ()
) -> int:
    def unformatted(index: int) -> bool:
        return all(not (s.start < index < s.end) for s in spans)

    half = start + (end - start) // 2
    # Between formatted passages if a break fits there, else anywhere but in a mention.
    for separator in ("\n\n", "\n", " "):
        index = text.rfind(separator, half, end + 1)
        while index > start and not (unformatted(index) and _free(index, mentions)):
            index = text.rfind(separator, half, index)
        if index > start:
            return index
    return _break_words(text, start, end, mentions)


def _free(index: int, mentions: Sequence[Mention]) -> bool:
    return all(not (m.start < index < m.end) for m in mentions)


def _break_words(text: str, start: int, end: int, mentions: Sequence[Mention]) -> int:
    def free(index: int) -> bool:
        return _free(index, mentions)

    half = start + (end - start) // 2
    for separator in ("\n\n", "\n", " "):
        index = text.rfind(separator, half, end + 1)
        while index > start and not free(index):
            index = text.rfind(separator, half, index)
        if index > start:
            return index
    for index in range(end, start, -1):
        if text[index].isspace() and free(index):
            return index
    # One word longer than a message: cut it, but not through a mention.
    for mention in mentions:
        if mention.start < end < mention.end and mention.start > start:
            return mention.start
    return end
