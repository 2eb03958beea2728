"""Earlier answered questions near a new one, compared by the embedder that searches fiches."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sqlalchemy.orm import Session

from ground.storage import answers_repo
from ground.storage.models import Question
from knowledge.embedder import Embedder, decode_vector, stack
from knowledge.repository import store_question_vector

__all__ = [
    "QUESTION_CHARS",
    "Row",
    "SimilarQuestion",
    "question_text",
    "remember",
    "similar_questions",
]

# A decoded vector: its term indices and values.
Row = tuple[np.ndarray, np.ndarray]
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
    cache: dict[int, Row] | None = None,
) -> list[SimilarQuestion]:
    """Answered questions, not contested by their asker, from ``min_score`` near, nearest first.

    ``cache`` keeps decoded vectors between searches (the caller owns it, one per embedder):
    each search then reads only the candidates' numbers and the vectors it lacks. It holds
    only the current candidates, so an erased question's vector leaves it at the next search.
    """
    if min_score > 1.0:
        return []
    ids = answers_repo.reusable_ids(session, exclude=exclude)
    cache = cache if cache is not None else {}
    wanted = set(ids)
    for stale in [i for i in cache if i not in wanted]:
        del cache[stale]
    for question_id, blob in answers_repo.vectors_of(
        session, embedder.name, [i for i in ids if i not in cache]
    ):
        cache[question_id] = decode_vector(blob)
    # Questions stored before their vectors were kept: a few are embedded on each search.
    missing = [i for i in ids if i not in cache][:CATCH_UP]
    if missing:
        questions = answers_repo.questions_by_id(session, missing)
        fresh = embedder.queries([question_text(questions[i].text) for i in missing])
        for row, question_id in enumerate(missing):
            store_question_vector(session, embedder.name, question_id, fresh, row)
            start, end = fresh.indptr[row], fresh.indptr[row + 1]
            cache[question_id] = (fresh.indices[start:end], fresh.data[start:end])
    present = [i for i in ids if i in cache]
    if not present:
        return []
    matrix = stack([cache[i] for i in present], embedder.dimension)
    scores = np.asarray((matrix @ vector.T).todense()).ravel()
    order = [i for i in np.argsort(-scores, kind="stable")[:limit] if scores[i] >= min_score]
    found = answers_repo.questions_by_id(session, [present[i] for i in order])
    return [SimilarQuestion(found[present[i]], float(scores[i])) for i in order]
