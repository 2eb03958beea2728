"""Who holds a question: making someone its primary assignee, for commands and deadlines alike."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from ground.storage import conversation_repo, repo
from ground.storage.models import Assignment, Person, Question
from ground.vocabulary import AssignmentRole

__all__ = ["make_primary"]


def make_primary(
    session: Session,
    question: Question,
    person: Person,
    now: dt.datetime,
    assignments: list[Assignment],
    kind: str,
    **detail: Any,
) -> None:
    """Make ``person`` the primary assignee of ``question`` and log it as ``kind``.

    ``assignments`` are the question's active ones; a former primary stays, mentioned, and a
    new assignment joins the list in front. The question goes with its primary's partner.
    """
    for assignment in assignments:
        if assignment.role == AssignmentRole.PRIMARY and assignment.person_id != person.id:
            assignment.role = AssignmentRole.MENTIONED
    mine = next((a for a in assignments if a.person_id == person.id), None)
    if mine is None:
        mine = conversation_repo.add_assignment(
            session, question.id, person.id, AssignmentRole.PRIMARY, now
        )
        assignments.insert(0, mine)
    mine.role = AssignmentRole.PRIMARY
    question.partner_id = person.partner_id
    repo.log_event(session, kind, now, question_id=question.id, assignee=person.config_id, **detail)
