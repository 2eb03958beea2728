"""Drop invisible format characters from inbound text and names before anything reads them."""

from __future__ import annotations

import dataclasses
import unicodedata

from handlers.events import Attachment, Inbound

__all__ = ["cleaned", "drop_format_characters"]

# Joiners that scripts need (Persian, Indic scripts, emoji sequences): kept.
KEPT = frozenset({"\u200c", "\u200d"})
# A zero-width space marks a word break: it becomes a plain space, so that
# "/start<ZWSP>code" reads as "/start code" rather than as one run-together word.
WORD_BREAK = "\u200b"


def drop_format_characters(text: str) -> str:
    """The text without format characters (category Cf), except the zero-width joiners."""
    if text.isascii():
        return text
    kept = []
    for char in text:
        if char == WORD_BREAK:
            kept.append(" ")
        elif char in KEPT or unicodedata.category(char) != "Cf":
            kept.append(char)
    return "".join(kept)


def _attachment(attachment: Attachment) -> Attachment:
    return dataclasses.replace(
        attachment,
        caption=drop_format_characters(attachment.caption),
        name=drop_format_characters(attachment.name),
    )


def cleaned(event: Inbound) -> Inbound:
    """The event with its text, sender's name and captions free of format characters."""
    text = drop_format_characters(event.text)
    return dataclasses.replace(
        event,
        text=text,
        sender_name=drop_format_characters(event.sender_name),
        attachments=tuple(_attachment(a) for a in event.attachments),
        # Spans index the original text: they no longer fit once characters are gone.
        formatting=event.formatting if text == event.text else (),
    )
