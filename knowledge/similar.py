"""Earlier answered questions near a new one, compared by the embedder that searches fiches."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sqlalchemy.orm import Session

from bot.ground.storage import answers_repo
from bot.ground.storage.models import Question
from knowledge.embedder import Embedder, stack
from knowledge.repository import question_vectors, store_question_vector

__all__ = ["QUESTION_CHARS", "SimilarQuestion", "question_text", "remember", "similar_questions"]

# What of a question is read (and embedded): its start, as the triage reads it.
QUESTION_CHARS = 2000
# Questions stored before their vectors were kept are embedded on the way, this many a search.
CATCH_UP = 32


@dataclass(frozen=True)
class SimilarQuestion:
    """An earlier answered question and how near it is to the new one (cosine, 0..1)."""

    question: Question
    score: float


def question_text(text: str) -> str:
    """The part of a question that is embedded."""
    return text[:QUESTION_CHARS]


def remember(
    session: Session, embedder: Embedder, question: Question, vector: sparse.csr_matrix | None
) -> sparse.csr_matrix:
    """Keep the question's embedding for later searches; embed it if not given. Returns it."""
    if vector is None:
        vector = embedder.queries([question_text(question.text)])
    store_question_vector(session, embedder.name, question.id, vector)
    return vector


def similar_questions(
    session: Session,
    embedder: Embedder,
    vector: sparse.csr_matrix,
    *,
    min_score: float,
    exclude: int | None = None,
    limit: int = 3,
) -> list[SimilarQuestion]:
    """Answered questions, not contested by their asker, from ``min_score`` near, nearest first."""
    if min_score > 1.0:
        return []
    candidates = answers_repo.reusable_questions(session, exclude=exclude)
    if not candidates:
        return []
    stored = question_vectors(session, embedder.name, [q.id for q in candidates])
    missing = [q for q in candidates if q.id not in stored][:CATCH_UP]
    if missing:
        fresh = embedder.queries([question_text(q.text) for q in missing])
        for row, question in enumerate(missing):
            store_question_vector(session, embedder.name, question.id, fresh, row)
            start, end = fresh.indptr[row], fresh.indptr[row + 1]
            stored[question.id] = (fresh.indices[start:end], fresh.data[start:end])
    present = [q for q in candidates if q.id in stored]
    matrix = stack([stored[q.id] for q in present], embedder.dimension)
    scores = np.asarray((matrix @ vector.T).todense()).ravel()
    order = np.argsort(-scores, kind="stable")[:limit]
    return [SimilarQuestion(present[i], float(scores[i])) for i in order if scores[i] >= min_score]
