"""Fiche drafts made from answers: store, list, find, and check a fiche id is free."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ground.storage.models import MAX_ID, Fiche, FicheDraft
from ground.vocabulary import DraftStatus

__all__ = [
    "add_draft",
    "all_drafts",
    "approvals_state",
    "approved_fiches",
    "draft_of_question",
    "fiche_id_taken",
    "get_draft",
    "recent_drafts",
    "unexported_drafts",
    "waiting_drafts",
]


def add_draft(session: Session, draft: FicheDraft) -> FicheDraft:
    """Store a new draft and give it its number."""
    session.add(draft)
    session.flush()
    return draft


def get_draft(session: Session, number: int) -> FicheDraft | None:
    """One draft by its number (a number typed by anyone)."""
    return session.get(FicheDraft, number) if 0 < number <= MAX_ID else None


def all_drafts(session: Session) -> list[FicheDraft]:
    """Every draft, in the order they were made."""
    return list(session.scalars(select(FicheDraft).order_by(FicheDraft.id)))


def waiting_drafts(session: Session, limit: int = 50) -> list[FicheDraft]:
    """Drafts not yet approved or rejected, oldest first."""
    return list(
        session.scalars(
            select(FicheDraft)
            .where(FicheDraft.status == DraftStatus.DRAFT)
            .order_by(FicheDraft.id)
            .limit(limit)
        )
    )


def draft_of_question(session: Session, question_id: int) -> FicheDraft | None:
    """The draft made from a question and not rejected, if any."""
    return session.scalar(
        select(FicheDraft)
        .where(FicheDraft.question_id == question_id, FicheDraft.status != DraftStatus.REJECTED)
        .order_by(FicheDraft.id.desc())
        .limit(1)
    )


def fiche_id_taken(session: Session, fiche_id: str, *, draft_id: int | None = None) -> bool:
    """Whether a stored fiche, or another draft not rejected, already has this id."""
    if session.get(Fiche, fiche_id) is not None:
        return True
    query = select(FicheDraft.id).where(
        FicheDraft.fiche_id == fiche_id, FicheDraft.status != DraftStatus.REJECTED
    )
    if draft_id is not None:
        query = query.where(FicheDraft.id != draft_id)
    return session.scalar(query.limit(1)) is not None


def unexported_drafts(session: Session) -> list[FicheDraft]:
    """Approved drafts not yet written to a collection folder, oldest first."""
    return list(
        session.scalars(
            select(FicheDraft)
            .where(FicheDraft.status == DraftStatus.APPROVED, FicheDraft.exported_at.is_(None))
            .order_by(FicheDraft.id)
        )
    )


def recent_drafts(session: Session, reviewed: int = 20) -> list[FicheDraft]:
    """Every draft waiting for review, then the latest ``reviewed`` ones, newest first."""
    waiting = waiting_drafts(session, limit=200)
    done = session.scalars(
        select(FicheDraft)
        .where(FicheDraft.status != DraftStatus.DRAFT)
        .order_by(FicheDraft.reviewed_at.desc(), FicheDraft.id.desc())
        .limit(reviewed)
    )
    return [*waiting, *done]


def approvals_state(session: Session) -> tuple[int, int | None]:
    """How many drafts are approved and the highest number among them, in one indexed query.

    Every approval moves it, wherever it was made: a chat, a dashboard, another process.
    """
    count, highest = session.execute(
        select(func.count(), func.max(FicheDraft.id)).where(
            FicheDraft.status == DraftStatus.APPROVED
        )
    ).one()
    return int(count), highest


def approved_fiches(session: Session) -> dict[int, str]:
    """The fiche id of every approved draft, by the draft's number."""
    rows = session.execute(
        select(FicheDraft.id, FicheDraft.fiche_id).where(FicheDraft.status == DraftStatus.APPROVED)
    )
    return {number: fiche_id for number, fiche_id in rows}
