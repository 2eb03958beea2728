"""Repository functions: every query the conversation needs, in one place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Row,
    Table,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ground.storage.models import (
    Assignment,
    ChannelStateEntry,
    Event,
    FicheAnswer,
    Identity,
    InboundReceipt,
    OutboxMessage,
    Person,
    Question,
    Thread,
)
from ground.vocabulary import (
    ACTIVE_STATUSES,
    AssignmentRole,
    EndReason,
    OutboxStatus,
    QuestionStatus,
    Role,
)

__all__ = [
    "ACTIVE",
    "active_assignments",
    "add_identity",
    "add_question",
    "add_thread",
    "channel_state",
    "claim_receipt",
    "end_assignments",
    "fiche_answers_of",
    "find_account",
    "find_identity",
    "find_thread",
    "identities_of",
    "latest_fiche_answer",
    "load_by_person",
    "log_event",
    "mark_sent",
    "open_questions",
    "outbox_message",
    "outbox_pending",
    "people_by_role",
    "put_channel_state",
    "question_for_sent_message",
    "questions_of",
    "recent_duplicate",
    "save_send_progress",
    "staff",
    "thread_ids",
    "threads_of",
]

ACTIVE = ACTIVE_STATUSES
# The receipt's INSERT, by dialect, built once: it runs for every inbound event.
_CLAIM = {
    name: dialect_insert(cast(Table, InboundReceipt.__table__))
    .on_conflict_do_nothing(index_elements=["channel", "event_id"])
    .returning(InboundReceipt.__table__.c.id)
    for name, dialect_insert in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert))
}
_ADD_IDENTITY = insert(cast(Table, Identity.__table__))
_IDENTIFY = (
    select(Identity, Person)
    .outerjoin(Person, Person.id == Identity.person_id)
    .where(Identity.channel == bindparam("channel"), Identity.external_id == bindparam("external"))
)


def claim_receipt(session: Session, channel: str, event_id: str, now: dt.datetime) -> bool:
    """Record an inbound event; False if it was already taken in (a redelivery).

    One INSERT that does nothing on a duplicate, inside the caller's transaction: a failed
    handling rolls the receipt back with everything else, so a redelivery is handled again.
    """
    connection = session.connection()
    statement = _CLAIM[connection.dialect.name]
    values = {"channel": channel, "event_id": event_id, "received_at": now}
    return connection.execute(statement, values).scalar() is not None


def add_identity(
    session: Session,
    person_id: int,
    channel: str,
    external_id: str,
    chat_id: str | None,
    display_name: str,
) -> None:
    """Store a new account of a person (one INSERT, no object kept in the session)."""
    values = {
        "person_id": person_id,
        "channel": channel,
        "external_id": external_id,
        "chat_id": chat_id,
        "display_name": display_name,
    }
    session.connection().execute(_ADD_IDENTITY, values)


def find_identity(session: Session, channel: str, external_id: str) -> Identity | None:
    """The identity of a platform account, if known."""
    return session.scalar(
        select(Identity).where(Identity.channel == channel, Identity.external_id == external_id)
    )


def find_account(
    session: Session, channel: str, external_id: str
) -> tuple[Identity, Person | None] | None:
    """The identity of a platform account and its person, in one query, if known."""
    row = session.execute(_IDENTIFY, {"channel": channel, "external": external_id}).first()
    return (row[0], row[1]) if row is not None else None


def identities_of(session: Session, person_id: int) -> list[Identity]:
    """Every channel account of one person."""
    return list(session.scalars(select(Identity).where(Identity.person_id == person_id)))


def people_by_role(session: Session, role: str) -> list[Person]:
    """Active people of one role, by id."""
    return list(
        session.scalars(
            select(Person).where(Person.role == role, Person.active.is_(True)).order_by(Person.id)
        )
    )


def staff(session: Session) -> list[Person]:
    """Active experts and coordinators, by id: one query."""
    return list(
        session.scalars(
            select(Person)
            .where(Person.role.in_((Role.EXPERT, Role.COORDINATOR)), Person.active.is_(True))
            .order_by(Person.id)
        )
    )


def load_by_person(session: Session) -> dict[int, int]:
    """How many active questions each person holds as primary assignee."""
    rows = session.execute(
        select(Assignment.person_id, func.count())
        .join(Question, Question.id == Assignment.question_id)
        .where(
            Assignment.active.is_(True),
            Assignment.role == AssignmentRole.PRIMARY,
            Question.status.in_(ACTIVE),
        )
        .group_by(Assignment.person_id)
    )
    return {person_id: count for person_id, count in rows}


def add_question(session: Session, question: Question) -> Question:
    """Store a new question and give it its number."""
    session.add(question)
    session.flush()
    return question


def recent_duplicate(
    session: Session, asker_id: int, text: str, since: dt.datetime
) -> Question | None:
    """An identical question from the same asker since ``since``, still open or offered."""
    return session.scalar(
        select(Question)
        .where(
            Question.asker_id == asker_id,
            Question.text == text,
            Question.created_at >= since,
            Question.status.in_((*ACTIVE, QuestionStatus.OFFERED)),
        )
        .order_by(Question.id.desc())
        .limit(1)
    )


# Built once: /status runs it (building the statement cost as much as running it).
_QUESTIONS_OF = (
    select(Question)
    .where(Question.asker_id == bindparam("asker"))
    .order_by(Question.id.desc())
    .limit(bindparam("limit"))
)


def questions_of(session: Session, asker_id: int, limit: int = 10) -> list[Question]:
    """An asker's latest questions, newest first."""
    return list(session.scalars(_QUESTIONS_OF, {"asker": asker_id, "limit": limit}))


def open_questions(session: Session, limit: int = 50) -> list[Question]:
    """Routed questions not yet resolved, oldest first."""
    return list(
        session.scalars(
            select(Question)
            .where(Question.status.in_(ACTIVE))
            .order_by(Question.first_response_due, Question.id)
            .limit(limit)
        )
    )


def active_assignments(session: Session, question_id: int) -> list[Assignment]:
    """The current assignees of a question, primary first."""
    return list(
        session.scalars(
            select(Assignment)
            .where(Assignment.question_id == question_id, Assignment.active.is_(True))
            .order_by(Assignment.role != AssignmentRole.PRIMARY, Assignment.id)
        )
    )


def latest_fiche_answer(session: Session, question_id: int) -> FicheAnswer | None:
    """The fiche answer given for a question, if any."""
    return session.scalar(
        select(FicheAnswer)
        .where(FicheAnswer.question_id == question_id)
        .order_by(FicheAnswer.id.desc())
        .limit(1)
    )


def fiche_answers_of(session: Session, question_id: int) -> list[FicheAnswer]:
    """Every fiche answer shown for a question, first shown first."""
    return list(
        session.scalars(
            select(FicheAnswer)
            .where(FicheAnswer.question_id == question_id)
            .order_by(FicheAnswer.id)
        )
    )


def find_thread(session: Session, channel: str, space_id: str, thread_id: str) -> Thread | None:
    """The question thread with this id in a channel's experts' space."""
    return session.scalar(
        select(Thread).where(
            Thread.channel == channel, Thread.space_id == space_id, Thread.thread_id == thread_id
        )
    )


def threads_of(session: Session, question_id: int) -> list[Thread]:
    """Every thread a question has, one per channel."""
    return list(session.scalars(select(Thread).where(Thread.question_id == question_id)))


def question_for_sent_message(session: Session, channel: str, external_id: str) -> Question | None:
    """The question a message the bot sent belonged to (for replies to it)."""
    return session.scalar(
        select(Question)
        .join(OutboxMessage, OutboxMessage.question_id == Question.id)
        .where(OutboxMessage.channel == channel, OutboxMessage.external_id == external_id)
        .limit(1)
    )


def log_event(
    session: Session,
    kind: str,
    now: dt.datetime,
    *,
    question_id: int | None = None,
    actor_id: int | None = None,
    **detail: Any,
) -> None:
    """Append one line to the event log."""
    session.add(
        Event(question_id=question_id, kind=kind, actor_id=actor_id, detail=detail, created_at=now)
    )


_OUTBOX_TABLE = cast(Table, OutboxMessage.__table__)
_OUTBOX = _OUTBOX_TABLE.c
# Plain rows, not ORM objects: the sender reads each message once and never changes it there
# (loading them as objects cost as much as sending them).
_PENDING = (
    select(
        _OUTBOX.id,
        _OUTBOX.channel,
        _OUTBOX.target,
        _OUTBOX.chat_id,
        _OUTBOX.thread_id,
        _OUTBOX.question_id,
        _OUTBOX.opens_thread,
        _OUTBOX.thread_title,
        _OUTBOX.text,
        _OUTBOX.buttons,
        _OUTBOX.mentions,
        _OUTBOX.attachments,
        _OUTBOX.formatting,
        _OUTBOX.send_progress,
    )
    .where(
        _OUTBOX.status == OutboxStatus.PENDING,
        _OUTBOX.channel.in_(bindparam("channels", expanding=True)),
        or_(_OUTBOX.next_attempt_at.is_(None), _OUTBOX.next_attempt_at <= bindparam("now")),
    )
    .order_by(_OUTBOX.id)
    .limit(bindparam("limit"))
)
_MARK_SENT = (
    update(_OUTBOX_TABLE)
    .where(_OUTBOX.id == bindparam("row_id"))
    .values(
        status=OutboxStatus.SENT,
        external_id=bindparam("external_id"),
        sent_at=bindparam("sent_at"),
        attempts=_OUTBOX.attempts + 1,
        send_progress=None,
    )
)
_SEND_PROGRESS = (
    update(_OUTBOX_TABLE)
    .where(_OUTBOX.id == bindparam("row_id"))
    .values(send_progress=bindparam("progress"))
)


def outbox_pending(
    session: Session, channels: Sequence[str], now: dt.datetime, limit: int = 100
) -> list[Row[Any]]:
    """Unsent messages for these channels that are due (not backing off), oldest first."""
    parameters = {"channels": list(channels), "now": now, "limit": limit}
    return list(session.connection().execute(_PENDING, parameters))


def mark_sent(
    db: Session | Connection, outbox_id: int, external_id: str | None, now: dt.datetime
) -> None:
    """Record an outbox message as sent, with the platform's id for it.

    On a plain connection too: the sender records every message in a transaction of its own.
    """
    connection = db if isinstance(db, Connection) else db.connection()
    connection.execute(
        _MARK_SENT, {"row_id": outbox_id, "external_id": external_id, "sent_at": now}
    )


def save_send_progress(session: Session, outbox_id: int, progress: dict[str, Any]) -> None:
    """Record how far the sending of a message in several platform calls got."""
    session.connection().execute(_SEND_PROGRESS, {"row_id": outbox_id, "progress": progress})


def outbox_message(session: Session, outbox_id: int) -> OutboxMessage | None:
    """One outbox message, to record what became of it."""
    return session.get(OutboxMessage, outbox_id)


def thread_ids(session: Session, question_ids: Iterable[int | None]) -> dict[tuple[int, str], str]:
    """The thread of each of these questions on each channel: one query for a whole batch."""
    wanted = {q for q in question_ids if q is not None}
    if not wanted:
        return {}
    found: dict[tuple[int, str], str] = {}
    for question_id, channel, thread_id in session.execute(
        select(Thread.question_id, Thread.channel, Thread.thread_id)
        .where(Thread.question_id.in_(wanted))
        .order_by(Thread.id)
    ):
        found.setdefault((question_id, channel), thread_id)
    return found


def add_thread(
    session: Session, question_id: int, channel: str, space_id: str, thread_id: str
) -> None:
    """Record the thread a question was given in a channel's experts' space, once."""
    if find_thread(session, channel, space_id, thread_id) is None:
        session.add(
            Thread(question_id=question_id, channel=channel, space_id=space_id, thread_id=thread_id)
        )


def end_assignments(
    session: Session,
    question_id: int,
    now: dt.datetime,
    reason: EndReason,
    person_id: int | None = None,
) -> None:
    """Close active assignments of a question (of one person when given)."""
    condition = and_(Assignment.question_id == question_id, Assignment.active.is_(True))
    if person_id is not None:
        condition = and_(condition, Assignment.person_id == person_id)
    session.execute(
        update(Assignment).where(condition).values(active=False, ended_at=now, ended_reason=reason)
    )


def channel_state(session: Session, channel: str, key: str) -> str | None:
    """A value a channel stored to survive restarts, or None."""
    entry = session.get(ChannelStateEntry, (channel, key))
    return entry.value if entry is not None else None


def put_channel_state(
    session: Session, channel: str, key: str, value: str, now: dt.datetime
) -> None:
    """Store a channel's value under ``key``, replacing the earlier one."""
    entry = session.get(ChannelStateEntry, (channel, key))
    if entry is None:
        session.add(ChannelStateEntry(channel=channel, key=key, value=value, updated_at=now))
    else:
        entry.value, entry.updated_at = value, now
