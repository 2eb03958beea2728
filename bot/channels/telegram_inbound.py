"""Telegram updates turned into the core's inbound events, at the edge of the channel."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from telegram import Message, Update, User
from telegram.constants import ChatType

from bot.channels.telegram_text import spans_of
from handlers.events import Attachment, Inbound

__all__ = [
    "ATTACHMENTS",
    "RELAYED_MEDIA",
    "Edge",
    "attachment_of",
    "files_of",
    "from_callback",
    "from_message",
]

# Checked in this order: an animation is also a document.
ATTACHMENTS = (
    "animation",
    "photo",
    "document",
    "video",
    "voice",
    "audio",
    "sticker",
    "video_note",
    "contact",
    "location",
    "venue",
    "poll",
)


# Media the bot relays by file id; the others (stickers, polls, places) are only named.
RELAYED_MEDIA = ("photo", "document", "video", "audio", "voice", "animation")


@dataclass(frozen=True)
class Edge:
    """What conversion needs to know: the channel's name and the experts' group."""

    channel: str
    group_id: int
    forum: bool
    # Reply-chain mode: messages the bot posted in a question's chain → the chain's root.
    roots: Mapping[int, int]


def attachment_of(message: Message) -> str | None:
    """The kind of media a message carries ("photo", "document" …), if any."""
    return next((kind for kind in ATTACHMENTS if getattr(message, kind, None)), None)


def files_of(message: Message, channel: str) -> tuple[Attachment, ...]:
    """The relayable file a message carries (Telegram sends one a message), by file id."""
    kind = attachment_of(message)
    if kind not in RELAYED_MEDIA:
        return ()
    if kind == "photo":
        # Telegram lists the sizes of a photo, the largest last.
        file_id, name, mimetype = message.photo[-1].file_id, "", "image/jpeg"
    else:
        media = getattr(message, kind)
        file_id = media.file_id
        name = getattr(media, "file_name", None) or ""
        mimetype = getattr(media, "mime_type", None) or ""
    caption = message.caption or ""
    return (Attachment(kind, channel, file_id, caption, name, mimetype),)


def _person(user: User) -> dict[str, str | None]:
    code = (user.language_code or "").split("-")[0].lower()
    return {
        "sender_id": str(user.id),
        "sender_name": user.full_name,
        "language_hint": code or None,
    }


def from_message(update: Update, edge: Edge) -> Inbound | None:
    """A new or edited message from a private chat or the experts' group; None to ignore."""
    message = update.message or update.edited_message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    chat = message.chat
    if chat.type == ChatType.PRIVATE:
        space, thread_id = False, None
    elif chat.id == edge.group_id:
        space, thread_id = True, _thread_of(message, edge)
    else:
        return None  # other groups, channels: not for this bot
    text = message.text or message.caption or ""
    attachment = attachment_of(message)
    if not text and attachment is None:
        return None  # service messages: members joining, topics created …
    replied = message.reply_to_message
    reply_to = str(replied.message_id) if replied is not None else None
    if space and edge.forum and replied is not None and replied.message_id == _topic(message):
        reply_to = None  # in a topic, Telegram makes every message a reply to its opening
    return Inbound(
        channel=edge.channel,
        event_id=f"u{update.update_id}",
        chat_id=str(chat.id),
        text=text,
        space=space,
        thread_id=thread_id,
        message_id=str(message.message_id),
        reply_to=reply_to,
        edited=update.edited_message is not None,
        attachment=attachment,
        attachments=files_of(message, edge.channel),
        formatting=spans_of(
            text,
            [
                (e.type, e.offset, e.length, e.url or "")
                for e in (message.entities or message.caption_entities or ())
            ],
        ),
        **_person(message.from_user),  # type: ignore[arg-type]
    )


def _topic(message: Message) -> int | None:
    return message.message_thread_id if message.is_topic_message else None


def _thread_of(message: Message, edge: Edge) -> str | None:
    """The question thread of a message in the experts' group."""
    if edge.forum:
        topic = _topic(message)
        return str(topic) if topic is not None else None
    replied = message.reply_to_message
    if replied is None:
        return None
    # Telegram gives replies in a supergroup the id of their chain's first message; the map
    # covers chains where it does not.
    root = edge.roots.get(replied.message_id) or message.message_thread_id or replied.message_id
    return str(edge.roots.get(root, root))


def from_callback(update: Update, edge: Edge) -> Inbound | None:
    """A button pressed under one of the bot's messages in a private chat; None to ignore."""
    query = update.callback_query
    if query is None or query.data is None or query.message is None:
        return None
    chat = query.message.chat
    if chat.type != ChatType.PRIVATE:
        return None
    return Inbound(
        channel=edge.channel,
        event_id=f"u{update.update_id}",
        chat_id=str(chat.id),
        message_id=str(query.message.message_id),
        action=query.data,
        **_person(query.from_user),  # type: ignore[arg-type]
    )
