"""The SQLAlchemy model set: people, questions, fiches, the outbox and the event log."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ground.vocabulary import DraftStatus, OutboxStatus, Priority, StepState

__all__ = [
    "MAX_ID",
    "AnswerLabel",
    "AnswerabilityFit",
    "Assignment",
    "Base",
    "ChannelStateEntry",
    "DashboardAccount",
    "DashboardLink",
    "DeadlineStep",
    "Event",
    "Fiche",
    "FicheAnswer",
    "FicheDraft",
    "FicheVersion",
    "Identity",
    "InboundReceipt",
    "InboxEvent",
    "OutboxMessage",
    "Partner",
    "Person",
    "Question",
    "QuestionTimes",
    "QuestionVector",
    "RelayedMessage",
    "TextVector",
    "Thread",
]


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores aware datetimes as UTC and always gives back aware UTC ones (SQLite drops zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


# The largest id an INTEGER column holds on PostgreSQL: a larger typed number names nothing.
MAX_ID = 2**31 - 1


class Base(DeclarativeBase):
    """Declarative base of every table."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Partner(Base):
    """A partner organisation, mirrored from the config."""

    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")


class Person(Base):
    """Anyone the bot talks to: an asker, an expert or a coordinator."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[str] = mapped_column(String(16), index=True)  # asker | expert | coordinator
    config_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id"))
    language: Mapped[str | None] = mapped_column(String(8))
    language_explicit: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str | None] = mapped_column(String(64))
    away: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    focus_question_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime]


class Identity(Base):
    """A person's account on one channel, and the private chat the bot uses to reach it."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(200))
    chat_id: Mapped[str | None] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200), default="")


class Question(Base):
    """One question of an asker, from intake to resolution."""

    __tablename__ = "questions"
    __table_args__ = (
        Index("ix_questions_status_due", "status", "first_response_due"),
        # The dashboard's list by partner (migration 0013; its overdue index is outside the
        # models).
        Index("ix_questions_partner_status", "partner_id", "status", "created_at"),
        # Questions answered since a time: the similar-question search takes them in (0014).
        Index("ix_questions_first_response_at", "first_response_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asker_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    topic: Mapped[str | None] = mapped_column(String(64), index=True)
    topic_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    # Every topic's probability from the classifier, {topic id: p}, for routing by expertise.
    topic_scores: Mapped[dict[str, Any] | None]
    # offered (fiche answer shown) | open (routed) | answered | resolved
    status: Mapped[str] = mapped_column(String(16), index=True)
    decision: Mapped[str] = mapped_column(String(8))  # answer | route
    fallback: Mapped[str | None] = mapped_column(String(16))
    partner_id: Mapped[str | None] = mapped_column(ForeignKey("partners.id"))
    priority: Mapped[str] = mapped_column(String(8), default=Priority.NORMAL)
    created_at: Mapped[dt.datetime]
    routed_at: Mapped[dt.datetime | None]
    first_response_at: Mapped[dt.datetime | None]
    first_response_due: Mapped[dt.datetime | None]
    resolution_due: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    helpful: Mapped[bool | None] = mapped_column(Boolean)


class DeadlineStep(Base):
    """A reminder or escalation of one question, due at an instant; fired at most once."""

    __tablename__ = "deadline_steps"
    __table_args__ = (
        UniqueConstraint("question_id", "clock", "kind", "step"),
        Index("ix_deadline_steps_pending", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    clock: Mapped[str] = mapped_column(String(16))  # first_response | resolution
    kind: Mapped[str] = mapped_column(String(16))  # reminder | escalation
    step: Mapped[int] = mapped_column(Integer)
    target: Mapped[str] = mapped_column(String(16))  # primary | experts | lead | coordinators
    due_at: Mapped[dt.datetime]
    # pending | fired | cancelled (answered or resolved in time)
    state: Mapped[str] = mapped_column(String(12), default=StepState.PENDING)
    fired_at: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    late: Mapped[bool] = mapped_column(Boolean, default=False)


class FicheAnswer(Base):
    """The fiches the bot offered for a question, and what the asker said of them."""

    __tablename__ = "fiche_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    fiches: Mapped[list[Any]]  # [{"id", "language", "score"}], best first
    feedback: Mapped[str | None] = mapped_column(String(16))  # FicheFeedback
    created_at: Mapped[dt.datetime]
    feedback_at: Mapped[dt.datetime | None]
    # The answerability model's inputs for the best fiche shown, kept for its labels (0011).
    features: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AnswerLabel(Base):
    """One judged outcome: does this fiche answer this question? A training example (0011)."""

    __tablename__ = "answer_labels"
    __table_args__ = (UniqueConstraint("question_id", "fiche_id", "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    fiche_id: Mapped[str] = mapped_column(String(200))
    # The fiche the model ranked first when ``features`` were taken (None: not measured).
    shown_fiche: Mapped[str | None] = mapped_column(String(200))
    features: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    verdict: Mapped[str] = mapped_column(String(16))  # Verdict
    source: Mapped[str] = mapped_column(String(16))  # LabelSource
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(index=True)


class AnswerabilityFit(Base):
    """A model refitted by ``rrm kb calibrate``; the latest one is the one the bot uses (0011)."""

    __tablename__ = "answerability_fits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model: Mapped[dict[str, Any]]  # means, scales, weights, bias
    # The labels it learnt from: every label with an id up to this one.
    last_label_id: Mapped[int] = mapped_column(Integer, default=0)
    labels: Mapped[int] = mapped_column(Integer, default=0)
    figures: Mapped[dict[str, Any]]  # cross-validated precision, coverage, expert reach
    created_at: Mapped[dt.datetime]


class Assignment(Base):
    """An expert (or coordinator) given a question: the primary assignee or a mentioned one."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # primary | mentioned
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(String(32))


class Thread(Base):
    """Where a question lives in one channel's experts' space."""

    __tablename__ = "threads"
    __table_args__ = (UniqueConstraint("channel", "space_id", "thread_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    space_id: Mapped[str] = mapped_column(String(200))
    thread_id: Mapped[str] = mapped_column(String(200))


class RelayedMessage(Base):
    """A message relayed between asker and experts, in either direction."""

    __tablename__ = "relayed_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    direction: Mapped[str] = mapped_column(String(16))  # to_asker | to_experts
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime]


class Event(Base):
    """The event log: one row for each thing that happened to a question."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(index=True)


class InboundReceipt(Base):
    """An inbound event already taken in, so a redelivery changes nothing."""

    __tablename__ = "inbound_receipts"
    __table_args__ = (UniqueConstraint("channel", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[dt.datetime]


class OutboxMessage(Base):
    """A message the bot must send, written with the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    # person: a private chat with person_id; space: the channel's experts' space
    target: Mapped[str] = mapped_column(String(8))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    chat_id: Mapped[str | None] = mapped_column(String(200))
    # A reply in the experts' space outside a question's own thread: where it was asked (0004)
    thread_id: Mapped[str | None] = mapped_column(String(200))
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id"), index=True)
    opens_thread: Mapped[bool] = mapped_column(Boolean, default=False)
    thread_title: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[Any]] = mapped_column(default=list)  # [[label, action]]
    mentions: Mapped[list[Any]] = mapped_column(default=list)  # [[external_id, name]]
    # [{"kind", "channel", "ref", "caption", "name"}]: files relayed with the text (0004)
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    # [{"kind", "start", "end", "url"}]: the text's formatting, by string index (0004)
    formatting: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(
        String(8), default=OutboxStatus.PENDING
    )  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(200), index=True)
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    # {"thread_id", "message_ids"}: what a message sent in several platform calls already got
    # through, so a retry after a crash resumes there; cleared once sent or given up (0012)
    send_progress: Mapped[dict[str, Any] | None]


class Fiche(Base):
    """A best-practice fiche; its language versions hold the text."""

    __tablename__ = "fiches"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    collection: Mapped[str] = mapped_column(String(500), default="")
    topics: Mapped[list[Any]]
    updated_at: Mapped[dt.datetime]


class FicheVersion(Base):
    """One language version of a fiche, with its stored embedding."""

    __tablename__ = "fiche_versions"

    fiche_id: Mapped[str] = mapped_column(
        ForeignKey("fiches.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    country: Mapped[str] = mapped_column(String(2), default="")
    region: Mapped[str] = mapped_column(String(200), default="")
    partner: Mapped[str] = mapped_column(String(200), default="")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    embedder: Mapped[str] = mapped_column(String(64))
    embedding: Mapped[bytes] = mapped_column(LargeBinary)


class TextVector(Base):
    """A cached embedding of a fixed text (topic descriptions and examples)."""

    __tablename__ = "text_vectors"

    embedder: Mapped[str] = mapped_column(String(64), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class QuestionTimes(Base):
    """How long a routed question waited, in wall-clock and working hours, computed once.

    Working hours depend on the partner's calendar, which SQL cannot evaluate, so the
    statistics compute each question's durations once in Python and aggregate them in SQL.
    """

    __tablename__ = "question_times"

    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    first_response_hours: Mapped[float | None] = mapped_column(Float)
    first_response_work_hours: Mapped[float | None] = mapped_column(Float)
    resolution_hours: Mapped[float | None] = mapped_column(Float)
    resolution_work_hours: Mapped[float | None] = mapped_column(Float)


class DashboardAccount(Base):
    """A coordinator's login to the web dashboard; only a scrypt hash of the password is kept."""

    __tablename__ = "dashboard_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[dt.datetime]


class DashboardLink(Base):
    """A one-time dashboard login link the bot sent a coordinator in chat."""

    __tablename__ = "dashboard_links"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class DashboardSession(Base):
    """A dashboard login, kept on the server so logout, a new password or removal ends it."""

    __tablename__ = "dashboard_sessions"

    # A SHA-256 of the token in the cookie: a copy of this table logs no one in.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]


class DashboardLoginAttempt(Base):
    """One login attempt, counted before the password is checked, per name and address."""

    __tablename__ = "dashboard_login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[dt.datetime]


# The statistics select questions by the day they were asked.
Index("ix_questions_created_at", Question.created_at)


class ChannelStateEntry(Base):
    """A channel's memory across restarts (a Matrix sync token, a device id), by key."""

    __tablename__ = "channel_state"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime]


class InboxEvent(Base):
    """A raw inbound event, stored before the platform is told it arrived; handled later."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("channel", "platform_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    # The platform's own id (a Telegram update id): a redelivered event is stored once.
    platform_id: Mapped[str] = mapped_column(String(200))
    conversation: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[dt.datetime]
    handled_at: Mapped[dt.datetime | None]
    # The process handling it (several may share one PostgreSQL database), and since when:
    # a claim older than the inbox's timeout is taken over, as its process may have died.
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[dt.datetime | None]


Index("ix_inbox_pending", InboxEvent.channel, InboxEvent.handled_at, InboxEvent.id)


class QuestionVector(Base):
    """A question's embedding, kept so later questions find it as a similar one (0009)."""

    __tablename__ = "question_vectors"

    question_id: Mapped[int] = mapped_column(
        ForeignKey("questions.id", ondelete="CASCADE"), primary_key=True
    )
    embedder: Mapped[str] = mapped_column(String(64))
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class FicheDraft(Base):
    """A fiche drafted from an expert's answer, waiting for a coordinator's review (0009)."""

    __tablename__ = "fiche_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), index=True)
    # The fiche id (folder name) it gets once approved.
    fiche_id: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(Text)
    topics: Mapped[list[Any]]
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2), default="")
    region: Mapped[str] = mapped_column(String(200), default="")
    partner: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(12), default=DraftStatus.DRAFT, index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime]
    # Who reviewed it: a person's name in chat, a login name on the dashboard.
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[dt.datetime | None]
    exported_at: Mapped[dt.datetime | None]
