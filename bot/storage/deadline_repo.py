"""Repository functions of deadline steps: plan, claim exactly once, find what is next and late."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from bot.storage.models import DeadlineStep, OutboxMessage, Question

__all__ = [
    "claim_step",
    "due_step_ids",
    "next_due",
    "overdue_questions",
    "pending_steps",
    "steps_of",
    "thread_channels",
]


def steps_of(session: Session, question_id: int) -> list[DeadlineStep]:
    """Every step of a question, in the order they fall due."""
    return list(
        session.scalars(
            select(DeadlineStep)
            .where(DeadlineStep.question_id == question_id)
            .order_by(DeadlineStep.due_at, DeadlineStep.id)
        )
    )


def pending_steps(session: Session, question_id: int) -> list[DeadlineStep]:
    """The steps of a question that have not fired nor been cancelled."""
    return [s for s in steps_of(session, question_id) if s.state == "pending"]


def due_step_ids(session: Session, now: dt.datetime, limit: int) -> list[int]:
    """Pending steps due by ``now``, oldest first.

    On PostgreSQL the rows are locked for this transaction and rows another process holds
    are skipped, so concurrent sweeps take disjoint batches; elsewhere ``claim_step``'s
    conditional update is what keeps a step from firing twice.
    """
    query = (
        select(DeadlineStep.id)
        .where(DeadlineStep.state == "pending", DeadlineStep.due_at <= now)
        .order_by(DeadlineStep.due_at, DeadlineStep.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def claim_step(
    session: Session, step_id: int, worker: str, now: dt.datetime, *, late: bool
) -> bool:
    """Mark a pending step fired by ``worker``; False if someone else already took it."""
    result = session.execute(
        update(DeadlineStep)
        .where(DeadlineStep.id == step_id, DeadlineStep.state == "pending")
        .values(state="fired", fired_at=now, claimed_by=worker, late=late)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def next_due(session: Session) -> dt.datetime | None:
    """When the earliest pending step falls due, if any."""
    return session.scalar(
        select(func.min(DeadlineStep.due_at)).where(DeadlineStep.state == "pending")
    )


def overdue_questions(
    session: Session, now: dt.datetime, statuses: Iterable[str], limit: int = 50
) -> list[Question]:
    """Questions past a deadline: no first answer by its due time, or not resolved by its own."""
    return list(
        session.scalars(
            select(Question)
            .where(
                Question.status.in_(list(statuses)),
                or_(
                    and_(Question.first_response_at.is_(None), Question.first_response_due < now),
                    Question.resolution_due < now,
                ),
            )
            .order_by(Question.first_response_due, Question.id)
            .limit(limit)
        )
    )


def thread_channels(session: Session, question_id: int) -> list[str]:
    """The channels where a question's thread is open or about to be opened."""
    return sorted(
        set(
            session.scalars(
                select(OutboxMessage.channel).where(
                    OutboxMessage.question_id == question_id,
                    OutboxMessage.opens_thread.is_(True),
                )
            )
        )
    )
