"""The running search learns stored fiches at once: drafts approved here or anywhere else."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ground.storage.drafts_repo import approvals_state, approved_fiches
from handlers.context import Services
from knowledge.repository import index_with_fiches

__all__ = ["known_approvals", "refresh_search", "search_approved"]


def refresh_search(services: Services, fiche_ids: list[str]) -> None:
    """Let the running search find these stored fiches (new or changed) from now on."""
    with services.sessions() as session:
        _add_to_search(services, session, fiche_ids)


def _add_to_search(services: Services, session: Session, fiche_ids: list[str]) -> None:
    with services.search_lock:
        triage = services.triage
        index = index_with_fiches(session, triage.embedder, triage.index, fiche_ids)
        services.triage = triage.with_index(index)  # one reference swap, as a reload does


def known_approvals(session: Session) -> tuple[tuple[int, int | None], frozenset[int]]:
    """The approvals' state and the approved drafts now, for a search about to be built.

    Read before the search is built: a draft approved in between is then added once more.
    """
    return approvals_state(session), frozenset(approved_fiches(session))


def search_approved(services: Services, session: Session) -> None:
    """Before a search, add the fiches of drafts approved since the last look, wherever.

    A standalone ``rrm dashboard`` or another bot process on the same database approves
    drafts this process is not told of; one small query a question finds them, so the next
    question is answered from them, not only after the next knowledge reload.
    """
    state = approvals_state(session)
    if state == services.approvals:
        return
    approved = approved_fiches(session)
    new = sorted({f for number, f in approved.items() if number not in services.approved_drafts})
    if new:
        _add_to_search(services, session, new)
    services.approvals, services.approved_drafts = state, frozenset(approved)
