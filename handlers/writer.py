"""Writing what the bot says: each reader's words and times, and the channel each message takes.

The conversation (a turn) and the deadline keeper write through the same writer; they differ
only in where the rows go (the session, or a batch inserted at once) and how accounts are found.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ground.config import Config
from ground.storage.models import Identity, Person
from ground.vocabulary import OutboxTarget
from handlers.events import Attachment, Button, Span
from handlers.i18n import Translator, format_when

__all__ = ["Writer", "timezone_of"]


def timezone_of(config: Config, person: Person) -> str:
    """The time zone to show a person times in: theirs, their partner's, their language's."""
    if person.timezone:
        return person.timezone
    if person.partner_id and (partner := config.partner(person.partner_id)):
        return partner.timezone
    languages = config.languages
    return languages.timezones.get(person.language or "", languages.default_timezone)


@dataclass
class Writer:
    """Outgoing messages of one transaction, each in its reader's language, as outbox rows."""

    config: Config
    texts: Translator
    # Channels running in this process, in order of preference for reaching people.
    channels: Sequence[str]
    now: dt.datetime
    identities: Callable[[int], Sequence[Identity]]
    write: Callable[[dict[str, Any]], None]
    # Channels tried first for a private message (the one the event came from).
    preferred: Sequence[str] = ()

    # -- words --------------------------------------------------------------------------
    def reader(self, person: Person | None) -> str:
        """The language ``person`` reads; the experts' space reads the network's language."""
        if person is None or not person.language:
            return self.config.languages.default
        return person.language

    def t_for(self, person: Person | None, message: str, **values: object) -> str:
        """Translate a message for ``person`` (None: for the experts' space)."""
        return self.texts.translate(self.reader(person), message, **values)

    def when(self, instant: dt.datetime, person: Person | None = None) -> str:
        """A time in the reader's language and zone (None: the space's, the default zone)."""
        zone = (
            timezone_of(self.config, person)
            if person is not None
            else self.config.languages.default_timezone
        )
        return format_when(instant, self.reader(person), zone)

    # -- where --------------------------------------------------------------------------
    def send(
        self,
        channel: str,
        text: str,
        *,
        person_id: int | None = None,
        chat_id: str | None = None,
        thread_id: str | None = None,
        question_id: int | None = None,
        opens_thread: bool = False,
        thread_title: str | None = None,
        buttons: Sequence[Button] = (),
        mentions: Sequence[list[str]] = (),
        attachments: Sequence[Attachment] = (),
        formatting: Sequence[Span] = (),
    ) -> None:
        """Write one outbox row: to a person when ``person_id`` is given, else to the space."""
        self.write(
            {
                "channel": channel,
                "target": OutboxTarget.PERSON if person_id is not None else OutboxTarget.SPACE,
                "person_id": person_id,
                "chat_id": chat_id,
                "thread_id": thread_id,
                "question_id": question_id,
                "opens_thread": opens_thread,
                "thread_title": thread_title,
                "text": text,
                "buttons": [[b.label, b.action] for b in buttons],
                "mentions": [list(m) for m in mentions],
                "attachments": [dataclasses.asdict(a) for a in attachments],
                "formatting": [dataclasses.asdict(s) for s in formatting],
                "created_at": self.now,
            }
        )

    def tell(
        self,
        person: Person,
        text: str,
        *,
        question_id: int | None = None,
        channel: str | None = None,
        buttons: Sequence[Button] = (),
        attachments: Sequence[Attachment] = (),
        formatting: Sequence[Span] = (),
    ) -> bool:
        """A private message to ``person`` on a channel where they can be reached."""
        identities = self.identities(person.id)
        for name in [*([channel] if channel else []), *self.preferred, *self.channels]:
            if name not in self.channels:
                continue
            for identity in identities:
                if identity.channel == name:
                    self.send(
                        name,
                        text,
                        person_id=person.id,
                        chat_id=identity.chat_id or identity.external_id,
                        question_id=question_id,
                        buttons=buttons,
                        attachments=[self._named(a, person) for a in attachments],
                        formatting=formatting,
                    )
                    return True
        return False

    def _named(self, attachment: Attachment, person: Person) -> Attachment:
        """``attachment`` with its name in ``person``'s words, for a channel that cannot send it."""
        reader, texts = self.reader(person), self.texts
        kinds = {
            "photo": texts.translate(reader, "photo"),
            "document": texts.translate(reader, "document"),
            "video": texts.translate(reader, "video"),
            "audio": texts.translate(reader, "audio"),
            "voice": texts.translate(reader, "voice message"),
            "animation": texts.translate(reader, "animation"),
        }
        kind = kinds.get(attachment.kind, attachment.kind)
        what = " ".join(part for part in (kind, attachment.name) if part)
        shown = texts.translate(reader, "[attachment: {what}]", what=what)
        return dataclasses.replace(attachment, shown_as=shown)

    def post(
        self,
        question_id: int,
        text: str,
        *,
        channels: Sequence[str],
        opens: bool = False,
        title: str | None = None,
        mentions: Sequence[Person] = (),
    ) -> None:
        """Post in the question's thread in the experts' space of each of ``channels``."""
        for channel in channels:
            tags = [
                [identity.external_id, person.display_name]
                for person in mentions
                for identity in self.identities(person.id)
                if identity.channel == channel
            ]
            self.send(
                channel,
                text,
                question_id=question_id,
                opens_thread=opens,
                thread_title=title,
                mentions=tags,
            )
