"""Matrix message contents: what the bot sends (body, HTML, pills, threads) and how it reads."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from handlers.events import Button, Span

__all__ = [
    "KEYCAPS",
    "Relation",
    "button_number",
    "message_content",
    "read_relation",
    "strip_reply_fallback",
    "styled_html",
    "thread_relation",
]

USER_ID = re.compile(r"@[^:\s]+:\S+")
# Keycap emoji under a message with choices: Element users press one instead of typing it.
KEYCAPS = tuple(f"{n}\ufe0f\u20e3" for n in range(1, 10))


def _html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


# Each span kind as its HTML tags (the subset Matrix clients render).
TAGS = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<del>", "</del>"),
    "spoiler": ("<span data-mx-spoiler>", "</span>"),
    "code": ("<code>", "</code>"),
    "pre": ("<pre><code>", "</code></pre>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
}


def styled_html(text: str, spans: Sequence[Span]) -> str:
    """Escaped HTML of ``text`` with its formatting; always well nested.

    The text is cut at every span boundary and each piece wrapped in the tags of the spans
    covering it, so overlapping spans (which Telegram allows) still give valid HTML.
    """
    spans = [s for s in spans if 0 <= s.start < s.end <= len(text) and (s.kind in TAGS or _web(s))]
    if not spans:
        return _html(text)
    cuts = sorted({0, len(text), *(s.start for s in spans), *(s.end for s in spans)})
    pieces = []
    for start, end in itertools.pairwise(cuts):
        piece = _html(text[start:end])
        for span in spans:
            if span.start <= start and end <= span.end:
                if _web(span):
                    href = html.escape(span.url, quote=True)
                    piece = f'<a href="{href}">{piece}</a>'
                elif span.kind in TAGS:
                    opening, closing = TAGS[span.kind]
                    piece = f"{opening}{piece}{closing}"
        pieces.append(piece)
    return "".join(pieces)


def _web(span: Span) -> bool:
    return span.kind == "text_link" and span.url.startswith(("https://", "http://"))


def _pill(user_id: str, name: str) -> str:
    if not USER_ID.fullmatch(user_id):
        return html.escape(name)
    href = html.escape(f"https://matrix.to/#/{user_id}", quote=True)
    return f'<a href="{href}">{html.escape(name)}</a>'


def message_content(
    text: str,
    *,
    title: str | None = None,
    mentions: Sequence[tuple[str, str]] = (),
    buttons: Sequence[Button] = (),
    formatting: Sequence[Span] = (),
) -> dict[str, Any]:
    """An ``m.text`` content with ``body`` and escaped HTML ``formatted_body``.

    A title (bold) and mentions (pills, and ``m.mentions`` so clients notify) head the
    message; buttons follow it as a numbered list that a reply "1", "2" … chooses from.
    """
    head_text: list[str] = []
    head_html: list[str] = []
    if title:
        head_text.append(title)
        head_html.append(f"<b>{html.escape(title)}</b>")
    if mentions:
        head_text.append(", ".join(name for _, name in mentions))
        head_html.append(", ".join(_pill(user_id, name) for user_id, name in mentions))
    body, formatted = text, styled_html(text, formatting)
    if head_text:
        body = " · ".join(head_text) + "\n" + body
        formatted = " · ".join(head_html) + "<br>" + formatted
    if buttons:
        body += "\n\n" + "\n".join(f"{i}. {b.label}" for i, b in enumerate(buttons, 1))
        formatted += "<ol>" + "".join(f"<li>{html.escape(b.label)}</li>" for b in buttons)
        formatted += "</ol>"
    content: dict[str, Any] = {
        "msgtype": "m.text",
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": formatted,
        # Always present: an empty list says "this message mentions nobody" to clients.
        "m.mentions": {
            "user_ids": sorted({u for u, _ in mentions if USER_ID.fullmatch(u)}),
        },
    }
    return content


def thread_relation(root: str, latest: str) -> dict[str, Any]:
    """``m.relates_to`` of a message in the thread ``root``, replying to ``latest``.

    ``is_falling_back`` marks the reply as a fallback, so clients without threads show the
    message as a reply to the thread's latest message instead of losing the context.
    """
    return {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": latest},
    }


@dataclass(frozen=True)
class Relation:
    """What an incoming event's ``m.relates_to`` says."""

    thread_root: str | None = None
    replaces: str | None = None
    reply_to: str | None = None


def read_relation(content: Mapping[str, Any]) -> Relation:
    """Read the thread, edit and reply relations of an event's content."""
    relates = content.get("m.relates_to")
    if not isinstance(relates, Mapping):
        return Relation()
    rel_type, target = relates.get("rel_type"), relates.get("event_id")
    in_reply_to = relates.get("m.in_reply_to")
    reply_to = in_reply_to.get("event_id") if isinstance(in_reply_to, Mapping) else None
    return Relation(
        thread_root=target if rel_type == "m.thread" and isinstance(target, str) else None,
        replaces=target if rel_type == "m.replace" and isinstance(target, str) else None,
        reply_to=reply_to if isinstance(reply_to, str) else None,
    )


def strip_reply_fallback(body: str) -> str:
    """Drop the quoted ``> <@user> …`` lines some clients put before a reply's own text."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    return "\n".join(lines[index:]).strip()


def button_number(text: str) -> int | None:
    """The choice a reply or reaction names ("2", "2.", "2️⃣"), 1-based, or None."""
    stripped = text.strip().rstrip(".").replace("\ufe0f", "").replace("\u20e3", "")
    if stripped.isascii() and stripped.isdigit() and len(stripped) <= 2:
        return int(stripped)
    return None
