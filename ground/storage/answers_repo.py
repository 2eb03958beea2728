"""Earlier answers experts gave: questions worth reusing and the answer each one received."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from ground.storage.models import Event, Person, Question, QuestionVector, RelayedMessage
from ground.storage.privacy import ERASED
from ground.vocabulary import QuestionStatus, RelayDirection

__all__ = [
    "EarlierAnswer",
    "all_reusable",
    "answer_of",
    "gone_among",
    "questions_by_id",
    "reusable_among",
    "reusable_since",
    "vectors_of",
]


@dataclass(frozen=True)
class EarlierAnswer:
    """What the asker of a question received from the experts, as it stands now."""

    question_id: int
    text: str
    author: Person
    answered_at: dt.datetime


def _reusable(exclude: int | None) -> list[ColumnElement[bool]]:
    """Answered or resolved questions whose asker did not say the answer failed.

    A question answered only from a fiche is left out: its answer is the fiche, searched already.
    """
    conditions = [
        Question.status.in_((QuestionStatus.ANSWERED, QuestionStatus.RESOLVED)),
        Question.first_response_at.is_not(None),
        Question.text != ERASED,
        or_(Question.helpful.is_(None), Question.helpful.is_(True)),
    ]
    if exclude is not None:
        conditions.append(Question.id != exclude)
    return conditions


def reusable_since(session: Session, since: dt.datetime) -> list[tuple[int, dt.datetime]]:
    """Reusable questions first answered at ``since`` or later, with that time.

    The questions answered since are read by the index on ``first_response_at`` first and
    only they are checked: in one query SQLite walks the status index instead, every
    answered question.
    """
    rows = session.execute(
        select(Question.id, Question.first_response_at).where(Question.first_response_at >= since)
    )
    answered = {question_id: answered_at for question_id, answered_at in rows if answered_at}
    return [(i, answered[i]) for i in reusable_among(session, list(answered))]


def all_reusable(session: Session) -> tuple[list[int], dt.datetime | None]:
    """Every reusable question's number, and when the latest of them was first answered."""
    ids = list(session.scalars(select(Question.id).where(*_reusable(None))))
    latest = session.scalar(select(func.max(Question.first_response_at)).where(*_reusable(None)))
    return ids, latest


def reusable_among(session: Session, ids: list[int], *, exclude: int | None = None) -> list[int]:
    """Those of these questions that are reusable now."""
    if not ids:
        return []
    return list(
        session.scalars(select(Question.id).where(Question.id.in_(ids), *_reusable(exclude)))
    )


def gone_among(session: Session, ids: list[int]) -> set[int]:
    """Those of these questions that were erased or deleted: never to be offered again."""
    if not ids:
        return set()
    kept = session.scalars(select(Question.id).where(Question.id.in_(ids), Question.text != ERASED))
    return set(ids) - set(kept)


def vectors_of(session: Session, embedder_name: str, ids: list[int]) -> list[tuple[int, bytes]]:
    """The stored vectors of these questions from one embedder: (question id, vector)."""
    if not ids:
        return []
    rows = session.execute(
        select(QuestionVector.question_id, QuestionVector.vector).where(
            QuestionVector.embedder == embedder_name, QuestionVector.question_id.in_(ids)
        )
    )
    return [(question_id, vector) for question_id, vector in rows]


def questions_by_id(session: Session, ids: list[int]) -> dict[int, Question]:
    """Questions by number."""
    if not ids:
        return {}
    return {q.id: q for q in session.scalars(select(Question).where(Question.id.in_(ids)))}


def answer_of(session: Session, question_id: int) -> EarlierAnswer | None:
    """The experts' messages relayed to the question's asker, corrected and without withdrawals.

    A correction replaces the message it corrects (same platform message id); a withdrawn
    message is dropped. The author is the one who answered first.
    """
    relayed = session.scalars(
        select(RelayedMessage)
        .where(
            RelayedMessage.question_id == question_id,
            RelayedMessage.direction == RelayDirection.TO_ASKER,
        )
        .order_by(RelayedMessage.id)
    ).all()
    withdrawn = {
        str(event.detail.get("message_id"))
        for event in session.scalars(
            select(Event).where(Event.question_id == question_id, Event.kind == "withdrawn")
        )
    }
    texts: dict[str, str] = {}
    first: RelayedMessage | None = None
    for message in relayed:
        key = message.external_id or f"row-{message.id}"
        if key in withdrawn:
            continue
        texts[key] = message.text  # a later correction of the same message replaces it
        first = first or message
    if first is None:
        return None
    author = session.get(Person, first.author_id)
    if author is None:
        return None
    text = "\n\n".join(t for t in texts.values() if t.strip())
    return EarlierAnswer(question_id, text, author, first.created_at) if text else None
