"""Knowledge gaps: the questions no fiche answered, grouped by topic, language and country."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Date, case, cast, exists, func, select
from sqlalchemy.orm import Session

from ground.storage.models import FicheAnswer, FicheDraft, Partner, Question
from ground.vocabulary import DraftStatus, FicheFeedback, GapKind

__all__ = ["Example", "Gap", "knowledge_gaps", "unanswered_by_fiches", "waiting_drafts_by_pair"]


@dataclass(frozen=True)
class Example:
    """A question of a gap, to read."""

    id: int
    text: str
    asked_at: dt.datetime


@dataclass
class Gap:
    """Questions of one topic and language (and country) that the fiches did not answer."""

    topic: str
    language: str
    country: str
    total: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    days: dict[dt.date, int] = field(default_factory=dict)
    examples: list[Example] = field(default_factory=list)


def unanswered_by_fiches() -> ColumnElement[bool]:
    """No fiche shown for the question was confirmed by the asker as answering it."""
    return ~exists().where(
        FicheAnswer.question_id == Question.id, FicheAnswer.feedback == FicheFeedback.HELPED
    )


def _day(session: Session) -> ColumnElement[Any]:
    """The UTC day a question was asked (PostgreSQL's date() would use the session's zone)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", Question.created_at), Date)
    return func.date(Question.created_at)


def knowledge_gaps(
    session: Session,
    start: dt.datetime,
    end: dt.datetime,
    *,
    by_country: bool = False,
    examples: int = 3,
    limit: int = 30,
) -> list[Gap]:
    """The ``limit`` largest gaps among questions asked from ``start`` to ``end``.

    A question is a gap when the fiches did not answer it: it was routed to experts (no fiche
    came close), the fiches were only suggested while experts were asked, or a fiche answer
    was offered and the asker never confirmed it. The country is that of the partner the
    question went to ("" when it went to none).
    """
    kind = case(
        (Question.decision == "suggest", GapKind.SUGGESTED.value),
        (Question.decision == "answer", GapKind.UNCONFIRMED.value),
        else_=GapKind.ROUTED.value,
    )
    topic = func.coalesce(Question.topic, "")
    day = _day(session)
    country = func.coalesce(Partner.country, "")
    query = (
        select(topic, Question.language, country, kind, day, func.count())
        .outerjoin(Partner, Partner.id == Question.partner_id)
        .where(Question.created_at >= start, Question.created_at < end, unanswered_by_fiches())
        .group_by(topic, Question.language, country, kind, day)
    )
    gaps: dict[tuple[str, str, str], Gap] = {}
    for topic_id, language, where, what, when, number in session.execute(query):
        key = (str(topic_id), str(language), str(where) if by_country else "")
        gap = gaps.setdefault(key, Gap(*key))
        gap.total += int(number)
        gap.kinds[str(what)] = gap.kinds.get(str(what), 0) + int(number)
        # SQLite's date() gives text, PostgreSQL's a date.
        day_of = when if isinstance(when, dt.date) else dt.date.fromisoformat(str(when))
        gap.days[day_of] = gap.days.get(day_of, 0) + int(number)
    largest = sorted(gaps.values(), key=lambda g: (-g.total, g.topic, g.language, g.country))
    largest = largest[:limit]
    for gap in largest:
        found = (
            select(Question.id, Question.text, Question.created_at)
            .where(
                Question.created_at >= start,
                Question.created_at < end,
                func.coalesce(Question.topic, "") == gap.topic,
                Question.language == gap.language,
                unanswered_by_fiches(),
            )
            .order_by(Question.created_at.desc(), Question.id.desc())
            .limit(examples)
        )
        if by_country:
            found = found.outerjoin(Partner, Partner.id == Question.partner_id).where(
                func.coalesce(Partner.country, "") == gap.country
            )
        gap.examples = [Example(i, text, at) for i, text, at in session.execute(found)]
    return largest


def waiting_drafts_by_pair(session: Session) -> dict[tuple[str, str], list[int]]:
    """The drafts waiting for review, by their question's (topic, language), oldest first."""
    query = (
        select(func.coalesce(Question.topic, ""), Question.language, FicheDraft.id)
        .join(Question, Question.id == FicheDraft.question_id)
        .where(FicheDraft.status == DraftStatus.DRAFT)
        .order_by(FicheDraft.id)
    )
    found: dict[tuple[str, str], list[int]] = {}
    for topic, language, number in session.execute(query):
        found.setdefault((str(topic), str(language)), []).append(int(number))
    return found
