"""The services a handler may use, and the turn: one inbound event being handled."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from ground.clock import Clock
from ground.config import Config
from ground.storage import conversation_repo, repo
from ground.storage.models import Person, Question
from handlers.events import Attachment, Button, Inbound, Span
from handlers.i18n import Translator
from handlers.writer import Writer, timezone_of
from knowledge.similar import AnsweredIndex
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
    # The approved drafts the search holds, and their state (see handlers.drafts.search_approved).
    approvals: tuple[int, int | None] | None = None
    approved_drafts: frozenset[int] = frozenset()
    # Held while a new fiche is added to the search: two additions at once would lose one.
    search_lock: threading.Lock = field(default_factory=threading.Lock)

    @cached_property
    def answered(self) -> AnsweredIndex:
        """Every answered question's vector, kept in memory to find ones close to a new question."""
        return AnsweredIndex(self.triage.embedder)

    def timezone_of(self, person: Person) -> str:
        """The time zone to show a person times in."""
        return timezone_of(self.config, person)


@dataclass
class Turn:
    """One inbound event in its transaction: who sent it, and what the bot says back."""

    services: Services
    session: Session
    event: Inbound
    person: Person
    now: dt.datetime
    # The questions this event's messages were about, for the log line of the event.
    question_ids: set[int] = field(default_factory=set)
    # Earlier answered questions found near a question during this event, by its number.
    earlier: dict[int, list[Any]] = field(default_factory=dict)
    # Work to do once the event's transaction is committed (the search learning a new fiche).
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    @property
    def config(self) -> Config:
        """The configuration."""
        return self.services.config

    @cached_property
    def writer(self) -> Writer:
        """The writer of this turn's messages: rows go to the session, the event's channel first."""
        return Writer(
            self.services.config,
            self.services.texts,
            self.services.channels,
            self.now,
            lambda person_id: repo.identities_of(self.session, person_id),
            lambda row: conversation_repo.queue_message(self.session, row),
            preferred=(self.event.channel,),
        )

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
        return self.writer.t_for(person, message, **values)

    @property
    def space_language(self) -> str:
        """The language of the experts' space: the network's (``languages.default``)."""
        return self.writer.reader(None)

    def t_space(self, message: str, **values: object) -> str:
        """Translate a post for everyone in the experts' space, in the space's language.

        A reply to the sender's own command is in the sender's language (``t``), wherever it
        lands; what the whole thread reads is in the space's (docs/experts.md).
        """
        return self.writer.t_for(None, message, **values)

    def when(self, instant: dt.datetime, person: Person | None = None) -> str:
        """A time shown in a person's language and time zone (the sender's by default)."""
        return self.writer.when(instant, person or self.person)

    def space_when(self, instant: dt.datetime) -> str:
        """A time shown in the experts' space: its language, the network's default zone."""
        return self.writer.when(instant, None)

    def _about(self, question: Question | None) -> int | None:
        if question is None:
            return None
        self.question_ids.add(question.id)
        return question.id

    def reply(
        self, text: str, buttons: Sequence[Button] = (), question: Question | None = None
    ) -> None:
        """Answer the sender where the event came from (their chat, or the thread)."""
        if self.event.space and self.event.thread_id is not None and question is not None:
            self.post_in_thread(question, text, channels=[self.event.channel])
            return
        self.writer.send(
            self.event.channel,
            text,
            person_id=self.person.id,
            chat_id=self.event.chat_id,
            # In the experts' space, the answer goes to the thread (or topic) asked from.
            thread_id=self.event.thread_id if self.event.space else None,
            question_id=self._about(question),
            buttons=buttons,
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
        told = self.writer.tell(
            person,
            text,
            question_id=question.id if question is not None else None,
            channel=channel,
            buttons=buttons,
            attachments=attachments,
            formatting=formatting,
        )
        if told:
            self._about(question)
        return told

    def thread_channels(self, question: Question) -> list[str]:
        """The channels where ``question`` already has a thread in the experts' space."""
        return sorted({t.channel for t in repo.threads_of(self.session, question.id)})

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
        if channels:
            self._about(question)
        self.writer.post(
            question.id,
            text,
            channels=channels,
            opens=opens,
            title=title,
            mentions=mentions,
        )
