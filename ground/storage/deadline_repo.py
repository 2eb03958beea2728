"""Repository functions of deadline steps: plan, claim exactly once, find what is next and late."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, insert, or_, select, update
from sqlalchemy.orm import Session

from ground.storage.models import (
    Assignment,
    DeadlineStep,
    Event,
    Identity,
    OutboxMessage,
    Person,
    Question,
)
from ground.vocabulary import AssignmentRole, Role, StepState

__all__ = [
    "StepContext",
    "add_step",
    "claim_steps",
    "due_step_ids",
    "next_due",
    "overdue_questions",
    "past_due",
    "step_context",
    "steps_of",
    "thread_channels",
    "write_outputs",
]


def add_step(
    session: Session,
    question_id: int,
    clock: str,
    kind: str,
    step: int,
    target: str,
    due_at: dt.datetime,
) -> None:
    """Plan one pending step of a question's clock."""
    session.add(
        DeadlineStep(
            question_id=question_id,
            clock=clock,
            kind=kind,
            step=step,
            target=target,
            due_at=due_at,
            state=StepState.PENDING,
            late=False,
        )
    )


def steps_of(session: Session, question_id: int) -> list[DeadlineStep]:
    """Every step of a question, in the order they fall due."""
    return list(
        session.scalars(
            select(DeadlineStep)
            .where(DeadlineStep.question_id == question_id)
            .order_by(DeadlineStep.due_at, DeadlineStep.id)
        )
    )


def due_step_ids(session: Session, now: dt.datetime, limit: int) -> list[int]:
    """Pending steps due by ``now``, oldest first.

    On PostgreSQL the rows are locked for this transaction and rows another process holds
    are skipped, so concurrent sweeps take disjoint batches; elsewhere the conditional
    update of ``claim_steps`` is what keeps a step from firing twice.
    """
    query = (
        select(DeadlineStep.id)
        .where(DeadlineStep.state == StepState.PENDING, DeadlineStep.due_at <= now)
        .order_by(DeadlineStep.due_at, DeadlineStep.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def claim_steps(
    session: Session, step_ids: list[int], worker: str, now: dt.datetime, late_before: dt.datetime
) -> list[DeadlineStep]:
    """Mark pending steps fired by ``worker``; return those taken (not already someone else's).

    One conditional update: a step another process fired in the meantime is no longer
    pending, so it is not updated and not returned. A step due before ``late_before`` is late.
    """
    if not step_ids:
        return []
    taken = session.scalars(
        update(DeadlineStep)
        # coalesce() keeps SQLite off the index on state, which it would scan whole
        # instead of looking the ids up by primary key.
        .where(
            DeadlineStep.id.in_(step_ids),
            func.coalesce(DeadlineStep.state, "") == StepState.PENDING,
        )
        .values(
            state=StepState.FIRED,
            fired_at=now,
            claimed_by=worker,
            late=case((DeadlineStep.due_at < late_before, True), else_=False),
        )
        .returning(DeadlineStep.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not taken:
        return []
    return list(
        session.scalars(
            select(DeadlineStep)
            .where(DeadlineStep.id.in_(taken))
            .order_by(DeadlineStep.due_at, DeadlineStep.id)
            .execution_options(populate_existing=True)
        )
    )


@dataclass
class StepContext:
    """Everything firing a batch of steps reads, loaded in a few queries."""

    questions: dict[int, Question]
    assignments: dict[int, list[Assignment]]  # active ones, by question, primary first
    people: dict[int, Person]  # staff and the batch's askers
    identities: dict[int, list[Identity]]  # by person
    threads: dict[int, list[str]]  # channels of each question's thread
    # What firing the batch writes: outbox rows and events, as column values.
    outbox: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def coordinators(self) -> list[Person]:
        """Active coordinators, by id."""
        return sorted(
            (p for p in self.people.values() if p.role == Role.COORDINATOR and p.active),
            key=lambda p: p.id,
        )

    def staff(self, config_id: str) -> Person | None:
        """The expert or coordinator with this config id, if still active."""
        return next(
            (p for p in self.people.values() if p.config_id == config_id and p.active), None
        )


def step_context(session: Session, question_ids: Iterable[int]) -> StepContext:
    """Load the questions of a batch with their assignees, staff, askers and threads."""
    ids = sorted(set(question_ids))
    questions = {q.id: q for q in session.scalars(select(Question).where(Question.id.in_(ids)))}
    assignments: dict[int, list[Assignment]] = {i: [] for i in ids}
    # Filtered on "active" here, not in SQL: SQLite would pick the index on "active" (most
    # rows) over the one on question_id and read every assignment.
    for assignment in session.scalars(
        select(Assignment)
        .where(Assignment.question_id.in_(ids))
        .order_by(Assignment.role != AssignmentRole.PRIMARY, Assignment.id)
    ):
        if assignment.active:
            assignments[assignment.question_id].append(assignment)
    askers = {q.asker_id for q in questions.values()}
    people = {
        p.id: p
        for p in session.scalars(
            select(Person).where(
                or_(Person.role.in_((Role.EXPERT, Role.COORDINATOR)), Person.id.in_(askers))
            )
        )
    }
    identities: dict[int, list[Identity]] = {}
    for identity in session.scalars(
        select(Identity).where(Identity.person_id.in_(list(people))).order_by(Identity.id)
    ):
        identities.setdefault(identity.person_id, []).append(identity)
    threads: dict[int, list[str]] = {i: [] for i in ids}
    for question_id, channel in session.execute(
        select(OutboxMessage.question_id, OutboxMessage.channel)
        .where(OutboxMessage.question_id.in_(ids), OutboxMessage.opens_thread.is_(True))
        .distinct()
    ):
        if question_id is not None:
            threads[question_id].append(channel)
    return StepContext(questions, assignments, people, identities, threads)


def next_due(session: Session) -> dt.datetime | None:
    """When the earliest pending step falls due, if any."""
    return session.scalar(
        select(func.min(DeadlineStep.due_at)).where(DeadlineStep.state == StepState.PENDING)
    )


def past_due(now: dt.datetime) -> ColumnElement[bool]:
    """A question is late: no first answer by its due time, or not resolved by its own."""
    return or_(
        and_(Question.first_response_at.is_(None), Question.first_response_due < now),
        Question.resolution_due < now,
    )


def overdue_questions(
    session: Session, now: dt.datetime, statuses: Iterable[str], limit: int = 50
) -> list[Question]:
    """Questions past a deadline (see ``past_due``), by first response due."""
    return list(
        session.scalars(
            select(Question)
            .where(
                Question.status.in_(list(statuses)),
                past_due(now),
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


def write_outputs(session: Session, context: StepContext) -> None:
    """Insert the outbox messages and events a batch of steps wrote, in order, in bulk."""
    session.flush()  # assignment changes first, in the same transaction
    if context.outbox:
        session.execute(insert(OutboxMessage), context.outbox)
    if context.events:
        session.execute(insert(Event), context.events)
    context.outbox.clear()
    context.events.clear()
