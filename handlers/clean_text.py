"""Clean inbound text: no control characters, no invisible format characters, no edge spaces."""

from __future__ import annotations

import dataclasses
import unicodedata

from handlers.events import Attachment, Inbound

__all__ = ["clean_text", "cleaned", "drop_format_characters"]

# Joiners that scripts need (Persian, Indic scripts, emoji sequences): kept.
KEPT = frozenset({"\u200c", "\u200d"})
# A zero-width space marks a word break: it becomes a plain space, so that
# "/start<ZWSP>code" reads as "/start code" rather than as one run-together word.
WORD_BREAK = "\u200b"


# Control characters, surrogates, private-use and unassigned code points: never text.
DROPPED_CONTROLS = frozenset({"Cc", "Cs", "Co", "Cn"})


def _visible(char: str) -> str:
    """What a non-control character becomes: itself, a space (a word break) or nothing."""
    if char == WORD_BREAK:
        return " "
    if char in KEPT or unicodedata.category(char) != "Cf":
        return char
    return ""


def drop_format_characters(text: str) -> str:
    """The text without format characters (category Cf), except the zero-width joiners."""
    return text if text.isascii() else "".join(map(_visible, text))


def clean_text(text: str) -> str:
    """The text in NFC without control or format characters (line breaks and tabs kept), trimmed."""
    normal = unicodedata.normalize("NFC", drop_format_characters(text))
    return "".join(
        c for c in normal if c in "\n\t" or unicodedata.category(c) not in DROPPED_CONTROLS
    ).strip()


def _attachment(attachment: Attachment) -> Attachment:
    return dataclasses.replace(
        attachment,
        caption=drop_format_characters(attachment.caption),
        name=drop_format_characters(attachment.name),
    )


def _without_nul(value: str | None) -> str | None:
    # PostgreSQL's text cannot hold NUL, and no id of ours has one: a lookup with it would fail.
    return value.replace("\x00", "") if value and "\x00" in value else value


def cleaned(event: Inbound) -> Inbound:
    """The event with its text, sender's name and captions free of format characters.

    Its references (the message replied to, a button's payload …) lose any NUL character.
    """
    text = drop_format_characters(event.text)
    return dataclasses.replace(
        event,
        thread_id=_without_nul(event.thread_id),
        message_id=_without_nul(event.message_id),
        reply_to=_without_nul(event.reply_to),
        action=_without_nul(event.action),
        redacts=_without_nul(event.redacts),
        language_hint=_without_nul(event.language_hint),
        text=text,
        sender_name=drop_format_characters(event.sender_name),
        attachments=tuple(_attachment(a) for a in event.attachments),
        # Spans index the original text: they no longer fit once characters are gone.
        formatting=event.formatting if text == event.text else (),
    )
