"""Rows the conversation reads by key and writes: people, questions, assignments, messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session, make_transient_to_detached

from ground.storage.models import (
    MAX_ID,
    Assignment,
    FicheAnswer,
    OutboxMessage,
    Person,
    Question,
    RelayedMessage,
)
from ground.vocabulary import AssignmentRole, EndReason, RelayDirection, Role

_PEOPLE = cast(Table, Person.__table__)
# Built once: every new asker and every message written runs one of them.
_ADD_PERSON = insert(_PEOPLE).returning(_PEOPLE.c.id)
_QUEUE = insert(cast(Table, OutboxMessage.__table__))

__all__ = [
    "add_asker",
    "add_assignment",
    "add_fiche_answer",
    "add_relayed",
    "get_person",
    "get_question",
    "passed_by",
    "queue_message",
    "relayed_to_asker",
]


def get_question(session: Session, number: int) -> Question | None:
    """The question with this number, if there is one (a number typed by anyone)."""
    return session.get(Question, number) if 0 < number <= MAX_ID else None


def get_person(session: Session, person_id: int) -> Person | None:
    """The person with this id, if there is one."""
    return session.get(Person, person_id)


def add_asker(session: Session, name: str, now: dt.datetime) -> Person:
    """Store a new asker and give them their id (one INSERT, not the session's flush).

    The row is written at once and the person handed back as if loaded, so later changes to
    it in this transaction are tracked as usual.
    """
    values: dict[str, Any] = {
        "role": Role.ASKER,
        "config_id": None,
        "display_name": name,
        "organisation": "",
        "partner_id": None,
        "language": None,
        "language_explicit": False,
        "timezone": None,
        "away": False,
        "active": True,
        "focus_question_id": None,
        "created_at": now,
    }
    person_id = session.connection().execute(_ADD_PERSON, values).scalar_one()
    person = Person(id=person_id, **values)
    make_transient_to_detached(person)
    session.add(person)
    return person


def add_assignment(
    session: Session, question_id: int, person_id: int, role: AssignmentRole, now: dt.datetime
) -> Assignment:
    """Assign a question to a person (active from ``now``)."""
    assignment = Assignment(
        question_id=question_id, person_id=person_id, role=role, active=True, created_at=now
    )
    session.add(assignment)
    return assignment


def passed_by(session: Session, question_id: int) -> set[int]:
    """The people who passed this question on."""
    return set(
        session.scalars(
            select(Assignment.person_id).where(
                Assignment.question_id == question_id, Assignment.ended_reason == EndReason.PASSED
            )
        )
    )


def add_relayed(
    session: Session,
    question_id: int,
    direction: RelayDirection,
    author_id: int,
    channel: str,
    external_id: str | None,
    text: str,
    now: dt.datetime,
) -> None:
    """Keep a message relayed between asker and experts."""
    session.add(
        RelayedMessage(
            question_id=question_id,
            direction=direction,
            author_id=author_id,
            channel=channel,
            external_id=external_id,
            text=text,
            created_at=now,
        )
    )


def relayed_to_asker(session: Session, channel: str, external_id: str) -> RelayedMessage | None:
    """The expert's message with this platform id that was relayed to an asker, if any."""
    return session.scalar(
        select(RelayedMessage).where(
            RelayedMessage.direction == RelayDirection.TO_ASKER,
            RelayedMessage.channel == channel,
            RelayedMessage.external_id == external_id,
        )
    )


def add_fiche_answer(
    session: Session,
    question_id: int,
    fiches: list[dict[str, Any]],
    now: dt.datetime,
    *,
    features: dict[str, float] | None = None,
) -> None:
    """Keep the fiches shown for a question, best first, and the model's view of the first."""
    session.add(
        FicheAnswer(question_id=question_id, fiches=fiches, features=features, created_at=now)
    )


def queue_message(session: Session, row: Mapping[str, Any]) -> None:
    """Put one message in the outbox (its columns by name), in this transaction's order.

    One INSERT at once: the rows it refers to (a person, a question) have their ids, so they
    are written already.
    """
    session.connection().execute(_QUEUE, dict(row))
