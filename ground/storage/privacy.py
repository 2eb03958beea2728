"""Queries for access, rate limits and the GDPR duties: find, export, erase, expire data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CursorResult, delete, func, or_, select, update
from sqlalchemy.orm import Session

from ground.storage.models import (
    AnswerLabel,
    Assignment,
    Event,
    FicheAnswer,
    Identity,
    OutboxMessage,
    Person,
    Question,
    QuestionVector,
    RelayedMessage,
)
from ground.vocabulary import OutboxStatus, QuestionStatus, Role

__all__ = [
    "ERASED",
    "access_granted",
    "anonymise_question",
    "erase_person",
    "expired_questions",
    "export_person",
    "find_person",
    "grant_access",
    "idle_askers",
    "questions_since",
]

# What personal text is replaced with; statistics never read it.
ERASED = ""
CANCELLED = "cancelled: the person's data was erased"
CLOSED = (QuestionStatus.RESOLVED, QuestionStatus.OFFERED)
ACCESS_GRANTED = "access_granted"


def access_granted(session: Session, person_id: int) -> bool:
    """Whether an asker was admitted with an invitation code."""
    return (
        session.scalar(
            select(Event.id)
            .where(Event.kind == ACCESS_GRANTED, Event.actor_id == person_id)
            .limit(1)
        )
        is not None
    )


def grant_access(session: Session, person_id: int, now: dt.datetime) -> None:
    """Record that an asker sent a valid invitation code (the code itself is not stored)."""
    session.add(Event(kind=ACCESS_GRANTED, actor_id=person_id, detail={}, created_at=now))


def questions_since(session: Session, asker_id: int, since: dt.datetime) -> int:
    """How many questions an asker opened since ``since``."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Question)
            .where(Question.asker_id == asker_id, Question.created_at >= since)
        )
        or 0
    )


def find_person(session: Session, reference: str) -> Person | None:
    """A person by "channel:account", config id, or "#number" (their id in the database)."""
    if reference.startswith("#") and reference[1:].isdigit():
        return session.get(Person, int(reference[1:]))
    person = session.scalar(select(Person).where(Person.config_id == reference))
    if person is not None:
        return person
    channel, _, account = reference.partition(":")
    if account:
        identity = session.scalar(
            select(Identity).where(Identity.channel == channel, Identity.external_id == account)
        )
        if identity is not None:
            return session.get(Person, identity.person_id)
    return None


def _row(obj: Any) -> dict[str, Any]:
    """A model row as JSON-ready data."""
    data: dict[str, Any] = {}
    for column in obj.__table__.columns:
        value = getattr(obj, column.key)
        data[column.key] = value.isoformat() if isinstance(value, dt.datetime) else value
    return data


def export_person(session: Session, person: Person) -> dict[str, Any]:
    """Everything stored about one person, as JSON-ready data."""
    question_ids = list(session.scalars(select(Question.id).where(Question.asker_id == person.id)))

    def rows(statement: Any) -> list[dict[str, Any]]:
        return [_row(obj) for obj in session.scalars(statement)]

    return {
        "person": _row(person),
        "identities": rows(select(Identity).where(Identity.person_id == person.id)),
        "questions": rows(select(Question).where(Question.id.in_(question_ids))),
        "fiche_answers": rows(select(FicheAnswer).where(FicheAnswer.question_id.in_(question_ids))),
        "answer_labels": rows(
            select(AnswerLabel)
            .where(AnswerLabel.question_id.in_(question_ids))
            .order_by(AnswerLabel.id)
        ),
        "messages_relayed": rows(
            select(RelayedMessage)
            .where(
                or_(
                    RelayedMessage.author_id == person.id,
                    RelayedMessage.question_id.in_(question_ids),
                )
            )
            .order_by(RelayedMessage.id)
        ),
        "messages_sent_to_them": rows(
            select(OutboxMessage)
            .where(OutboxMessage.person_id == person.id)
            .order_by(OutboxMessage.id)
        ),
        # Messages to others (the experts' space, colleagues) about their questions, pending
        # ones included: they carry the person's name and question text.
        "messages_about_their_questions": rows(
            select(OutboxMessage)
            .where(
                OutboxMessage.question_id.in_(question_ids),
                or_(OutboxMessage.person_id.is_(None), OutboxMessage.person_id != person.id),
            )
            .order_by(OutboxMessage.id)
        ),
        "assignments": rows(select(Assignment).where(Assignment.person_id == person.id)),
        "events": rows(
            select(Event)
            .where(or_(Event.actor_id == person.id, Event.question_id.in_(question_ids)))
            .order_by(Event.id)
        ),
    }


def _changed(session: Session, statement: Any) -> int:
    """Run an UPDATE; return how many rows it changed."""
    result: CursorResult[Any] = session.execute(statement)  # type: ignore[assignment]
    return int(result.rowcount)


def anonymise_question(session: Session, question_id: int) -> int:
    """Blank the texts of one question and of every message about it; return rows changed."""
    changed = _changed(
        session, update(Question).where(Question.id == question_id).values(text=ERASED)
    )
    changed += _changed(
        session,
        update(RelayedMessage).where(RelayedMessage.question_id == question_id).values(text=ERASED),
    )
    # A label keeps the features it was measured with, so the model still learns from it.
    changed += _changed(
        session,
        update(AnswerLabel).where(AnswerLabel.question_id == question_id).values(text=ERASED),
    )
    # A question's embedding says what it was about: it goes with the text.
    session.execute(delete(QuestionVector).where(QuestionVector.question_id == question_id))
    changed += _changed(
        session,
        update(OutboxMessage)
        .where(
            OutboxMessage.question_id == question_id, OutboxMessage.status != OutboxStatus.PENDING
        )
        .values(
            text=ERASED, chat_id=None, thread_title=None, mentions=[], attachments=[], formatting=[]
        ),
    )
    return int(changed)


def erase_person(session: Session, person: Person, now: dt.datetime) -> dict[str, int]:
    """Delete a person's accounts and blank their texts, keeping the rows statistics count."""
    counts: dict[str, int] = {}
    question_ids = list(session.scalars(select(Question.id).where(Question.asker_id == person.id)))
    counts["questions"] = len(question_ids)
    # Messages still waiting to go to anyone (experts included) about their questions are
    # cancelled first, so the blanking below reaches them too.
    counts["messages_about_them_cancelled"] = _changed(
        session,
        update(OutboxMessage)
        .where(
            OutboxMessage.question_id.in_(question_ids),
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.FAILED, last_error=CANCELLED),
    )
    for question_id in question_ids:
        anonymise_question(session, question_id)
    counts["messages_relayed"] = _changed(
        session,
        update(RelayedMessage).where(RelayedMessage.author_id == person.id).values(text=ERASED),
    )
    # What was still waiting to go to them is not sent any more.
    counts["messages_cancelled"] = _changed(
        session,
        update(OutboxMessage)
        .where(OutboxMessage.person_id == person.id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.FAILED, last_error=CANCELLED),
    )
    counts["messages_sent_to_them"] = _changed(
        session,
        update(OutboxMessage)
        .where(OutboxMessage.person_id == person.id)
        .values(text=ERASED, chat_id=None, buttons=[], attachments=[], formatting=[]),
    )
    identities = list(session.scalars(select(Identity).where(Identity.person_id == person.id)))
    counts["identities"] = len(identities)
    for identity in identities:
        session.delete(identity)
    person.display_name = ERASED
    person.organisation = ERASED
    person.timezone = None
    person.focus_question_id = None
    person.active = False
    session.add(Event(kind="person_erased", actor_id=person.id, detail={}, created_at=now))
    return counts


def expired_questions(session: Session, cutoff: dt.datetime, limit: int = 500) -> list[Question]:
    """Closed questions with personal text, closed before ``cutoff``."""
    closed_at = func.coalesce(Question.resolved_at, Question.created_at)
    return list(
        session.scalars(
            select(Question)
            .where(Question.status.in_(CLOSED), Question.text != ERASED, closed_at < cutoff)
            .order_by(Question.id)
            .limit(limit)
        )
    )


def idle_askers(session: Session, cutoff: dt.datetime, limit: int = 500) -> list[Person]:
    """Askers still holding personal data whose every question closed before ``cutoff``."""
    recent = (
        select(Question.id)
        .where(
            Question.asker_id == Person.id,
            or_(
                Question.status.not_in(CLOSED),
                func.coalesce(Question.resolved_at, Question.created_at) >= cutoff,
            ),
        )
        .exists()
    )
    has_identity = select(Identity.id).where(Identity.person_id == Person.id).exists()
    return list(
        session.scalars(
            select(Person)
            .where(
                Person.role == Role.ASKER,
                Person.created_at < cutoff,
                or_(Person.display_name != ERASED, has_identity),
                ~recent,
            )
            .order_by(Person.id)
            .limit(limit)
        )
    )
