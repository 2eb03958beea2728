"""What the asker says of a fiche answer, kept as a labelled example the model learns from."""

from __future__ import annotations

from ground.storage.labels_repo import record_label
from ground.storage.models import FicheAnswer, Question
from ground.vocabulary import LabelSource, Verdict
from handlers.context import Turn

__all__ = ["label_fiche_answer"]


def label_fiche_answer(
    turn: Turn, question: Question, answer: FicheAnswer, verdict: Verdict, source: LabelSource
) -> None:
    """Label the fiche ``answer`` led with, with the model's view of it when it was shown."""
    if not answer.fiches:
        return
    first = answer.fiches[0]["id"]
    record_label(
        turn.session,
        question,
        first,
        verdict,
        source,
        turn.now,
        actor_id=turn.person.id,
        features=answer.features,
        shown_fiche=first if answer.features else None,
    )
