"""The services a handler may use, and the turn: one inbound event being handled."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from bot.ground.clock import Clock
from bot.ground.config import Config
from bot.ground.storage import repo
from bot.ground.storage.models import Identity, OutboxMessage, Person, Question
from handlers.events import Attachment, Button, Inbound, Span
from handlers.i18n import Translator, format_when
from routing.language import Detection
from routing.triage import Triage

__all__ = ["Services", "Turn"]


@dataclass
class Services:
    """Everything the conversation needs, built once by the composition root."""

    config: Config
    sessions: sessionmaker[Session]
    triage: Triage
    clock: Clock
    texts: Translator
    # Channels running in this process, in order of preference for reaching people.
    channels: Sequence[str] = ("console",)

    def timezone_of(self, person: Person) -> str:
        """The time zone to show a person times in."""
        return timezone_of(self.config, person)


def timezone_of(config: Config, person: Person) -> str:
    """The time zone to show a person times in: theirs, their partner's, their language's."""
    if person.timezone:
        return person.timezone
    if person.partner_id and (partner := config.partner(person.partner_id)):
        return partner.timezone
    languages = config.languages
    return languages.timezones.get(person.language or "", languages.default_timezone)


@dataclass
class Turn:
    """One inbound event in its transaction: who sent it, and what the bot says back."""

    services: Services
    session: Session
    event: Inbound
    person: Person
    now: dt.datetime
    replies: int = field(default=0)
    # The questions this event's messages were about, for the log line of the event.
    question_ids: set[int] = field(default_factory=set)
    # Work to do once the event's transaction is committed (the search learning a new fiche).
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    @property
    def config(self) -> Config:
        """The configuration."""
        return self.services.config

    @property
    def language(self) -> str:
        """The sender's language, for messages to them: theirs once known, else their app's."""
        if self.person.language:
            return self.person.language
        hint = self.event.language_hint
        if hint and hint in self.config.languages.supported:
            return hint
        return self.config.languages.default

    def learn_language(self, detection: Detection) -> None:
        """Take the language the sender wrote in as theirs, unless they chose one themselves."""
        person = self.person
        # A short text is weak evidence of the language someone reads: keep what we knew.
        if not person.language_explicit and (detection.source == "text" or not person.language):
            person.language = detection.language

    def t(self, message: str, **values: object) -> str:
        """Translate a message for the sender."""
        return self.services.texts.translate(self.language, message, **values)

    def tn(self, singular: str, plural: str, n: int, **values: object) -> str:
        """Translate a counted message for the sender, in their language's plural form."""
        return self.services.texts.translate_plural(self.language, singular, plural, n, **values)

    def t_for(self, person: Person, message: str, **values: object) -> str:
        """Translate a message for someone else."""
        language = person.language or self.config.languages.default
        return self.services.texts.translate(language, message, **values)

    def when(self, instant: dt.datetime, person: Person | None = None) -> str:
        """A time shown in a person's language and time zone (the sender's by default)."""
        reader = person or self.person
        return format_when(
            instant,
            reader.language or self.config.languages.default,
            self.services.timezone_of(reader),
        )

    def _about(self, question: Question | None) -> int | None:
        if question is None:
            return None
        self.question_ids.add(question.id)
        return question.id

    def reply(
        self, text: str, buttons: Sequence[Button] = (), question: Question | None = None
    ) -> None:
        """Answer the sender where the event came from (their chat, or the thread)."""
        self.replies += 1
        if self.event.space and self.event.thread_id is not None and question is not None:
            self.post_in_thread(question, text, channels=[self.event.channel])
            return
        self.session.add(
            OutboxMessage(
                channel=self.event.channel,
                target="person",
                person_id=self.person.id,
                chat_id=self.event.chat_id,
                # In the experts' space, the answer goes to the thread (or topic) asked from.
                thread_id=self.event.thread_id if self.event.space else None,
                question_id=self._about(question),
                text=text,
                buttons=[[b.label, b.action] for b in buttons],
                mentions=[],
                created_at=self.now,
            )
        )

    def tell(
        self,
        person: Person,
        text: str,
        buttons: Sequence[Button] = (),
        question: Question | None = None,
        channel: str | None = None,
        attachments: Sequence[Attachment] = (),
        formatting: Sequence[Span] = (),
    ) -> bool:
        """Send a private message to ``person`` on a channel where they can be reached."""
        identity = self._reachable(person, channel)
        if identity is None:
            return False
        self.session.add(
            OutboxMessage(
                channel=identity.channel,
                target="person",
                person_id=person.id,
                chat_id=identity.chat_id or identity.external_id,
                question_id=self._about(question),
                text=text,
                buttons=[[b.label, b.action] for b in buttons],
                mentions=[],
                attachments=[dataclasses.asdict(a) for a in attachments],
                formatting=[dataclasses.asdict(s) for s in formatting],
                created_at=self.now,
            )
        )
        return True

    def post_in_thread(
        self,
        question: Question,
        text: str,
        *,
        channels: Sequence[str],
        opens: bool = False,
        title: str | None = None,
        mentions: Sequence[Person] = (),
    ) -> None:
        """Post in the question's thread in the experts' space of each of ``channels``."""
        for channel in channels:
            tags = []
            for person in mentions:
                for identity in repo.identities_of(self.session, person.id):
                    if identity.channel == channel:
                        tags.append([identity.external_id, person.display_name])
            self.session.add(
                OutboxMessage(
                    channel=channel,
                    target="space",
                    question_id=self._about(question),
                    opens_thread=opens,
                    thread_title=title,
                    text=text,
                    buttons=[],
                    mentions=tags,
                    created_at=self.now,
                )
            )

    def _reachable(self, person: Person, channel: str | None) -> Identity | None:
        identities = repo.identities_of(self.session, person.id)
        order = [channel] if channel else []
        order += [self.event.channel, *self.services.channels]
        for name in order:
            if name not in self.services.channels:
                continue
            for identity in identities:
                if identity.channel == name:
                    return identity
        return None
