"""The questions open now, with their deadlines, most urgent first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ground.storage import stats_repo

__all__ = ["OpenQuestion", "open_questions"]


@dataclass(frozen=True)
class OpenQuestion:
    """One question still waiting for an answer or a resolution."""

    id: int
    status: str
    topic: str
    language: str
    partner: str
    assignee: str
    asked_at: dt.datetime
    first_response_due: dt.datetime | None
    resolution_due: dt.datetime | None
    overdue: bool


def open_questions(session: Session, now: dt.datetime, limit: int = 500) -> list[OpenQuestion]:
    """Open questions, overdue ones first, then by their next deadline."""
    found = []
    for question, assignee in stats_repo.open_question_rows(session, limit):
        first_late = (
            question.first_response_at is None
            and question.first_response_due is not None
            and question.first_response_due < now
        )
        resolution_late = question.resolution_due is not None and question.resolution_due < now
        found.append(
            OpenQuestion(
                id=question.id,
                status=question.status,
                topic=question.topic or "",
                language=question.language,
                partner=question.partner_id or "",
                assignee=assignee or "",
                asked_at=question.created_at,
                first_response_due=question.first_response_due,
                resolution_due=question.resolution_due,
                overdue=first_late or resolution_late,
            )
        )
    return sorted(found, key=lambda q: not q.overdue)
