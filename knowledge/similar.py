"""Earlier answered questions near a new one, compared by the embedder that searches fiches."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sqlalchemy.orm import Session

from ground.storage import answers_repo
from ground.storage.models import Question
from knowledge.embedder import Embedder, decode_vector, stack
from knowledge.repository import store_question_vector
from knowledge.text import as_question

__all__ = [
    "QUESTION_CHARS",
    "AnsweredIndex",
    "Row",
    "SimilarQuestion",
    "question_text",
    "remember",
]

# A decoded vector: its term indices and values.
Row = tuple[np.ndarray, np.ndarray]
# What of a question is read (and embedded): its start, as the triage reads it.
QUESTION_CHARS = 2000
# Questions stored before their vectors were kept are embedded on the way, this many a search.
CATCH_UP = 32
# Questions answered this long before the newest one the index holds are looked for again at
# each search: another process may commit an answer it stamped a little earlier.
OVERLAP = dt.timedelta(hours=1)
# Rows appended since the last merge are kept apart up to this many, so that one new answer
# does not copy the whole matrix.
RECENT = 512
# Vectors read from the database at a time.
READ = 5000


@dataclass(frozen=True)
class SimilarQuestion:
    """An earlier answered question and how near it is to the new one (cosine, 0..1)."""

    question: Question
    score: float


def question_text(text: str) -> str:
    """The part of a question that is embedded, read as the triage reads it."""
    return as_question(text[:QUESTION_CHARS])


def remember(
    session: Session, embedder: Embedder, question: Question, vector: sparse.csr_matrix | None
) -> sparse.csr_matrix:
    """Keep the question's embedding for later searches; embed it if not given. Returns it."""
    if vector is None:
        vector = embedder.queries([question_text(question.text)])
    store_question_vector(session, embedder.name, question.id, vector)
    return vector


class AnsweredIndex:
    """The vectors of every answered question in memory, read once and appended as they come.

    The bot reads all reusable questions' vectors at start (:meth:`load`); each search then
    reads only the questions answered since (by ``first_response_at``, with an
    :data:`OVERLAP`). A question once taken in stays: whether it may be offered now (not
    contested, not erased) is checked in the database for the few nearest ones only, so the
    whole history is searched at the cost of one matrix product. An erased question's vector
    leaves memory when it is next among the nearest.
    """

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self._lock = threading.Lock()
        self._ids = np.zeros(0, dtype=np.int64)
        self._matrix = stack([], embedder.dimension)
        self._recent_ids: list[int] = []
        self._recent: list[Row] = []
        self._known: set[int] = set()
        # Reusable questions with no stored vector yet (stored before vectors were kept).
        self._missing: set[int] = set()
        # When the newest question taken in was first answered; None before the first search.
        self._since: dt.datetime | None = None

    def __len__(self) -> int:
        return len(self._known)

    def nbytes(self) -> int:
        """The memory the vectors take, in bytes (matrix arrays and the id list)."""
        matrix = self._matrix
        recent = sum(i.nbytes + v.nbytes for i, v in self._recent)
        arrays = matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes
        return arrays + self._ids.nbytes + recent

    def load(self, session: Session) -> None:
        """Read the answered questions' vectors now (at start), so the first asker does not wait."""
        with self._lock:
            self._catch_up(session)

    def search(
        self,
        session: Session,
        vector: sparse.csr_matrix,
        *,
        min_score: float,
        exclude: int | None = None,
        limit: int = 3,
    ) -> list[SimilarQuestion]:
        """Reusable answered questions from ``min_score`` near, nearest first, at most ``limit``."""
        if min_score > 1.0:
            return []
        with self._lock:
            self._catch_up(session)
            ids, scores = self._scores(vector)
        near = np.flatnonzero(scores >= min_score)
        order = near[np.argsort(-scores[near], kind="stable")]
        found: list[SimilarQuestion] = []
        start, batch = 0, max(4 * limit, 16)
        while len(found) < limit and start < len(order):
            chunk = [int(ids[i]) for i in order[start : start + batch]]
            score_of = {int(ids[i]): float(scores[i]) for i in order[start : start + batch]}
            reusable = answers_repo.questions_by_id(
                session, answers_repo.reusable_among(session, chunk, exclude=exclude)
            )
            found += [SimilarQuestion(reusable[i], score_of[i]) for i in chunk if i in reusable]
            gone = answers_repo.gone_among(session, [i for i in chunk if i not in reusable])
            if gone:
                with self._lock:
                    self._drop(gone)
            start, batch = start + batch, batch * 4
        return found[:limit]

    def _scores(self, vector: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        if self._recent and len(self._recent) >= max(RECENT, len(self._ids) // 8):
            self._merge()
        # A dense query makes the product one pass over the matrix's stored values.
        query = np.asarray(vector.todense(), dtype=np.float32).ravel()
        scores = self._matrix @ query
        ids = self._ids
        if self._recent:
            recent = stack(self._recent, self.embedder.dimension)
            scores = np.concatenate([scores, recent @ query])
            ids = np.concatenate([ids, np.array(self._recent_ids, dtype=np.int64)])
        return ids, scores

    def _catch_up(self, session: Session) -> None:
        """Take in the questions answered since the last search, and a few without vectors."""
        if self._since is None:
            new, self._since = answers_repo.all_reusable(session)
        else:
            fresh = answers_repo.reusable_since(session, self._since - OVERLAP)
            new = [i for i, _ in fresh if i not in self._known and i not in self._missing]
            self._since = max([self._since, *(answered_at for _, answered_at in fresh)])
        # Many at once (the first load) go straight into the matrix, a block per read, so that
        # each read's blobs are freed before the next; a few wait among the recent rows.
        bulk = len(new) > RECENT
        blocks, block_ids = [], []
        for start in range(0, len(new), READ):
            chunk = new[start : start + READ]
            stored = dict(answers_repo.vectors_of(session, self.embedder.name, chunk))
            self._missing.update(i for i in chunk if i not in stored)
            present = [i for i in chunk if i in stored]
            if bulk:
                rows = [decode_vector(stored[i]) for i in present]
                blocks.append(stack(rows, self.embedder.dimension))
                block_ids += present
            else:
                for question_id in present:
                    self._append(question_id, decode_vector(stored[question_id]))
        if blocks:
            self._matrix = sparse.vstack([self._matrix, *blocks], format="csr", dtype=np.float32)
            self._ids = np.concatenate([self._ids, np.array(block_ids, dtype=np.int64)])
            self._known.update(block_ids)
        self._embed_missing(session)

    def _embed_missing(self, session: Session) -> None:
        # Questions stored before their vectors were kept: a few are embedded on each search.
        missing = sorted(self._missing, reverse=True)[:CATCH_UP]
        if not missing:
            return
        # Only those still reusable: an erased one must not get a vector again.
        questions = answers_repo.questions_by_id(
            session, answers_repo.reusable_among(session, missing)
        )
        self._missing.difference_update(missing)
        missing = [i for i in missing if i in questions]
        if not missing:
            return
        fresh = self.embedder.queries([question_text(questions[i].text) for i in missing])
        for row, question_id in enumerate(missing):
            store_question_vector(session, self.embedder.name, question_id, fresh, row)
            start, end = fresh.indptr[row], fresh.indptr[row + 1]
            self._append(question_id, (fresh.indices[start:end], fresh.data[start:end]))

    def _append(self, question_id: int, row: Row) -> None:
        self._known.add(question_id)
        self._recent_ids.append(question_id)
        self._recent.append(row)

    def _merge(self) -> None:
        recent = stack(self._recent, self.embedder.dimension)
        self._matrix = sparse.vstack([self._matrix, recent], format="csr", dtype=np.float32)
        self._ids = np.concatenate([self._ids, np.array(self._recent_ids, dtype=np.int64)])
        self._recent, self._recent_ids = [], []

    def _drop(self, question_ids: set[int]) -> None:
        self._merge()
        keep = ~np.isin(self._ids, list(question_ids))
        self._matrix = self._matrix[np.flatnonzero(keep)]
        self._ids = self._ids[keep]
        self._known.difference_update(question_ids)
