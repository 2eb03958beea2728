"""What channels hand to the conversation, and what it hands back: one shape for every channel."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Attachment",
    "Button",
    "Delivery",
    "Inbound",
    "Progress",
    "Sent",
    "Span",
    "keeps_choices",
]


@dataclass(frozen=True)
class Attachment:
    """A file sent with a message: what it is, and how its channel names it.

    ``kind`` is "photo", "document", "video", "audio", "voice" or "animation"; ``ref`` is
    valid on ``channel`` only (a Telegram file id, a Matrix mxc:// URI).
    """

    kind: str
    channel: str
    ref: str
    caption: str = ""
    name: str = ""
    mimetype: str = ""
    # How the file is named in the reader's words where their channel cannot send it
    # ("[Anhang: Foto report.jpg]"); the writer sets it for each reader.
    shown_as: str = ""

    def label(self) -> str:
        """How a text-only reader sees it: "[attachment: photo report.jpg]"."""
        if self.shown_as:
            return self.shown_as
        return f"[attachment: {' '.join(p for p in (self.kind, self.name) if p)}]"


@dataclass(frozen=True)
class Span:
    """Formatting over ``text[start:end]`` (Python string indices), kept when relaying.

    ``kind`` is one of bold, italic, underline, strikethrough, spoiler, code, pre,
    text_link (with ``url``), blockquote.
    """

    kind: str
    start: int
    end: int
    url: str = ""

    def shifted(self, by: int) -> Span:
        """The same span ``by`` characters further on (when text is put in front)."""
        return Span(self.kind, self.start + by, self.end + by, self.url)


@dataclass(frozen=True)
class Inbound:
    """One inbound event, normalised by a channel adapter.

    ``event_id`` is unique per channel, so a redelivery is recognised. In the experts' space,
    ``space`` is true and ``thread_id`` names the question thread (None outside threads).
    ``action`` carries the payload of a pressed button instead of text.
    """

    channel: str
    event_id: str
    sender_id: str
    chat_id: str
    text: str = ""
    sender_name: str = ""
    space: bool = False
    thread_id: str | None = None
    message_id: str | None = None
    reply_to: str | None = None
    language_hint: str | None = None
    action: str | None = None
    edited: bool = False
    attachment: str | None = None
    # The files the message carries, when the channel can relay them (``attachment`` names
    # the first one's kind for every channel).
    attachments: tuple[Attachment, ...] = ()
    # A withdrawal (Matrix redaction): the id of the message taken back.
    redacts: str | None = None
    # The text's formatting (bold, links …), when the channel reads it.
    formatting: tuple[Span, ...] = ()
    # The sender named the question by its number (the console's "#N"): ``thread_id`` is it.
    names_question: bool = False
    # The channel could not read the message (end-to-end encrypted, without its key).
    unreadable: bool = False


@dataclass(frozen=True)
class Button:
    """A choice offered under a message: its label and the action sent back when pressed."""

    label: str
    action: str


def keeps_choices(action: str) -> bool:
    """Whether pressing ``action`` leaves the message's other buttons pressable.

    Opening a fiche is reading, not choosing: the other fiches shown stay a button away.
    Every other button is a choice, taken once.
    """
    return action.startswith("fiche:")


@dataclass(frozen=True)
class Progress:
    """How far earlier attempts got with a delivery a channel sends in several calls.

    The thread it opened (and the space holding it), and the ids of the messages (parts,
    files) already sent: a retry, also after a crash, resumes with the next call instead of
    sending them again.
    """

    thread_id: str | None = None
    message_ids: tuple[str, ...] = ()
    space_id: str | None = None


@dataclass(frozen=True)
class Delivery:
    """An outbox message ready for a channel: where, what, and whether it opens a thread."""

    outbox_id: int
    chat_id: str | None
    text: str
    thread_id: str | None = None
    opens_thread: bool = False
    thread_title: str | None = None
    buttons: tuple[Button, ...] = ()
    mentions: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    question_id: int | None = None
    attachments: tuple[Attachment, ...] = ()
    formatting: tuple[Span, ...] = ()
    progress: Progress = Progress()


@dataclass(frozen=True)
class Sent:
    """What the channel reports after sending.

    The message id; for a new thread, the thread's id and the id of the space holding it.
    """

    message_id: str
    thread_id: str | None = None
    chat_id: str | None = None
